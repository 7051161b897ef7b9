"""What an import does with an exported logged model, decided before anything is written: the export read, the
copy an earlier import made found by its lineage tag, and the decision. import-logged-model(s), the experiment
importers and their --dry-run take it from here; this module imports no importer."""
import os

from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common import capabilities
from mlflow_export_import.common.capabilities import earlier_imports, unsupported_reason
from mlflow_export_import.common.source_tags import ExportTags
from mlflow_export_import.logged_model.export_logged_model import KIND, LOGGED_MODEL_FILE

SRC_MODEL_ID_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_model_id"
CREATE, REPLACE, SKIP = "create", "replace", "skip"  # what an import does with a source model (model_action)


def record_failure(client, report, input_dir, ex):
    capabilities.record_failure(report, KIND, input_dir, ex, unsupported_reason(client),
                                f"Logged model in '{input_dir}' failed to import")


def read_logged_model(input_dir):
    path = os.path.join(input_dir, LOGGED_MODEL_FILE)
    dct = io_utils.read_file_mlflow(path)
    if not dct.get("model_id") or not dct.get("name"):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no model_id or name", http_status_code=400)
    return dct


def imported_logged_models(client, experiment_id):
    """{source model id: destination LoggedModel} of the models earlier imports made in this experiment."""
    found, token = {}, None
    while True:
        page = client.search_logged_models(experiment_ids=[experiment_id], page_token=token, max_results=100,
                                           filter_string=f"tags.`{SRC_MODEL_ID_TAG}` LIKE '%'")
        for lm in page:
            found[lm.tags[SRC_MODEL_ID_TAG]] = lm
        token = page.token
        if not token:
            return found


def model_action(earlier, dct):
    """What an import does with the exported model dct, given the copy an earlier import made of it
    (imported_logged_models) or None: SKIP it when that copy is complete, REPLACE a copy left half-done (a
    logged model's files and metrics cannot be completed in place), else CREATE it."""
    if earlier is None:
        return CREATE
    return SKIP if is_complete(earlier, dct) else REPLACE


def is_complete(logged_model, dct):
    return getattr(logged_model.status, "value", str(logged_model.status)) == (dct.get("status") or "READY")


def plan_logged_models_dir(client, input_dir, experiment_id, experiment_name, report, model_ids=None):
    if model_ids is None:
        model_ids = sorted(d for d in os.listdir(input_dir)
                           if os.path.exists(os.path.join(input_dir, d, LOGGED_MODEL_FILE)))
    try:
        existing = earlier_imports(imported_logged_models, client, experiment_id)
    except Exception as ex:
        record_failure(client, report, f"experiment {experiment_id}", ex)
        return
    for model_id in model_ids:
        model_dir = os.path.join(input_dir, model_id)
        try:
            dct = read_logged_model(model_dir)
        except Exception as ex:
            record_failure(client, report, model_dir, ex)
            continue
        action = model_action(existing.get(dct["model_id"]), dct)
        if action == SKIP:
            report.skipped(KIND, dct["model_id"], "already imported")
        else:
            verb = "replace the half-imported" if action == REPLACE else "create"
            report.would(KIND, dct["model_id"],
                         f"{verb} logged model '{dct['name']}' in experiment '{experiment_name}'")


def plan_logged_model(client, input_dir, experiment_name, report):
    parent, name = os.path.split(os.path.normpath(input_dir))
    exp = client.get_experiment_by_name(experiment_name)
    plan_logged_models_dir(client, parent, exp.experiment_id if exp else None, experiment_name, report, [name])
