"""The outcome of a verification: per object type, how many objects are equal, different, missing in the
destination, extra in the destination or could not be read; and every difference named."""
import threading
from collections import defaultdict

EQUAL, DIFFERENT, MISSING, EXTRA, ERROR = "equal", "different", "missing", "extra", "error"
STATUSES = (EQUAL, DIFFERENT, MISSING, EXTRA, ERROR)
MAX_VALUE_CHARS = 80
MAX_LISTED = 200


def shorten(value, limit=MAX_VALUE_CHARS):
    if value is None:
        return None
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class VerifyResult:
    def __init__(self, src_label, dst_label, progress=None):
        self.src = src_label
        self.dst = dst_label
        self.progress = progress
        self._lock = threading.Lock()
        self.counts = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
        self.differences = []

    def _add(self, kind, status, entries=()):
        with self._lock:
            self.counts[kind][status] += 1
            self.differences.extend(entries)
            counts = {k: dict(v) for k, v in self.counts.items()}
        if self.progress is not None:
            self.progress.update(counts, {})

    def equal(self, kind):
        self._add(kind, EQUAL)

    def compared(self, kind, key, diffs):
        """diffs: [(field, source value, destination value)] -- empty when the object is equal."""
        if not diffs:
            self._add(kind, EQUAL)
            return
        self._add(kind, DIFFERENT, [{"type": kind, "key": key, "status": DIFFERENT, "field": f,
                                     "src": shorten(s), "dst": shorten(d)} for f, s, d in diffs])

    def missing(self, kind, key):
        self._add(kind, MISSING, [{"type": kind, "key": key, "status": MISSING}])

    def extra(self, kind, key, reason=None):
        entry = {"type": kind, "key": key, "status": EXTRA}
        if reason:
            entry["reason"] = reason
        self._add(kind, EXTRA, [entry])

    def error(self, kind, key, reason):
        self._add(kind, ERROR, [{"type": kind, "key": key, "status": ERROR, "reason": reason}])

    @property
    def ok(self):
        return not self.differences

    def to_dict(self):
        return {"source": self.src, "destination": self.dst, "equal": self.ok,
                "counts": {k: dict(v) for k, v in sorted(self.counts.items())},
                "differences": sorted(self.differences, key=_order)}

    def lines(self):
        lines = [f"Verify {self.src} -> {self.dst}"]
        for kind, c in sorted(self.counts.items()):
            line = (f"  {kind + ':':20s} {c[EQUAL]} equal, {c[DIFFERENT]} different, "
                    f"{c[MISSING]} missing in destination, {c[EXTRA]} extra in destination")
            lines.append(line + (f", {c[ERROR]} not readable" if c[ERROR] else ""))
        if not self.counts:
            lines.append("  nothing to compare")
        differences = sorted(self.differences, key=_order)
        if differences:
            lines.append("Differences:")
            lines.extend(f"  {_describe(d)}" for d in differences[:MAX_LISTED])
            if len(differences) > MAX_LISTED:
                lines.append(f"  ... and {len(differences) - MAX_LISTED} more (see --json)")
        objects = sum(c[DIFFERENT] + c[MISSING] + c[EXTRA] + c[ERROR] for c in self.counts.values())
        lines.append("Result: EQUAL" if self.ok else f"Result: DIFFERENT ({objects} objects, "
                                                     f"{len(differences)} differences)")
        return lines


def _order(d):
    return (d["type"], d["key"], d.get("field") or "")


def _describe(d):
    head = f"{d['type']} {d['key']}"
    if d["status"] == DIFFERENT:
        return f"{head}: {d['field']}: source {_fmt(d['src'])}, destination {_fmt(d['dst'])}"
    if d["status"] == MISSING:
        return f"{head}: missing in destination"
    if d["status"] == EXTRA:
        return f"{head}: extra in destination" + (f" ({d['reason']})" if d.get("reason") else "")
    return f"{head}: not readable: {d['reason']}"


def _fmt(value):
    return "(none)" if value is None else value
