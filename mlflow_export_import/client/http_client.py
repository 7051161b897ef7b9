"""The reference API's REST clients: `HttpClient(api_name, host=None, token=None)` with get/post/put/patch/delete
returning the parsed JSON answer (and _get/_post/... the raw response), `DatabricksHttpClient` (api/2.0) and
`MlflowHttpClient` (api/2.0/mlflow). They are client/rest_client.py's RestClient (the tool's credentials and
retries) under the reference's names.

`host` may be a tracking URI (`databricks://PROFILE`, `databricks-uc://PROFILE`, `http://...`), an http(s) URL
with `token`, or a bare Databricks profile name, as the reference accepts; None takes $MLFLOW_TRACKING_URI (else
MLflow's default). `workspace_client` is the databricks-sdk client of the same workspace."""
import os

from mlflow_export_import.client import uris
from mlflow_export_import.client.rest_client import RestClient
from mlflow_export_import.common.io_utils import redact_uri


class HttpClient(RestClient):
    def __init__(self, api_name, host=None, token=None):
        super().__init__(_uri_of(host), api_name.strip("/"), token)
        self.api_name = api_name.strip("/")

    def __repr__(self):
        return f"{type(self).__name__}({redact_uri(self.uri)!r})"


class DatabricksHttpClient(HttpClient):
    def __init__(self, host=None, token=None):
        super().__init__("api/2.0", host, token)


class MlflowHttpClient(HttpClient):
    def __init__(self, host=None, token=None):
        super().__init__("api/2.0/mlflow", host, token)


def _uri_of(host):
    if host is None:
        import mlflow
        return os.environ.get("MLFLOW_TRACKING_URI") or mlflow.get_tracking_uri()
    host = str(host)
    if "://" in host or host.startswith("arn:") or host in (uris.DATABRICKS, uris.DATABRICKS_UC):
        return host
    return f"{uris.DATABRICKS}://{host}"  # a bare name is a Databricks profile, as in the reference
