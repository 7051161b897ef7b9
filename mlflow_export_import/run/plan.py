"""What an import does with an exported run, decided before anything is written: the export read, the run an
earlier import made from it found by its lineage tag, and the decision. The importers (import-run, experiments,
models) and their --dry-run take it from here; this module imports no importer."""
import os

from mlflow.entities import Run, RunInfo, ViewType

from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common.iterators import SearchRunsIterator
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.logged_model.plan import plan_logged_models_dir
from mlflow_export_import.run.export_run import RUN_FILE

CREATE, FINISH, SKIP = "create", "finish", "skip"  # what an import does with a source run (run_action)
# the skip reason of a run an earlier import finished, and what becomes of runs a --retry-failed list leaves out
# (users and tests read these)
ALREADY_IMPORTED, RETRY_LEFT_OUT = "already imported", "not in the --retry-failed list"


def read_run(input_dir):
    """run.json as the current format has it, whatever shape the export was written in."""
    path = os.path.join(input_dir, RUN_FILE)
    dct = io_utils.read_file_mlflow(path)
    info = dct.get("info")
    if not isinstance(info, dict) or not (info.get("run_id") or info.get("run_uuid")):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no run info", http_status_code=400)
    info.setdefault("run_id", info.get("run_uuid"))
    dct.setdefault("params", {})
    dct.setdefault("metrics", {})
    dct.setdefault("tags", {})
    inputs = dct.get("inputs")
    if isinstance(inputs, list):  # exports before 2025-10: a plain list of dataset inputs
        inputs = {"dataset_inputs": inputs, "model_inputs": []}
    dct["inputs"] = inputs or {"dataset_inputs": [], "model_inputs": []}
    dct.setdefault("outputs", {"model_outputs": []})
    for key, points in dct["metrics"].items():
        if not isinstance(points, list) or not all(isinstance(p, dict) and "value" in p for p in points):
            raise MlflowExportImportException(f"Corrupt export file '{path}': metric '{key}' is not a list of "
                                              "points (value, timestamp, step)", http_status_code=400)
    return dct


def find_earlier_import(client, experiment_id, src_run_id):
    """The run an earlier import or copy made from src_run_id in this experiment: a finished one first,
    else one left half-done (to be finished instead of getting a twin), else None."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.`{ImportTags.SRC_RUN_ID}` = '{src_run_id}'",
                              run_view_type=ViewType.ALL, max_results=100)
    done = [r for r in runs if r.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE]
    return (done or runs or [None])[0]


def is_finished(run, src_deleted=False):
    """Whether an earlier import finished `run` (a Run from a search): state 'done', and deleted when the source
    run is (src_deleted), since deleting it is that import's last request. A run left active is finished again."""
    if run is None or run.data.tags.get(ImportTags.STATE) != ImportTags.STATE_DONE:
        return False
    return not src_deleted or run.info.lifecycle_stage == "deleted"


def run_action(earlier, src_deleted=False):
    """What an import does with a source run, given the run an earlier import or copy made from it
    (find_earlier_import, imported_runs) or None: SKIP it when that import finished it, FINISH it when it left
    it half-done (no twin), else CREATE it. src_deleted: the import ends by deleting the run (see is_finished)."""
    if is_finished(earlier, src_deleted):
        return SKIP
    return FINISH if earlier is not None else CREATE


def info_with(info, **changes):
    """A copy of a RunInfo with some fields changed."""
    fields = {"run_id": info.run_id, "experiment_id": info.experiment_id, "user_id": info.user_id,
              "status": info.status, "start_time": info.start_time, "end_time": info.end_time,
              "lifecycle_stage": info.lifecycle_stage, "artifact_uri": info.artifact_uri, "run_name": info.run_name}
    fields.update(changes)
    return RunInfo(**fields)


def as_deleted(runs):
    """The earlier copies ({source run id: Run}) of a deleted experiment's runs, as the import or copy leaves them:
    the experiment is restored for its time, runs and all, and deleted again after, runs and all, so what the
    restore made active counts as deleted (a deleted run's copy needs no delete of its own)."""
    return {src_id: Run(info_with(run.info, lifecycle_stage="deleted"), run.data, run.inputs,
                        getattr(run, "outputs", None)) for src_id, run in runs.items()}


def is_deleted(run_dct):
    return run_dct["info"].get("lifecycle_stage") == "deleted"


def imported_runs(client, experiment_id):
    """{source run id: destination Run} of the runs earlier imports made in this experiment."""
    runs = SearchRunsIterator(client, experiment_id, filter=f"tags.`{ImportTags.SRC_RUN_ID}` LIKE '%'",
                              view_type=ViewType.ALL)
    found = {}
    for run in runs:
        src_id = run.data.tags[ImportTags.SRC_RUN_ID]
        if src_id not in found or run.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE:
            found[src_id] = run
    return found


def plan_run(client, run_dir, experiment_name, report):
    """import-run: the run is created, or finished when an earlier import left it half-done, or skipped."""
    run_dct = read_run(run_dir)
    exp = client.get_experiment_by_name(experiment_name)
    earlier = find_earlier_import(client, exp.experiment_id, run_dct["info"]["run_id"]) if exp else None
    plan_one_run(run_dct, earlier, experiment_name, report, is_deleted(run_dct))
    plan_logged_models_dir(client, run_dir, exp.experiment_id if exp else None, experiment_name, report)


def plan_one_run(run_dct, earlier, experiment_name, report, src_deleted=False):
    """src_deleted: the import ends the run's import by deleting it (see is_finished)."""
    src_id = run_dct["info"]["run_id"]
    action = run_action(earlier, src_deleted)
    if action == SKIP:
        report.skipped("runs", src_id, ALREADY_IMPORTED)
        return
    verb = "finish the half-imported" if action == FINISH else "create"
    name = run_dct["info"].get("run_name") or src_id
    report.would("runs", src_id, f"{verb} run '{name}' ({src_id}) in experiment '{experiment_name}'")
