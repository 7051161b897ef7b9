"""Registered models and versions: the export dict shapes (export-format §4.7), creation, deletion, listing."""
from mlflow.exceptions import MlflowException

from mlflow_export_import.common import MlflowExportImportException, describe_error, is_already_there, is_not_found
from mlflow_export_import.common.iterators import SearchModelVersionsIterator
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.timestamp_utils import adjust_timestamps
from mlflow_export_import.common.utils import strip_underscores

PROMPT_TAG = "mlflow.prompt.is_prompt"

_logger = get_logger(__name__)


def is_unity_catalog_model(name):
    return len(name.split(".")) == 3


def model_names_same_registry(name1, name2):
    return is_unity_catalog_model(name1) == is_unity_catalog_model(name2)


def quote(name):
    """A name inside a single-quoted search filter."""
    return name.replace("\\", "\\\\").replace("'", "\\'")


def get_registered_model(mlflow_client, model_name, get_permissions=False):
    """The registered model in the REST shape of `registered-models/get` (tags and aliases as lists),
    without latest_versions; a clear error if it does not exist."""
    try:
        model = mlflow_client.get_registered_model(model_name)
    except MlflowException as ex:
        if is_not_found(ex):
            raise MlflowExportImportException(
                ex, f"Registered model '{model_name}' not found in {mlflow_client.tracking_uri}",
                http_status_code=404)
        raise
    return registered_model_to_dict(model)


def registered_model_to_dict(model):
    dct = {
        "name": model.name,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "description": model.description or "",
        "tags": [{"key": k, "value": v} for k, v in (model.tags or {}).items()],
        "aliases": [{"alias": a, "version": str(v)} for a, v in (model.aliases or {}).items()],
    }
    adjust_timestamps(dct, ["creation_timestamp", "last_updated_timestamp"])
    return dct


def model_version_to_dict(version):
    dct = strip_underscores(version)
    if "creation_time" in dct:
        dct["creation_timestamp"] = dct.pop("creation_time")
    dct["tags"] = dict(version.tags or {})
    dct["aliases"] = list(version.aliases or [])
    dct = {k: (v if v is None or isinstance(v, (str, int, float, bool, list, dict)) else str(v))
           for k, v in dct.items()}
    adjust_timestamps(dct, ["creation_timestamp", "last_updated_timestamp"])
    return dct


def list_model_versions(client, model_name, get_latest_versions=False):
    """Every version of the model (or only the latest per stage), in numeric order."""
    if get_latest_versions:
        versions = client.get_latest_versions(model_name)
    else:
        versions = search_model_versions(client, f"name='{quote(model_name)}'")
    return sorted(versions, key=lambda v: int(v.version))


def search_model_versions(client, filter):
    """The versions the filter selects, complete: Unity Catalog's search answers lack tags and aliases (which the
    lineage and resume checks read), so there each version is read again."""
    from mlflow_export_import.client import uris
    versions = list(SearchModelVersionsIterator(client, filter=filter))
    if uris.registry_kind(uris.registry_uri_of(client)) != "unity_catalog":
        return versions
    return [client.get_model_version(vr.name, vr.version) for vr in versions]


def create_model(client, model_name, model_dct, import_metadata=True):
    """Create the model with the exported description and tags. True if created, False if it existed."""
    try:
        if import_metadata:
            client.create_registered_model(model_name, tags=model_tags(model_dct),
                                           description=model_dct.get("description") or None)
        else:
            client.create_registered_model(model_name)
        return True
    except MlflowException as ex:
        if is_already_there(ex):
            return False
        raise


def model_tags(model_dct):
    """Tags of an exported model dict: list (REST shape) or dict; the prompt marker is never copied."""
    tags = model_dct.get("tags") or []
    tags = tags if isinstance(tags, dict) else {t["key"]: t["value"] for t in tags}
    return {k: v for k, v in tags.items() if k != PROMPT_TAG}


def model_aliases(model_dct):
    aliases = model_dct.get("aliases") or []
    return aliases if isinstance(aliases, dict) else {a["alias"]: str(a["version"]) for a in aliases}


def model_exists(client, model_name):
    return find_registered_model(client, model_name) is not None


def find_registered_model(client, model_name):
    """The destination RegisteredModel of that name, or None."""
    try:
        return client.get_registered_model(model_name)
    except MlflowException as ex:
        if is_not_found(ex):
            return None
        raise


def delete_model(client, model_name, sleep_time=5):
    """Delete the model and all its versions. No sleeps: a version in any stage can be deleted directly (the
    reference archives each version first and sleeps sleep_time seconds after each). `sleep_time` is accepted
    for compatibility and ignored."""
    if not model_exists(client, model_name):
        return
    for vr in search_model_versions(client, f"name='{quote(model_name)}'"):
        client.delete_model_version(model_name, vr.version)
    client.delete_registered_model(model_name)


def delete_model_quietly(client, model_name):
    try:
        delete_model(client, model_name)
    except Exception as ex:
        _logger.warning(f"Could not remove the half-made model '{model_name}': {describe_error(ex)}")


def export_version_model(client, version, output_dir):
    """Download the registry's copy of the version's files into output_dir. Returns "models:/<name>/<version>".
    Resolved through the client: MLflow's models:/ artifact repository would ask the global registry."""
    from mlflow_export_import.common.download_utils import download_artifacts
    download_artifacts(client, client.get_model_version_download_uri(version.name, version.version), output_dir)
    return f"models:/{version.name}/{version.version}"


# ---- reference API: permissions, platform checks and display helpers

def update_model_permissions(mlflow_client, dbx_client, model_name, perms):
    """Apply exported permissions to a destination model: Unity Catalog grants for a three-level name, else the
    workspace Permissions API (common/uc_permissions_utils.py, common/ws_permissions_utils.py). Returns their
    per-principal outcomes."""
    if not perms:
        return []
    if is_unity_catalog_model(model_name):
        from mlflow_export_import.common import uc_permissions_utils
        return uc_permissions_utils.update_permissions(mlflow_client, model_name, perms)
    from mlflow_export_import.common import ws_permissions_utils
    model_id = _databricks_model_id(dbx_client, model_name)
    return ws_permissions_utils.update_permissions(dbx_client, perms, "registered-model", model_name, model_id)


def _databricks_model_id(dbx_client, model_name):
    """The workspace registry's internal id of a model (the Permissions API names models by it)."""
    resp = dbx_client.get("mlflow/databricks/registered-models/get", {"name": model_name})
    return resp["registered_model_databricks"]["id"]


def _is_sagemaker(mlflow_client):
    """Whether the client talks to a SageMaker MLflow server (an ARN URI, or a SageMaker host)."""
    from mlflow_export_import.client import uris
    uri = str(mlflow_client.tracking_uri)
    try:
        if uris.parse(uri).kind == uris.SAGEMAKER:
            return True
    except MlflowExportImportException:
        return False
    return "experiments.sagemaker" in uri


def show_versions(model_name, versions, title=None):
    """Print a table of versions (ModelVersion entities or exported version dicts)."""
    from mlflow_export_import.common.utils import show_table
    rows = [_version_row(vr) for vr in versions]
    show_table(title or f"Versions of registered model '{model_name}'", rows,
               ["version", "current_stage", "aliases", "status", "run_id", "source"])


def _version_row(vr):
    dct = vr if isinstance(vr, dict) else model_version_to_dict(vr)
    return [dct.get("version"), dct.get("current_stage"), ",".join(dct.get("aliases") or []), dct.get("status"),
            dct.get("run_id"), dct.get("source")]


def dump_model_version(version, title=None):
    from mlflow_export_import.common.dump_utils import dump_as_json
    dump_as_json(version if isinstance(version, dict) else model_version_to_dict(version), title)


def dump_model_versions(versions, title=None):
    from mlflow_export_import.common.dump_utils import dump_as_json
    dump_as_json([v if isinstance(v, dict) else model_version_to_dict(v) for v in versions], title)
