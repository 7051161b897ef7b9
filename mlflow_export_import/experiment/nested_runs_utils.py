"""Parent/child run links (tag mlflow.parentRunId)."""
from collections import defaultdict

from mlflow.entities import ViewType

from mlflow_export_import.common.iterators import SearchRunsIterator

MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"


def get_children_map(client, experiment_id):
    """{parent run id: [child run ids]} for the experiment, from one paged search."""
    children = defaultdict(list)
    runs = SearchRunsIterator(client, experiment_id, filter=f"tags.`{MLFLOW_PARENT_RUN_ID}` LIKE '%'",
                              view_type=ViewType.ALL)
    for run in runs:
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
