"""Export one MLflow 3 logged model: logged_model.json (the entity, flattened) and its artifacts."""
import os
import shutil

import click
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.client.scope import side_scope
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.capabilities import is_unsupported, unsupported_reason
from mlflow_export_import.common.click_options import opt_output_dir, opt_report
from mlflow_export_import.common.download_utils import download_tree
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logged_model_utils import logged_model_to_json
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.utils import strip_underscores

LOGGED_MODEL_FILE = "logged_model.json"
KIND = "logged_models"

_logger = get_logger(__name__)


def export_logged_model(model_id, output_dir, mlflow_client=None, report=None):
    """Export the logged model into output_dir. Returns the LoggedModel, or None if it failed."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        return export_logged_model_entity(client, client.get_logged_model(model_id), output_dir, report)
    except Exception as ex:
        if is_unsupported(ex):
            report.skipped(KIND, model_id, unsupported_reason(client))
        else:
            report.failed(KIND, model_id, f"Logged model '{model_id}' failed to export: {describe_error(ex)}")
        return None


def export_logged_model_entity(client, logged_model, output_dir, report=None):
    """Artifacts first, logged_model.json last: its presence means the export is whole."""
    os.makedirs(output_dir, exist_ok=True)
    model_file = os.path.join(output_dir, LOGGED_MODEL_FILE)
    if os.path.exists(model_file):
        os.remove(model_file)
    _download_artifacts(client, logged_model, os.path.join(output_dir, "artifacts"))
    io_utils.write_export_file(output_dir, LOGGED_MODEL_FILE, __file__, logged_model_to_dict(client, logged_model),
                               tracking_uri=client.tracking_uri)
    if report is not None:
        report.copied(KIND)
    _logger.debug(f"Exported logged model '{logged_model.model_id}' to '{output_dir}'")
    return logged_model


def logged_model_to_dict(client, logged_model):
    dct = logged_model_to_json(logged_model)
    if logged_model.source_run_id:
        try:
            run = client.get_run(logged_model.source_run_id)
            dct["dataset_inputs"] = [{"dataset": strip_underscores(di.dataset),
                                      "tags": [{"key": t.key, "value": t.value} for t in (di.tags or [])]}
                                     for di in (run.inputs.dataset_inputs if run.inputs else None) or []]
        except Exception as ex:  # the source run may have been deleted for good
            _logger.warning(f"Source run of logged model '{logged_model.model_id}': {describe_error(ex)}")
    return dct


def _download_artifacts(client, logged_model, dst_dir):
    if os.path.exists(dst_dir):
        shutil.rmtree(dst_dir)
    os.makedirs(dst_dir)
    # The model's own location: MLflow's lookup by id would ask the server for the model again.
    with side_scope(client):
        repo = get_artifact_repository(logged_model.artifact_location, tracking_uri=client.tracking_uri)
    download_tree(client, repo, dst_dir)


@click.command("export-logged-model")
@click.option("--model-id", help="Logged model ID (m-...).", type=str, required=True)
@opt_output_dir
@opt_report
def main(model_id, output_dir, report_file):
    """Export an MLflow 3 logged model and its artifacts to a directory."""
    with command("export-logged-model", locals(), report_file) as report:
        export_logged_model(model_id, output_dir, mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
