"""Export one run: run.json (info, params, full metric histories, tags, inputs, outputs) and its artifacts."""
import os
import shutil

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.click_options import opt_notebook_formats, opt_output_dir, opt_report, opt_run_id
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.download_utils import download_tree, run_artifact_repo
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.logged_model.export_logged_model import export_logged_model
from mlflow_export_import.notebook.notebooks import check_formats, export_run_notebook
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import adjust_timestamps
from mlflow_export_import.common.utils import strip_underscores

MLFLOW_DATABRICKS_NOTEBOOK_REVISION_ID = "mlflow.databricks.notebookRevisionID"
RUN_FILE = "run.json"

_logger = get_logger(__name__)


def export_run(run_id, output_dir, export_deleted_runs=False, skip_download_run_artifacts=False,
               notebook_formats=None, raise_exception=False, mlflow_client=None, export_logged_models=False,
               report=None):
    """Export the run into output_dir. Returns the source Run, or None if it was skipped or failed."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        run = client.get_run(run_id)
        exported = export_run_entity(client, run, output_dir, export_deleted_runs, skip_download_run_artifacts, report,
                                     notebook_formats=notebook_formats)
        if exported is not None and export_logged_models:
            _export_run_logged_models(client, run, output_dir, report)
        return exported
    except Exception as ex:
        if raise_exception:
            raise
        report.failed("runs", run_id, describe_error(ex))
        _logger.error(f"Run '{run_id}' failed to export: {describe_error(ex)}")
        return None


def export_run_entity(client, run, output_dir, export_deleted_runs=False, skip_download_run_artifacts=False,
                      report=None, notebook_formats=None, metric_histories=None):
    """Export a Run already fetched, with its notebook in notebook_formats when a workspace notebook made it.
    metric_histories: {key: [Metric]} already read in bulk (run/metric_history.py); keys missing are read here.
    run.json is written last, so its presence means the export is whole."""
    run_id = run.info.run_id
    if run.info.lifecycle_stage == "deleted" and not export_deleted_runs:
        _logger.warning(f"Run '{run_id}' is deleted: not exported (use --export-deleted-runs)")
        if report is not None:
            report.skipped("runs", run_id, "deleted run (use --export-deleted-runs)")
        return None
    os.makedirs(output_dir, exist_ok=True)
    run_file = os.path.join(output_dir, RUN_FILE)
    if os.path.exists(run_file):
        os.remove(run_file)
    if not skip_download_run_artifacts:
        download_run_artifacts(client, run_id, os.path.join(output_dir, "artifacts"), run.info.artifact_uri)
    if notebook_formats:
        export_run_notebook(client, run, output_dir, notebook_formats, report if report is not None else Report())
    io_utils.write_export_file(output_dir, RUN_FILE, __file__, run_to_dict(client, run, metric_histories),
                               tracking_uri=client.tracking_uri)
    if report is not None:
        report.copied("runs")
    _logger.debug(f"Exported run '{run_id}' to '{output_dir}'")
    return run


def _export_run_logged_models(client, run, output_dir, report):
    """The logged models the run uses or produced, next to run.json as <model_id>/ (the reference's layout)."""
    model_ids = [m.model_id for m in (getattr(run.inputs, "model_inputs", None) or [])]
    model_ids += [m.model_id for m in (getattr(getattr(run, "outputs", None), "model_outputs", None) or [])]
    for model_id in dict.fromkeys(model_ids):
        export_logged_model(model_id, os.path.join(output_dir, model_id), mlflow_client=client, report=report)


def run_to_dict(client, run, metric_histories=None):
    """The run as run.json has it. metric_histories: {key: [Metric]} already read (in bulk); the histories of the
    other keys are read one by one."""
    info = strip_underscores(run.info)
    adjust_timestamps(info, ["start_time", "end_time"])
    histories = metric_histories or {}
    dct = {
        "info": info,
        "params": dict(run.data.params),
        "metrics": {key: [_metric_point(m) for m in (histories[key] if key in histories
                                                      else client.get_metric_history(run.info.run_id, key))]
                    for key in sorted(run.data.metrics)},
        "tags": dict(sorted(run.data.tags.items())),
        "inputs": _inputs_to_dict(run.inputs),
    }
    if getattr(run, "outputs", None) is not None:
        dct["outputs"] = {"model_outputs": [{"model_id": m.model_id, "step": m.step}
                                            for m in (run.outputs.model_outputs or [])]}
    return dct


def _metric_point(metric):
    point = strip_underscores(metric)
    point.pop("key", None)
    return point


def _inputs_to_dict(inputs):
    if inputs is None:
        return {"dataset_inputs": [], "model_inputs": []}
    datasets = [{"dataset": strip_underscores(di.dataset),
                 "tags": [{"key": t.key, "value": t.value} for t in (di.tags or [])]}
                for di in (inputs.dataset_inputs or [])]
    models = [{"model_id": m.model_id} for m in (getattr(inputs, "model_inputs", None) or [])]
    return {"dataset_inputs": datasets, "model_inputs": models}


def download_run_artifacts(client, run_id, dst_dir, artifact_uri=None):
    """Every artifact of the run into dst_dir, each folder listed once. artifact_uri: the run's, when the caller
    has the run (else it is asked of the server)."""
    if os.path.exists(dst_dir):
        shutil.rmtree(dst_dir)  # a fresh copy: no stale files from an earlier export
    os.makedirs(dst_dir)
    artifact_uri = artifact_uri or client.get_run(run_id).info.artifact_uri
    download_tree(client, run_artifact_repo(client, artifact_uri), dst_dir)


@click.command("export-run")
@opt_run_id
@opt_output_dir
@opt_notebook_formats
@opt_report
def main(run_id, output_dir, notebook_formats, report_file):
    """Export a run and its artifacts to a directory."""
    with command("export-run", locals(), report_file) as report:
        export_run(run_id, output_dir, notebook_formats=check_formats(notebook_formats), mlflow_client=mk_client(),
                   export_logged_models=True, report=report)


if __name__ == "__main__":
    main()
