"""Field by field comparison of normalized objects; each returns [(field, source value, destination value)]."""
from collections import Counter

MAX_POINTS_SHOWN = 3


def compare_fields(src, dst, fields, label=None):
    return [(label or f, repr(src.get(f)), repr(dst.get(f))) for f in fields if src.get(f) != dst.get(f)]


def compare_mapping(src, dst, what):
    """Key by key: changed values, keys missing in the destination and keys only in the destination."""
    diffs = []
    for key in sorted(set(src) | set(dst)):
        s, d = src.get(key), dst.get(key)
        if s != d or (key in src) != (key in dst):
            diffs.append((f"{what} '{key}'", None if key not in src else repr(s), None if key not in dst else repr(d)))
    return diffs


def compare_metrics(src, dst):
    """Full histories, as multisets of (step, timestamp, value) points per metric key."""
    diffs = []
    for key in sorted(set(src) | set(dst)):
        if key not in dst:
            diffs.append((f"metric '{key}'", f"{len(src[key])} points", None))
        elif key not in src:
            diffs.append((f"metric '{key}'", None, f"{len(dst[key])} points"))
        elif src[key] != dst[key]:
            only_src = list((Counter(src[key]) - Counter(dst[key])).elements())
            only_dst = list((Counter(dst[key]) - Counter(src[key])).elements())
            diffs.append((f"metric '{key}'", _points(len(src[key]), only_src), _points(len(dst[key]), only_dst)))
    return diffs


def _points(total, only_here):
    text = f"{total} points"
    if only_here:
        shown = ", ".join(f"step {s} value {v} ts {t}" for s, t, v in only_here[:MAX_POINTS_SHOWN])
        more = f" +{len(only_here) - MAX_POINTS_SHOWN}" if len(only_here) > MAX_POINTS_SHOWN else ""
        text += f"; only here: {shown}{more}"
    return text


def compare_datasets(src, dst):
    only_src = list((Counter(src) - Counter(dst)).elements())
    only_dst = list((Counter(dst) - Counter(src)).elements())
    return [(f"dataset input '{d[0]}' ({d[1]})", "present", None) for d in only_src] + \
           [(f"dataset input '{d[0]}' ({d[1]})", None, "present") for d in only_dst]


def is_mlmodel(path):
    """MLmodel files name their run, which an import rewrites on purpose: compared by presence only."""
    return path.rsplit("/", 1)[-1] == "MLmodel"


def compare_artifact_listings(src, dst):
    """Presence and size of every file. Returns (diffs, paths whose content is to be compared)."""
    diffs, same_size = [], []
    for path in sorted(set(src) | set(dst)):
        if path not in dst:
            diffs.append((f"artifact '{path}'", f"{src[path]} bytes", None))
        elif path not in src:
            diffs.append((f"artifact '{path}'", None, f"{dst[path]} bytes"))
        elif is_mlmodel(path):
            continue
        elif src[path] != dst[path]:
            diffs.append((f"artifact '{path}'", f"{src[path]} bytes", f"{dst[path]} bytes"))
        else:
            same_size.append(path)
    return diffs, same_size
