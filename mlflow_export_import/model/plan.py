"""What an import does with an exported registered model and its versions, decided before anything is written:
the export read, the destination model checked, the versions earlier imports made found by their lineage tag,
and the decision for each. import-model(s), copy-models and their --dry-run take it from here; this module
imports no importer."""
import os
import re

from mlflow.exceptions import MlflowException

from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
from mlflow_export_import.common import model_utils, registry_rules
from mlflow_export_import.common.model_utils import quote, search_model_versions
from mlflow_export_import.common.source_tags import ExportTags, ImportTags
from mlflow_export_import.experiment.plan import plan_experiments
from mlflow_export_import.run.plan import imported_runs, plan_one_run, read_run

SRC_VERSION_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_version"
_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")
SRC_MODEL_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_model"
MODEL_FILE = "model.json"
MODEL_PRESENT = "already present (its versions are counted on their own)"
MODELS_FILE = "models.json"
CREATE, SET_STAGE, SKIP = "create", "set_stage", "skip"  # what an import does with a source version


def src_version_key(src_vr):
    return f"{src_vr.get('name')}/{src_vr['version']}"


def imported_versions(client, model_name):
    """{source version key: destination ModelVersion} of the versions earlier imports made in the model."""
    found = {}
    for vr in search_model_versions(client, f"name='{quote(model_name)}'"):
        key = (vr.tags or {}).get(SRC_VERSION_TAG)
        if key:
            found[key] = vr
    return found


def find_imported_version(client, model_name, key):
    try:
        return imported_versions(client, model_name).get(key)
    except MlflowException:
        return None


def _extract_model_id(source):
    """`models:/<id>` -> `<id>`; otherwise the logged model id found in the path (`.../models/<id>/...`)."""
    if not source:
        return None
    if source.startswith("models:/"):
        head = source[len("models:/"):].strip("/").split("/")[0]
        return head if _MODEL_ID.fullmatch(head) else None
    match = _MODEL_ID.search(source)
    return match.group(0) if match and f"/models/{match.group(0)}" in source else None


def logged_model_id_of(src_vr):
    """The source logged model the version's files live in, if any (MLflow 3)."""
    return _extract_model_id(src_vr.get("source"))


def read_model(input_dir):
    """The exported registered model dict, its versions in numeric order (old exports: latest_versions)."""
    path = os.path.join(input_dir, MODEL_FILE)
    dct = io_utils.read_file_mlflow(path).get("registered_model")
    if not isinstance(dct, dict) or not dct.get("name"):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.registered_model' with a name",
                                          http_status_code=400)
    versions = dct.get("versions", dct.get("latest_versions")) or []
    if not all(isinstance(v, dict) and str(v.get("version", "")).isdigit() and "source" in v for v in versions):
        raise MlflowExportImportException(f"Corrupt export file '{path}': every version needs a number and a source",
                                          http_status_code=400)
    dct["versions"] = sorted(versions, key=lambda v: int(v["version"]))
    return dct


def check_importable(client, model_name, model_dct, delete_model):
    """A destination model that exists must be ours to resume or be replaced (delete_model). Returns the model
    to resume (None: there is none, or it is to be replaced)."""
    check_not_a_prompt(model_dct)
    if delete_model:
        return None
    model = model_utils.find_registered_model(client, model_name)
    if model is not None and model.tags.get(SRC_MODEL_TAG) != model_dct["name"]:
        raise MlflowExportImportException(
            f"Registered model '{model_name}' already exists in {client.tracking_uri} and was not made by an import "
            f"of '{model_dct['name']}': use --delete-model to replace it", http_status_code=409)
    return model


def check_not_a_prompt(model_dct):
    if str(_raw_tags(model_dct).get(model_utils.PROMPT_TAG, "")).lower() == "true":
        raise MlflowExportImportException(f"Registered model '{model_dct['name']}' is a prompt: import it with the "
                                          "prompt commands", http_status_code=400)


def check_same_source(client, dst_vr, src_vr, model_name):
    """A version found by its lineage key ('<model>/<version>') must have been made from the same source run: two
    source servers can each have a version 1 of a model of the same name."""
    if not dst_vr.run_id or not src_vr.get("run_id"):
        return
    try:
        made_from = client.get_run(dst_vr.run_id).data.tags.get(ImportTags.SRC_RUN_ID)
    except MlflowException:
        return
    if made_from and made_from != src_vr["run_id"]:
        raise MlflowExportImportException(
            f"Version {dst_vr.version} of registered model '{model_name}' was imported from another source (run "
            f"'{made_from}', not '{src_vr['run_id']}'): import this export into another model name "
            "(--model-rename-file, --model) or replace the model (--delete-model)", http_status_code=409)


def _raw_tags(model_dct):
    tags = model_dct.get("tags") or []
    return tags if isinstance(tags, dict) else {t["key"]: t["value"] for t in tags}


def version_action(client, earlier, src_vr, model_name):
    """What an import does with a source version, given the version an earlier import made from it
    (imported_versions) or None: CREATE it; else, that version being made from the same source run (refused by
    check_same_source otherwise), SET_STAGE when that import stopped before setting its stage, else SKIP it."""
    if earlier is None:
        return CREATE
    check_same_source(client, earlier, src_vr, model_name)
    return SET_STAGE if stage_unset(client, earlier, src_vr) else SKIP


def stage_unset(client, dst_vr, src_vr):
    """Whether the destination version still lacks the source version's stage (or, in Unity Catalog, what the
    stage maps to)."""
    return registry_rules.stage_unset(client, dst_vr, src_vr)


def read_model_names(input_dir):
    path = os.path.join(input_dir, "models", MODELS_FILE)
    names = io_utils.read_file_mlflow(path).get("models")
    if not isinstance(names, list):
        raise MlflowExportImportException(f"Corrupt export file '{path}': 'mlflow.models' must list model names",
                                          http_status_code=400)
    return names


def plan_models(client, input_dir, delete_model, experiment_renames, model_renames, report):
    model_names = read_model_names(input_dir)
    plan_experiments(client, os.path.join(input_dir, "experiments"), experiment_renames, report)
    plan_exported_models(client, input_dir, model_names, delete_model, get_renames(model_renames), report)


def plan_exported_models(client, input_dir, model_names, delete_model, renames, report):
    """The versions of each named model exported under input_dir/models/, renamed by renames ({old: new})."""
    for src_name in model_names:
        try:
            model_dct = read_model(os.path.join(input_dir, "models", src_name))
            plan_model_versions(client, rename(src_name, renames, "model"), model_dct, delete_model, report)
        except Exception as ex:
            report.failed("models", src_name, describe_error(ex))


def plan_model(client, model_name, experiment_name, input_dir, delete_model, report):
    """import-model: the versions' runs (in input_dir/<run id>/), then the model and its versions."""
    model_dct = read_model(input_dir)
    check_importable(client, model_name, model_dct, delete_model)
    exp = client.get_experiment_by_name(experiment_name)
    existing = imported_runs(client, exp.experiment_id) if exp else {}
    for src_run_id in dict.fromkeys(v.get("run_id") for v in model_dct["versions"]):
        run_dir = os.path.join(input_dir, src_run_id or "")
        if src_run_id and os.path.exists(os.path.join(run_dir, "run.json")):
            plan_one_run(read_run(run_dir), existing.get(src_run_id), experiment_name, report)
    plan_model_versions(client, model_name, model_dct, delete_model, report)


def plan_model_versions(client, model_name, model_dct, delete_model, report):
    """The model is refused when it exists and was not made by an import of the same source model (unless
    delete_model); its versions already imported are skipped."""
    check_importable(client, model_name, model_dct, delete_model)
    exists = model_utils.model_exists(client, model_name)
    existing = imported_versions(client, model_name) if exists and not delete_model else {}
    for src_vr in model_dct["versions"]:
        key = src_version_key({**src_vr, "name": src_vr.get("name") or model_dct["name"]})
        action = version_action(client, existing.get(key), src_vr, model_name)
        if action == SET_STAGE:
            report.would("model_versions", key, f"set the stage of version {existing[key].version} of model "
                                                f"'{model_name}', which an earlier import left unset")
        elif action == SKIP:
            report.skipped("model_versions", key, f"already imported as version {existing[key].version}")
        else:
            report.would("model_versions", key, f"create version {src_vr['version']} of model '{model_name}'")
    if exists and not delete_model:
        report.skipped("models", model_dct["name"], MODEL_PRESENT)
    else:
        report.would("models", model_dct["name"],
                     f"{'replace' if exists else 'create'} registered model '{model_name}'")
