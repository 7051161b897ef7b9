"""What an import does with an exported experiment, decided before anything is written: the export read, the
destination experiment checked, and the plan of its runs, logged models and traces. import-experiment(s) and
their --dry-run take it from here; this module imports no importer."""
import os

from mlflow_export_import.bulk.export_experiments import EXPERIMENTS_FILE
from mlflow_export_import.client import uris
from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.experiment.export_experiment import EXPERIMENT_FILE
from mlflow_export_import.logged_model.plan import plan_logged_models_dir
from mlflow_export_import.run.export_run import RUN_FILE
from mlflow_export_import.run.plan import as_deleted, imported_runs, is_deleted, plan_one_run, read_run
from mlflow_export_import.trace.plan import plan_traces_dir

ALREADY_PRESENT = "already present (its runs, logged models and traces are counted on their own)"
EMPTY_DEFAULT = "the empty Default experiment of an open-source server: a Databricks workspace has none"


def read_experiment(input_dir):
    """The 'mlflow' part of experiment.json: the experiment ('experiment'), its run ids ('runs'), its
    permissions."""
    path = os.path.join(input_dir, EXPERIMENT_FILE)
    mlflow_attr = io_utils.read_file_mlflow(path)
    if not isinstance(mlflow_attr.get("experiment"), dict):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.experiment' object",
                                          http_status_code=400)
    return mlflow_attr


def check_experiment_importable(client, name, src_exp, dst_experiments=None):
    """The destination experiment of that name (None if there is none), unless it cannot take the import: a
    deleted experiment is only resumed by the import of a deleted one. dst_experiments: {name: Experiment} of a
    listing of the destination, which answers instead of a lookup."""
    exp = client.get_experiment_by_name(name) if dst_experiments is None else dst_experiments.get(name)
    if exp is not None and exp.lifecycle_stage == "deleted" and src_exp.get("lifecycle_stage") != "deleted":
        raise MlflowExportImportException(
            f"Experiment '{name}' exists in {redact_uri(client.tracking_uri)} but is deleted: restore it or delete "
            "it permanently first", http_status_code=400)
    return exp


def run_dirs_of(input_dir, run_ids):
    """{source run id: run dir}: runs/<id>/ (current layout) or <id>/ (exports before 2025-10)."""
    if run_ids is None:
        runs_root = os.path.join(input_dir, "runs")
        root = runs_root if os.path.isdir(runs_root) else input_dir
        run_ids = [d for d in sorted(os.listdir(root)) if os.path.exists(os.path.join(root, d, RUN_FILE))]
    dirs = {}
    for run_id in run_ids:
        new_layout = os.path.join(input_dir, "runs", run_id)
        dirs[run_id] = new_layout if os.path.isdir(new_layout) else os.path.join(input_dir, run_id)
    return dirs


def read_experiments_list(input_dir):
    path = os.path.join(input_dir, EXPERIMENTS_FILE)
    experiments = io_utils.read_file_mlflow(path).get("experiments")
    if not isinstance(experiments, list) or not all(isinstance(e, dict) and "id" in e and "name" in e
                                                    for e in experiments):
        raise MlflowExportImportException(
            f"Corrupt export file '{path}': 'mlflow.experiments' must list {{id, name}} objects", http_status_code=400)
    return experiments


def plan_experiment(client, experiment_name, input_dir, report):
    mlflow_attr = read_experiment(input_dir)
    if _is_empty_default_into_workspace(client, experiment_name, mlflow_attr["experiment"], input_dir,
                                        mlflow_attr.get("runs")):
        report.skipped("experiments", experiment_name, EMPTY_DEFAULT)
        return
    exp = check_experiment_importable(client, experiment_name, mlflow_attr["experiment"])
    exp_id = exp.experiment_id if exp else None
    existing = imported_runs(client, exp_id) if exp_id else {}
    if mlflow_attr["experiment"].get("lifecycle_stage") == "deleted":
        existing = as_deleted(existing)  # as the engine counts them (ExperimentCopier.copy_runs)
    for src_id, run_dir in run_dirs_of(input_dir, mlflow_attr.get("runs")).items():
        try:
            run_dct = read_run(run_dir)
            plan_one_run(run_dct, existing.get(src_id), experiment_name, report, is_deleted(run_dct))
        except MlflowExportImportException as ex:
            report.failed("runs", src_id, ex.message, name=experiment_name)
    models_dir = os.path.join(input_dir, "logged_models")
    if os.path.isdir(models_dir):
        plan_logged_models_dir(client, models_dir, exp_id, experiment_name, report)
    traces_dir = os.path.join(input_dir, "traces")
    if os.path.isdir(traces_dir):
        plan_traces_dir(client, traces_dir, exp_id, experiment_name, report)
    if exp:
        report.skipped("experiments", experiment_name, ALREADY_PRESENT)
    else:
        report.would("experiments", experiment_name, f"create experiment '{experiment_name}'")


def plan_experiments(client, input_dir, experiment_renames, report):
    renames = get_renames(experiment_renames)
    for exp in read_experiments_list(input_dir):
        name = rename(exp["name"], renames, "experiment")
        try:
            plan_experiment(client, name, os.path.join(input_dir, exp["id"]), report)
        except Exception as ex:
            report.failed("experiments", exp["id"], describe_error(ex), name=name)


def plan_exported_experiments(client, input_dir, list_file, key, plan_dir, report):
    """import-logged-models / import-traces: <list_file> names each experiment and the objects in it."""
    experiments = io_utils.read_file_mlflow(os.path.join(input_dir, list_file)).get("experiments") or []
    for exp in experiments:
        dst = client.get_experiment_by_name(exp["name"])
        plan_dir(client, input_dir, dst.experiment_id if dst else None, exp["name"], report, exp.get(key))


def _is_empty_default_into_workspace(client, experiment_name, src_exp, input_dir, runs):
    """Open-source servers always have an experiment 'Default' (id 0); a workspace has none and takes only path
    names. An empty one has nothing to copy; a Default with runs must be mapped to a path (and fails if not)."""
    if experiment_name != "Default" or str(src_exp.get("experiment_id")) != "0":
        return False
    if not uris.parse(client.tracking_uri).is_databricks:
        return False
    return not run_dirs_of(input_dir, runs) and not any(
        os.path.isdir(os.path.join(input_dir, d)) for d in ("logged_models", "traces"))
