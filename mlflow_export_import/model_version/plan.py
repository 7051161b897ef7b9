"""What an import does with an exported model version, decided before anything is written: the export read, the
version an earlier import made found by its lineage tag, and the decision. import-model-version and its
--dry-run take it from here; this module imports no importer."""
import os

from mlflow_export_import.common import MlflowExportImportException, io_utils, model_utils
from mlflow_export_import.model.plan import find_imported_version, src_version_key
from mlflow_export_import.run.plan import plan_run

VERSION_FILE = "version.json"


def read_version(input_dir):
    path = os.path.join(input_dir, VERSION_FILE)
    vr = io_utils.read_file_mlflow(path).get("model_version")
    if not isinstance(vr, dict) or not vr.get("version") or "source" not in vr:
        raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.model_version' with a version "
                                          "and a source", http_status_code=400)
    return vr


def plan_model_version(client, model_name, experiment_name, input_dir, create_model, report):
    src_vr = read_version(input_dir)
    if not create_model and not model_utils.model_exists(client, model_name):
        raise MlflowExportImportException(
            f"Registered model '{model_name}' does not exist in the destination: create it first or use "
            "--create-model", http_status_code=404)
    key = src_version_key(src_vr)
    earlier = find_imported_version(client, model_name, key)
    if earlier is not None:
        report.skipped("model_versions", key, f"already imported as version {earlier.version} of '{model_name}'")
        return
    plan_run(client, os.path.join(input_dir, "run"), experiment_name, report)
    report.would("model_versions", key, f"create a version of model '{model_name}'")
