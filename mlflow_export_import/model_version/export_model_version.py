"""Export one model version: version.json, its registered model (model.json), its run's experiment
(experiment.json) and its run (run/). A version whose run no longer exists keeps the registry's copy of its
files (version_model/)."""
import os

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, io_utils, is_not_found
from mlflow_export_import.common import model_utils
from mlflow_export_import.common.click_options import (
    bool_option, opt_export_permissions, opt_notebook_formats, opt_output_dir, opt_report)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import adjust_timestamps
from mlflow_export_import.logged_model.export_logged_model import export_logged_model_entity
from mlflow_export_import.model.plan import logged_model_id_of
from mlflow_export_import.permissions.transfer import export_model_permissions
from mlflow_export_import.run.export_run import export_run_entity

VERSION_MODEL_ARTIFACT_PATH = "version_model"

_logger = get_logger(__name__)


def export_model_version(model_name, version, output_dir, export_version_model=False, vrm_model_artifact_path="",
                         skip_download_run_artifacts=False, export_permissions=False, notebook_formats=None,
                         mlflow_client=None, report=None):
    """Returns the source ModelVersion."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    model_dct = model_utils.get_registered_model(client, model_name)
    vr = get_model_version(client, model_name, version)
    if model_dct["tags"] and any(t["key"] == model_utils.PROMPT_TAG for t in model_dct["tags"]):
        raise MlflowExportImportException(
            f"Registered model '{model_name}' is a prompt: export it with the prompt commands", http_status_code=400)
    vr_dct = model_utils.model_version_to_dict(vr)
    run = get_run_or_none(client, vr.run_id)
    info = {}
    if run is not None:
        export_run_entity(client, run, os.path.join(output_dir, "run"), export_deleted_runs=True,
                          skip_download_run_artifacts=skip_download_run_artifacts, report=report,
                          notebook_formats=notebook_formats)
        _write_experiment(client, run.info.experiment_id, output_dir)
    model_id = logged_model_id_of(vr_dct)
    if model_id:
        export_logged_model_entity(client, client.get_logged_model(model_id), os.path.join(output_dir, model_id))
    if export_version_model or run is None:
        info = _export_version_model(client, vr, vr_dct, output_dir, vrm_model_artifact_path, run is not None)
    io_utils.write_export_file(output_dir, "version.json", __file__, {"model_version": vr_dct}, info,
                               tracking_uri=client.tracking_uri)
    if export_permissions:
        model_dct["permissions"] = export_model_permissions(client, model_name, report)
    io_utils.write_export_file(output_dir, "model.json", __file__, {"registered_model": model_dct},
                               tracking_uri=client.tracking_uri)
    report.copied("model_versions")
    return vr


def get_model_version(client, model_name, version):
    try:
        return client.get_model_version(model_name, str(version))
    except MlflowException as ex:
        if (is_not_found(ex) or ex.error_code == "INVALID_PARAMETER_VALUE"):
            raise MlflowExportImportException(
                ex, f"Version '{version}' of registered model '{model_name}' not found in {client.tracking_uri}",
                http_status_code=404)
        raise


def get_run_or_none(client, run_id):
    """The version's run, or None if it no longer exists at all (deleted permanently)."""
    if not run_id:
        return None
    try:
        return client.get_run(run_id)
    except MlflowException as ex:
        if is_not_found(ex):
            _logger.warning(f"Run '{run_id}' no longer exists: exporting the registry's copy of the version files")
            return None
        raise


def _export_version_model(client, vr, vr_dct, output_dir, vrm_model_artifact_path, has_run):
    if vrm_model_artifact_path and has_run:
        dst = os.path.join(output_dir, "run", "artifacts", vrm_model_artifact_path)
        vr_dct["_source"] = vr_dct["source"]
        vr_dct["source"] = vrm_model_artifact_path
    else:
        dst = os.path.join(output_dir, VERSION_MODEL_ARTIFACT_PATH)
    os.makedirs(dst, exist_ok=True)
    vr_dct["_download_uri"] = model_utils.export_version_model(client, vr, dst)
    return {"vrm_export_version_model": True, "vrm_model_artifact_path": vrm_model_artifact_path,
            "vrm_model_artifact_full_path": dst}


def _write_experiment(client, experiment_id, output_dir):
    """experiment.json in the REST shape of experiments/get (tags as a list)."""
    exp = client.get_experiment(experiment_id)
    dct = {"experiment_id": exp.experiment_id, "name": exp.name, "artifact_location": exp.artifact_location,
           "lifecycle_stage": exp.lifecycle_stage, "last_update_time": exp.last_update_time,
           "creation_time": exp.creation_time, "tags": [{"key": k, "value": v} for k, v in exp.tags.items()]}
    adjust_timestamps(dct, ["last_update_time", "creation_time"])
    io_utils.write_export_file(output_dir, "experiment.json", __file__, {"experiment": dct},
                               tracking_uri=client.tracking_uri)


@click.command("export-model-version")
@click.option("--model", help="Registered model name.", type=str, required=True)
@click.option("--version", help="Registered model version.", type=str, required=True)
@opt_output_dir
@bool_option("--vrm-export-version-model", "Also export the registry's copy of the version's MLflow model.")
@click.option("--vrm-model-artifact-path", type=str, default=None,
              help="Put that copy under the run's artifacts at this path and point the exported source at it.")
@bool_option("--skip-download-run-artifacts", "Write run.json only, without the run's artifacts.")
@opt_export_permissions
@opt_notebook_formats
@opt_report
def main(model, version, output_dir, vrm_export_version_model, vrm_model_artifact_path, skip_download_run_artifacts,
         export_permissions, notebook_formats, report_file):
    """Export a model version, its registered model and its run to a directory."""
    with command("export-model-version", locals(), report_file) as report:
        export_model_version(model, version, output_dir, vrm_export_version_model, vrm_model_artifact_path,
                             skip_download_run_artifacts, export_permissions, notebook_formats,
                             mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
