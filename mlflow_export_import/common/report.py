"""What a command did: counts per object type (copied, skipped, failed) and every failure with its reason."""
import json
import threading
from collections import defaultdict

from mlflow_export_import.common import io_utils
from mlflow_export_import.common.progress import Progress

COPIED, SKIPPED, FAILED = "copied", "skipped", "failed"
COMMAND = "command"  # the kind of a failure of the whole command (unreachable server, interruption, ...)


class Report:
    def __init__(self, command=None, progress=None, dry_run=False, retry=None):
        self.command = command
        self.dry_run = dry_run
        self.retry = retry
        self.progress = progress or Progress(enabled=False)
        self._lock = threading.Lock()
        self._counts = defaultdict(lambda: {COPIED: 0, SKIPPED: 0, FAILED: 0})
        self._expected = defaultdict(int)
        self.failures = []
        self.skips = []
        self.notes = []
        self.planned = []

    def wants(self, kind, *obj_ids):
        """False for objects a --retry-failed list leaves out (they are neither tried nor counted)."""
        return self.retry is None or self.retry.wants(kind, *obj_ids)

    @property
    def wanted(self):
        """wants, or None when every object is wanted (no --retry-failed list)."""
        return None if self.retry is None else self.wants

    def wants_parent(self, kind, child_kind, separator, name):
        return self.retry is None or self.retry.wants_parent(kind, child_kind, separator, name)

    def expect(self, kind, n):
        """Announce n more objects of a kind to come, so that progress can show an ETA."""
        with self._lock:
            self._expected[kind] += n

    def copied(self, kind, n=1):
        with self._lock:
            self._counts[kind][COPIED] += n
        self._show()

    def would(self, kind, obj_id, action):
        """A dry run's 'copied': what the import would do to the object (create it, finish it, update it)."""
        with self._lock:
            self._counts[kind][COPIED] += 1
            self.planned.append({"type": kind, "id": obj_id, "action": action})
        self._show()

    def skipped(self, kind, obj_id, reason):
        with self._lock:
            self._counts[kind][SKIPPED] += 1
            self.skips.append({"type": kind, "id": obj_id, "reason": reason})
        self._show()

    def failed(self, kind, obj_id, reason, name=None):
        with self._lock:
            self._counts[kind][FAILED] += 1
            entry = {"type": kind, "id": obj_id, "reason": str(reason)}
            if name:
                entry["name"] = name
            self.failures.append(entry)
        self._show()

    def _show(self):
        with self._lock:
            counts = {k: dict(v) for k, v in self._counts.items()}
            expected = dict(self._expected)
        self.progress.update(counts, expected)

    def note(self, text):
        with self._lock:
            self.notes.append(text)

    def count(self, kind, what=COPIED):
        return self._counts[kind][what] if kind in self._counts else 0

    @property
    def has_failures(self):
        return bool(self.failures)

    def to_dict(self):
        dct = {"command": self.command, "counts": {k: dict(v) for k, v in sorted(self._counts.items())},
               "failures": list(self.failures), "skipped": list(self.skips), "notes": list(self.notes),
               "ok": not self.failures}
        if self.dry_run:
            dct.update(dry_run=True, planned=list(self.planned))
        return dct

    def summary_lines(self):
        title = f"Summary of {self.command}" if self.command else "Summary"
        if self.dry_run:
            title = f"Dry run of {self.command or 'the import'}: nothing was written. It would do"
        copied, failed = ("to copy", "refused") if self.dry_run else ("copied", "failed")
        # a failure of the whole command is said once, by the console frame's "Error:" line
        counts = [(kind, c) for kind, c in sorted(self._counts.items()) if kind != COMMAND]
        failures = [f for f in self.failures if f["type"] != COMMAND]
        if not counts and len(failures) < len(self.failures):
            return []
        lines = [title + ":"]
        for kind, c in counts:
            lines.append(f"  {kind + ':':22s} {c[COPIED]} {copied}, {c[SKIPPED]} skipped, {c[FAILED]} {failed}")
        if len(lines) == 1:
            lines.append("  nothing to do")
        lines.extend(self._planned_lines())
        for s in self.skips[:50]:
            lines.append(f"  skipped {s['type']} {s['id']}: {s['reason']}")
        if len(self.skips) > 50:
            lines.append(f"  ... and {len(self.skips) - 50} more skipped (see --report)")
        for f in failures:
            name = f" ({f['name']})" if f.get("name") else ""
            lines.append(f"  {failed.upper()} {f['type']} {f['id']}{name}: {f['reason']}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return lines

    def _planned_lines(self, limit=200):
        lines = [f"  would {p['action']}" for p in self.planned[:limit]]
        if len(self.planned) > limit:
            lines.append(f"  ... and {len(self.planned) - limit} more (see --report)")
        return lines

    def write(self, path):
        io_utils.write_file(path, json.loads(json.dumps(self.to_dict(), default=str)))
