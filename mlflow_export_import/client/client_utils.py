"""MLflow clients are always explicit: nothing here reads the global tracking URI except to take MLflow's own
default when no URI is given; platform settings are scoped per side (client/scope.py)."""
import importlib.util
import os

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.tracking._tracking_service.utils import is_tracking_uri_set
from mlflow.utils.rest_utils import http_request

from mlflow_export_import.client import databricks, scope, uris
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.logging_utils import get_logger

_logger = get_logger(__name__)


def create_mlflow_client(tracking_uri=None, registry_uri=None):
    """A client for `tracking_uri` (default: $MLFLOW_TRACKING_URI or MLflow's default store) and `registry_uri`
    (default: $MLFLOW_REGISTRY_URI or the tracking URI). A `databricks-uc[://PROFILE]` URI names the Unity
    Catalog registry of the `databricks[://PROFILE]` workspace. URIs are checked before any request (bad
    shape, missing Databricks profile, SageMaker plugin missing). Databricks and SageMaker clients run each
    call in their side's scope (see client/scope.py)."""
    if tracking_uri is None and registry_uri is not None:
        tracking_uri = uris.tracking_uri_of_registry(registry_uri)
    if tracking_uri is not None and uris.parse(tracking_uri).kind == uris.DATABRICKS_UC:
        registry_uri = registry_uri or tracking_uri
        tracking_uri = uris.tracking_uri_of_registry(tracking_uri)
    tracking_uri = resolve_tracking_uri(tracking_uri)
    registry_uri = registry_uri or os.environ.get("MLFLOW_REGISTRY_URI") or tracking_uri
    _check_uris(tracking_uri, registry_uri)
    try:
        with scope.side_scope(_Uris(tracking_uri, registry_uri)):
            client = MlflowClient(tracking_uri, registry_uri=registry_uri)
    except MlflowException as ex:  # MLflow's message may not name the URI (describe_error redacts it)
        raise MlflowExportImportException(
            ex, f"Cannot use the MLflow tracking URI '{redact_uri(tracking_uri)}' (registry "
            f"'{redact_uri(registry_uri)}'): {describe_error(ex)}", http_status_code=400)
    return scope.scoped_client(client)


def create_http_client(mlflow_client, model_name=None):
    """A REST client (client/rest_client.py) for the MLflow API of the client's tracking server; for a Unity
    Catalog model name on Databricks, the Unity Catalog flavour of that API."""
    from mlflow_export_import.client.rest_client import RestClient
    uri = mlflow_client.tracking_uri
    api = "mlflow"
    if model_name and len(model_name.split(".")) == 3 and uris.parse(uri).is_databricks:
        api = "api/2.0/mlflow/unity-catalog"
    return RestClient(uri, api)


def create_dbx_client(mlflow_client):
    """A REST client for the Databricks API (`<host>/api/2.0`) of the client's server, or None when the client
    talks to a local store (sqlite:, file:), which has no host."""
    from mlflow_export_import.client.rest_client import RestClient
    uri = str(mlflow_client.tracking_uri)
    if not (uris.parse(uri).is_databricks or uri.startswith(("http://", "https://", "arn:"))):
        return None
    return RestClient(uri, "databricks")


def use_client(mlflow_client=None):
    """The client a Python caller passed (a notebook's own MlflowClient), made to run each call in its side's
    scope as ours do, or one for $MLFLOW_TRACKING_URI."""
    if mlflow_client is None:
        return create_mlflow_client()
    return scope.scoped_client(mlflow_client)


class _Uris:
    def __init__(self, tracking_uri, registry_uri):
        self.tracking_uri, self._registry_uri = tracking_uri, registry_uri


def resolve_tracking_uri(tracking_uri=None):
    """tracking_uri, else $MLFLOW_TRACKING_URI or the global URI, else MLflow's default store, which is named in
    a warning rather than created unannounced (./mlflow.db)."""
    if tracking_uri:
        return tracking_uri
    if not is_tracking_uri_set():
        _logger.warning(f"MLFLOW_TRACKING_URI is not set: using MLflow's default store "
                        f"{describe_store(mlflow.get_tracking_uri())}")
    return os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()


DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def sqlite_path(uri):
    """The file of a sqlite:/// store URI, else None."""
    uri = str(uri or "")
    return uri[len("sqlite:///"):] or None if uri.startswith("sqlite:///") else None


def describe_store(uri):
    """'sqlite:///mlflow.db (a new file: /abs/mlflow.db)': the URI and, for a local file, where it is."""
    path = sqlite_path(uri)
    if path is None:
        return redact_uri(uri)
    return f"{uri} ({'' if os.path.exists(path) else 'a new file: '}{os.path.abspath(path)})"


def _check_database_store(uri):
    """mlflow-skinny cannot open a database store, and MLflow then says only that the URI is unsupported."""
    scheme = str(uri).split(":", 1)[0].split("+", 1)[0]
    if scheme in DATABASE_SCHEMES and importlib.util.find_spec("sqlalchemy") is None:
        raise MlflowExportImportException(
            f"'{redact_uri(uri)}' is a database store, which needs the full mlflow package (this install has only "
            "mlflow-skinny): pip install 'mlflow-export-import[full]' (in a checkout: .venv/bin/pip install -e "
            "'.[full]'), or point MLFLOW_TRACKING_URI at an MLflow server", http_status_code=400)


def _check_uris(tracking_uri, registry_uri):
    for uri in (tracking_uri, registry_uri):
        _check_database_store(uri)
    tracking, registry = uris.parse(tracking_uri), uris.parse(registry_uri)
    if tracking.kind == uris.UC_OSS:
        raise MlflowExportImportException(
            f"'{tracking_uri}' is an open-source Unity Catalog registry, not a tracking server: give it as the "
            "registry URI and the MLflow server that holds the runs as the tracking URI", http_status_code=400)
    for target in (tracking, registry):
        uris.check_databricks_profile(target)
        uris.check_sagemaker_plugin(target)
        if uris.env_credentials_shadow_profile(target) and target.uri not in _warned:
            _warned.add(target.uri)
            _logger.warning(f"DATABRICKS_HOST/DATABRICKS_TOKEN are set and override the host and token of profile "
                            f"'{target.profile}' named by '{target.uri}': unset them to use the profile")


_warned = set()


def check_server(mlflow_client):
    """Fail fast, with one clear line, when a tracking server cannot be reached or refuses us, instead of
    letting every later call retry for minutes."""
    uri = mlflow_client.tracking_uri
    target = uris.parse(uri)
    if target.is_databricks and (target.profile is None or ":" not in target.profile):
        databricks.check_workspace(target)
    elif str(uri).startswith(("http://", "https://", "databricks")) or target.kind == uris.SAGEMAKER:
        with scope.side_scope(mlflow_client):
            _check_mlflow_server(mlflow_client, uri)
    registry = getattr(mlflow_client, "_registry_uri", None)
    if registry and uris.parse(registry).kind == uris.UC_OSS:
        check_uc_oss_server(registry)


def _check_mlflow_server(mlflow_client, uri):
    try:
        host_creds = mlflow_client._tracking_client.store.get_host_creds()
        resp = http_request(host_creds, "/api/2.0/mlflow/experiments/search", "GET",
                            params={"max_results": 1}, max_retries=3, backoff_factor=1, timeout=15)
    except Exception as ex:
        raise MlflowExportImportException(
            ex, f"Cannot reach the MLflow tracking server at {redact_uri(uri)}: {_short(ex)}", http_status_code=503)
    if resp.status_code in (401, 403):
        raise MlflowExportImportException(
            f"Not authorized by the MLflow tracking server at {redact_uri(uri)} (HTTP {resp.status_code}): "
            "check MLFLOW_TRACKING_USERNAME/PASSWORD or MLFLOW_TRACKING_TOKEN", http_status_code=resp.status_code)
    if resp.status_code == 404:
        raise MlflowExportImportException(
            f"{redact_uri(uri)} does not answer as an MLflow tracking server (HTTP 404 on the REST API)",
            http_status_code=404)
    if resp.status_code >= 500:
        raise MlflowExportImportException(
            f"The MLflow tracking server at {redact_uri(uri)} answers HTTP {resp.status_code}", http_status_code=503)
    if not _is_json(resp):
        raise MlflowExportImportException(
            f"{redact_uri(uri)} does not answer as an MLflow tracking server (HTTP {resp.status_code} without JSON "
            "on the REST API)", http_status_code=502)


def check_uc_oss_server(registry_uri):
    """An open-source Unity Catalog server answers its models API."""
    import requests
    base = registry_uri[len("uc:"):].rstrip("/")
    try:
        resp = requests.get(f"{base}/api/2.1/unity-catalog/models", params={"max_results": 1}, timeout=15)
    except requests.RequestException as ex:
        raise MlflowExportImportException(
            ex, f"Cannot reach the Unity Catalog server at {redact_uri(base)}: {_short(ex)}", http_status_code=503)
    if resp.status_code >= 500 or not _is_json(resp):
        raise MlflowExportImportException(
            f"{redact_uri(base)} does not answer as a Unity Catalog server (HTTP {resp.status_code} on "
            "/api/2.1/unity-catalog/models)", http_status_code=502)


def _is_json(resp):
    try:
        resp.json()
        return True
    except ValueError:
        return False


def _short(ex):
    text = str(ex).splitlines()[0] if str(ex) else type(ex).__name__
    if "Connection refused" in str(ex) or "NewConnectionError" in str(ex):
        return "connection refused"
    if "Max retries exceeded" in text or "Failed to resolve" in str(ex):
        return "the host does not answer"
    return text[:200]


WRITE_PREFIXES = ("create_", "log_", "set_", "delete_", "update_", "restore_", "rename_", "transition_",
                  "finalize_", "register_", "link_", "upsert_", "start_", "end_", "copy_")


class ReadOnlyClient:
    """An MlflowClient for --dry-run: it answers every read and refuses every write."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        if name.startswith(WRITE_PREFIXES):
            raise MlflowExportImportException(f"dry run: '{name}' would write to the destination",
                                              http_status_code=500)
        return getattr(self._client, name)
