"""Parent/child run links (tag mlflow.parentRunId)."""
from collections import defaultdict

from mlflow.entities import ViewType

from mlflow_export_import.common.iterators import SearchRunsIterator

MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"


def get_children_map(client, experiment_id):
    """{parent run id: [child run ids]} for the experiment, from one paged search."""
    children = defaultdict(list)
    for run in child_runs(client, experiment_id):
        children[run.data.tags[MLFLOW_PARENT_RUN_ID]].append(run.info.run_id)
    return children


def get_descendant_run_ids(client, experiment_id, run_ids):
    """Every descendant (children, grandchildren, ...) of the given runs."""
    children = get_children_map(client, experiment_id)
    found, todo = [], list(run_ids)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.append(child)
                todo.append(child)
    return found


def depth_levels(parent_of):
    """Group ids so that every parent comes in an earlier level than its children.
    parent_of: {id: parent id or None}; a parent outside the mapping counts as absent."""
    depth = {}

    def depth_of(run_id, seen=()):
        if run_id not in depth:
            parent = parent_of.get(run_id)
            depth[run_id] = 0 if parent not in parent_of or parent in seen else depth_of(parent, seen + (run_id,)) + 1
        return depth[run_id]

    levels = defaultdict(list)
    for run_id in parent_of:
        levels[depth_of(run_id)].append(run_id)
    return [levels[d] for d in sorted(levels)]


# ---- reference API: runs and their descendants, as Run entities

MLFLOW_ROOT_RUN_ID = "mlflow.rootRunId"


def _as_runs(client, runs):
    """Run entities for a list of runs or run ids."""
    return [client.get_run(r) if isinstance(r, str) else r for r in runs]


def get_nested_runs(client, runs):
    """The runs and all their descendants (children, grandchildren, ...), each once, parents first. Found through
    `mlflow.parentRunId`, which every server sets (the reference searches by `mlflow.rootRunId` on Databricks)."""
    return collect_nested_runs(client, runs)


def child_runs(client, experiment_id):
    """Every run of the experiment that has a parent (deleted ones included), from one paged search."""
    return list(SearchRunsIterator(client, experiment_id, view_type=ViewType.ALL,
                                   filter=f"tags.`{MLFLOW_PARENT_RUN_ID}` LIKE '%'"))


def collect_nested_runs(client, runs, parent_runs=None):
    """The runs (Run entities or ids) and all their descendants, each once, every parent before its children.
    parent_runs: the experiments' runs that have a parent, when already known (else searched, once per
    experiment)."""
    runs = _as_runs(client, runs)
    if parent_runs is None:
        parent_runs = [child for exp_id in dict.fromkeys(r.info.experiment_id for r in runs)
                       for child in child_runs(client, exp_id)]
    children = defaultdict(list)
    for child in parent_runs:
        children[child.data.tags[MLFLOW_PARENT_RUN_ID]].append(child)
    result, seen = [], set()
    todo = list(reversed(runs))
    while todo:
        run = todo.pop()
        if run.info.run_id not in seen:
            seen.add(run.info.run_id)
            result.append(run)
            todo.extend(reversed(children.get(run.info.run_id, [])))
    return result


def get_nested_runs_by_rootRunId(client, runs):
    """Per run, the runs whose `mlflow.rootRunId` tag names it (Databricks sets that tag on every nested run);
    a run with none stands for itself. Each run once."""
    found = {}
    for run in _as_runs(client, runs):
        family = SearchRunsIterator(client, run.info.experiment_id, view_type=ViewType.ALL,
                                    filter=f"tags.`{MLFLOW_ROOT_RUN_ID}` = '{run.info.run_id}'")
        members = list(family) or [run]
        if all(m.info.run_id != run.info.run_id for m in members):
            members.insert(0, run)
        for member in members:
            found.setdefault(member.info.run_id, member)
    return list(found.values())
