"""Download the files behind any model or artifact URI with a given client (MLflow's own resolution of runs:/ and
models:/ asks the global tracking and registry URIs)."""
import os
import re
import tempfile

import mlflow
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.uri import add_databricks_profile_info_to_artifact_uri

from mlflow_export_import.client import scope
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.parallel import map_bounded


def download_artifacts(client, download_uri, dst_path=None, fix=True):
    """Download `runs:/<run>/<path>`, `models:/<name>/<version|stage>`, `models:/<name>@<alias>`,
    `models:/<logged model id>` or an artifact URI into dst_path (None: a new temporary folder); returns the
    local path. fix=True resolves runs:/ and models:/ through `client` (MLflow's own resolution asks the
    global registry); fix=False hands the URI to MLflow with the client's URIs made global for the call."""
    dst_path = dst_path or tempfile.mkdtemp(prefix="mlflow-export-import-")
    os.makedirs(dst_path, exist_ok=True)
    if not fix:
        with scope.global_uris_scope(client):
            return mlflow.artifacts.download_artifacts(artifact_uri=download_uri, dst_path=dst_path)
    if download_uri.startswith("runs:/"):
        run_id, _, path = download_uri[len("runs:/"):].partition("/")
        return client.download_artifacts(run_id, path, dst_path)
    if download_uri.startswith("models:/"):
        return download_artifacts(client, _model_artifact_uri(client, download_uri), dst_path)
    with scope.side_scope(client):
        return mlflow.artifacts.download_artifacts(artifact_uri=download_uri, dst_path=dst_path,
                                                   tracking_uri=client.tracking_uri)


def _model_artifact_uri(client, models_uri):
    """Where the files of a models:/ URI are, as the client's registry and tracking server say."""
    rest = models_uri[len("models:/"):].strip("/")
    name, _, version = rest.partition("/")
    if not version and re.fullmatch(r"m-[0-9a-f]{32}", name):
        return client.get_logged_model(name).artifact_location
    if not version and "@" in name:
        name, alias = name.split("@", 1)
        version = client.get_model_version_by_alias(name, alias).version
    elif not version.isdigit():
        latest = client.get_latest_versions(name, [version] if version else None)
        if not latest:
            raise MlflowExportImportException(f"No version of model '{name}' in stage '{version}'",
                                              http_status_code=404)
        version = max(latest, key=lambda v: int(v.version)).version
    return client.get_model_version_download_uri(name, version)


def run_artifact_repo(client, artifact_uri):
    """The artifact repository of a run whose artifact URI is known (MLflow's own lookup by run id asks the server
    for the run again). Use it inside the client's side scope (download_tree does)."""
    uri = add_databricks_profile_info_to_artifact_uri(artifact_uri, client.tracking_uri)
    with scope.side_scope(client):
        return get_artifact_repository(uri, tracking_uri=client.tracking_uri)


def download_tree(client, repo, dst_dir):
    """Download every file of the repository into dst_dir (which exists), listing each folder once; empty folders
    are made too (MLflow's download_artifacts("") lists the root twice). The client's side scope is held
    throughout, as the repository's download threads need it. Returns the number of files."""
    with scope.side_scope(client):
        return _download_tree(repo, dst_dir)


def _download_tree(repo, dst_dir):
    files = []
    for info in repo._iter_artifacts_recursive(""):
        if info.is_dir:  # an empty folder
            local = os.path.abspath(os.path.join(dst_dir, info.path))
            if not local.startswith(os.path.abspath(dst_dir)):
                raise MlflowExportImportException(f"Artifact folder '{info.path}' is outside the artifact root",
                                                  http_status_code=400)
            os.makedirs(local, exist_ok=True)
            continue
        local = repo._create_download_destination(src_artifact_path=info.path, dst_local_dir_path=dst_dir)
        files.append((info.path, local))
    # in the command's pool (common/parallel.py), not the repository's own threads: those came on top of the
    # runs exported at once (4 per run), and lingered until the repository was garbage-collected
    for _, _, ex in map_bounded(lambda f: repo._download_file(remote_file_path=f[0], local_path=f[1]), files):
        if ex is not None:
            raise ex
    return len(files)
