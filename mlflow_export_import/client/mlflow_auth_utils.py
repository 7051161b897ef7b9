"""Host and token of the tracking server (reference API)."""
import mlflow

from mlflow_export_import.client import databricks, uris


def get_mlflow_host_token(tracking_uri=None):
    """(host, token) of the tracking server: for `databricks` / `databricks://PROFILE` (or `databricks-uc...`) the
    workspace host and token of the profile's Databricks credentials; for any other URI (uri, None). tracking_uri
    defaults to MLflow's tracking URI ($MLFLOW_TRACKING_URI)."""
    uri = tracking_uri or mlflow.get_tracking_uri()
    target = uris.parse(uri)
    if target.kind == uris.DATABRICKS_UC:
        target = uris.parse(uris.tracking_uri_of_registry(uri))
    if not target.is_databricks:
        return uri, None
    return databricks_host_token(target)


def databricks_host_token(target):
    """(host, token) of a Databricks target's credentials; the token of an OAuth login is its current bearer."""
    config = databricks.sdk_config(target)
    token = config.token
    if not token:
        auth = config.authenticate().get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else None
    return config.host, token
