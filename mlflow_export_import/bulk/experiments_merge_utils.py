"""Merge the summaries of two experiment exports written into one directory (export-all: the experiments of
export-models, then the remaining ones), as export-format §4.4 describes."""
import copy

COUNTERS = ("experiments", "total_runs", "ok_runs", "failed_runs")


def merge_info(info1, info2):
    """info1 with info2's counters added: inside `status` when info1 has one, else at the top level. `duration` is
    summed and rounded to 0.1 s; a counter missing on one side counts as 0."""
    merged = copy.copy(info1)
    if "status" in merged:
        merged["status"] = dict(merged["status"])
        target, other = merged["status"], info2.get("status", info2)
    else:
        target, other = merged, info2
    target["duration"] = round(target.get("duration", 0) + other.get("duration", 0), 1)
    for key in COUNTERS:
        target[key] = target.get(key, 0) + other.get(key, 0)
    return merged


def merge_mlflow(mlflow1, mlflow2):
    return {"experiments": list(mlflow1.get("experiments", [])) + list(mlflow2.get("experiments", []))}
