"""Model version sources: where a version's files are in the destination once its run (or logged model)
has been imported. The import marker that lets a re-run skip versions already imported is in model/plan.py."""
import os
import posixpath

from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.uri import add_databricks_profile_info_to_artifact_uri

from mlflow_export_import.client.scope import side_scope
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.source_tags import ExportTags
from mlflow_export_import.logged_model.export_logged_model import LOGGED_MODEL_FILE
from mlflow_export_import.logged_model.import_logged_model import (
    LoggedModelImporter, imported_logged_models, link_runs_to_models, record_failure)
# _extract_model_id: reference API of this module; SRC_VERSION_TAG: importable from here as before
from mlflow_export_import.model.plan import SRC_VERSION_TAG, _extract_model_id, logged_model_id_of  # noqa: F401

SRC_MODEL_ID_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_model_id"


def _get_logged_model_artifact_path(model_id, mlflow_client=None):
    """Where the logged model's files are (its artifact_location), asked of mlflow_client (default: a client for
    $MLFLOW_TRACKING_URI; the reference always uses the default client)."""
    from mlflow_export_import.client.client_utils import use_client
    client = use_client(mlflow_client)
    return client.get_logged_model(model_id).artifact_location


def _extract_model_path(source, run_id, run_artifact_uri=None):
    """The path of the version's files inside its run's artifacts: after `runs:/<run_id>/`, after the run's
    artifact URI, or after `<run_id>/artifacts/`. '' for the artifact root."""
    runs_prefix = f"runs:/{run_id}"
    if source == runs_prefix or source.startswith(runs_prefix + "/"):
        return source[len(runs_prefix):].strip("/")
    stripped = _strip_file_scheme(source)
    if run_artifact_uri:
        root = _strip_file_scheme(run_artifact_uri).rstrip("/")
        if stripped == root or stripped.startswith(root + "/"):
            return stripped[len(root):].strip("/")
    marker = f"/{run_id}/artifacts"
    idx = stripped.find(marker)
    if idx >= 0 and (len(stripped) == idx + len(marker) or stripped[idx + len(marker)] == "/"):
        return stripped[idx + len(marker):].strip("/")
    if stripped.rstrip("/").endswith(f"/{run_id}"):
        return ""
    raise MlflowExportImportException(
        f"Version source '{source}' is not inside the artifacts of its run '{run_id}'", http_status_code=404)


def _is_relative_path(source):
    return ":" not in source and not source.startswith("/")


def _strip_file_scheme(uri):
    return uri[len("file://"):] if uri.startswith("file://") else uri


def _path_join(x, y):
    path = posixpath.join(x, y) if y else x
    return path.replace("\\", "/") if path.startswith("dbfs:") else path


def resolve_source(client, src_vr, dst_run_info, src_run_artifact_uri=None, id_map=None):
    """(destination source, destination logged model id or None) for the exported version src_vr, whose
    run was imported as dst_run_info. The source keeps its style: runs:/, an artifact URI of any scheme,
    or models:/<logged model id>."""
    source = src_vr.get("source") or ""
    src_model_id = logged_model_id_of(src_vr)
    if src_model_id and source.startswith("models:/"):
        dst_id = (id_map.get(id_maps.LOGGED_MODELS, src_model_id) if id_map is not None else None) or \
            find_dst_logged_model(client, src_model_id, dst_run_info).model_id  # the id is all a models:/ needs
        return f"models:/{dst_id}" + source[len("models:/") + len(src_model_id):], dst_id
    if src_model_id:
        dst_model = find_dst_logged_model(client, src_model_id, dst_run_info, id_map)
        rest = source.split(src_model_id, 1)[1]
        rest = rest[len("/artifacts"):] if rest.startswith("/artifacts") else rest
        return dst_model.artifact_location.rstrip("/") + rest, dst_model.model_id
    if dst_run_info is None:
        raise MlflowExportImportException(
            f"Version {src_vr.get('version')} of '{src_vr.get('name')}': its run '{src_vr.get('run_id')}' was not "
            "imported", http_status_code=404)
    src_run_id = src_vr.get("run_id")
    if source.startswith("runs:/"):
        return f"runs:/{dst_run_info.run_id}" + source[len("runs:/") + len(source[6:].split("/")[0]):], None
    if _is_relative_path(source):  # export-model-version --vrm-model-artifact-path
        return _path_join(dst_run_info.artifact_uri, source.strip("/")), None
    path = _extract_model_path(source, src_run_id, src_run_artifact_uri or src_vr.get("_run_artifact_uri"))
    return _path_join(dst_run_info.artifact_uri, path), None


def find_dst_logged_model(client, src_model_id, dst_run_info=None, id_map=None):
    """The destination copy of a source logged model: from the IdMap, else by the import marker tag in the
    destination run's experiment."""
    dst_id = id_map.get(id_maps.LOGGED_MODELS, src_model_id) if id_map is not None else None
    if dst_id:
        return client.get_logged_model(dst_id)
    if dst_run_info is not None:
        found = client.search_logged_models(
            [dst_run_info.experiment_id], filter_string=f"tags.`{SRC_MODEL_ID_TAG}` = '{src_model_id}'",
            max_results=10)
        if found:
            return found[0]
    raise MlflowExportImportException(
        f"Logged model '{src_model_id}' has no imported copy in the destination"
        + (f" experiment '{dst_run_info.experiment_id}'" if dst_run_info is not None else "")
        + ": import the experiment with its logged models first", http_status_code=404)


def check_version_source(client, src_vr, dst_source, dst_run_id, artifact_uri=None):
    """The destination source must hold files: a version pointing at nothing is refused with one message.
    artifact_uri: the destination run's, when the caller has its RunInfo (else the run is read)."""
    if dst_source.startswith("models:/"):
        return
    artifact_uri = artifact_uri or client.get_run(dst_run_id).info.artifact_uri
    if dst_source.startswith("runs:/"):
        path = dst_source[len("runs:/"):].split("/", 1)[1] if "/" in dst_source[len("runs:/"):] else ""
    else:
        root = artifact_uri.rstrip("/")
        path = dst_source[len(root):].strip("/") if dst_source.startswith(root) else None
    if path is None or _artifact_exists(client, artifact_uri, path.strip("/")):
        return
    raise MlflowExportImportException(
        f"Version {src_vr.get('version')} of '{src_vr.get('name')}': its files '{path}' (source "
        f"'{src_vr.get('source')}') are not in the imported run '{dst_run_id}'", http_status_code=404)


def _artifact_exists(client, artifact_uri, path):
    if not path:
        return bool(_list_artifacts(client, artifact_uri, None))
    parent, name = posixpath.split(path)
    return any(posixpath.basename(f.path) == name for f in _list_artifacts(client, artifact_uri, parent or None))


def _list_artifacts(client, artifact_uri, path):
    """As MlflowClient.list_artifacts, without the get_run it makes to learn the run's artifact_uri."""
    with side_scope(client):
        uri = add_databricks_profile_info_to_artifact_uri(artifact_uri, client.tracking_uri)
        return get_artifact_repository(uri, tracking_uri=client.tracking_uri).list_artifacts(path)


def import_version_logged_models(client, input_dir, versions, experiment_id, runs, new_run_dirs, report, id_map):
    """The logged models of MLflow 3 versions, exported as <input_dir>/<model id>/ (export-model-version of the
    reference: <input_dir>/<run id>/), into the experiment of the versions' runs; new runs are linked to them."""
    run_id_map = {src: info.run_id for src, info in runs.items()}
    importer = LoggedModelImporter(client, report=report, id_map=id_map)
    existing = None
    for src_vr in versions:
        model_id = logged_model_id_of(src_vr)
        candidates = [os.path.join(input_dir, model_id or ""), os.path.join(input_dir, src_vr.get("run_id") or "")]
        lm_dir = next((d for d in candidates if model_id and os.path.exists(os.path.join(d, LOGGED_MODEL_FILE))), None)
        if lm_dir is None:
            continue
        existing = existing if existing is not None else imported_logged_models(client, experiment_id)
        try:
            importer.import_model(experiment_id, lm_dir, run_id_map, existing)
        except Exception as ex:
            record_failure(client, report, lm_dir, ex)
    if new_run_dirs:
        link_runs_to_models(client, new_run_dirs, run_id_map, id_map.items(id_maps.LOGGED_MODELS), report)
