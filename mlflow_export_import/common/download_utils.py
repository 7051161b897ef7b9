"""Download the files behind any model or artifact URI with a given client (MLflow's own resolution of runs:/ and
models:/ asks the global tracking and registry URIs)."""
import os
import re
import tempfile

import mlflow

from mlflow_export_import.client import scope
from mlflow_export_import.common import MlflowExportImportException


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
