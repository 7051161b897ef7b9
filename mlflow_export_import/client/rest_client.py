"""A small authenticated client for any REST endpoint of an MLflow tracking server or a Databricks workspace.

Credentials are those of the rest of the tool: for Databricks URIs (`databricks`, `databricks://PROFILE`,
`databricks-uc...`) the Databricks SDK config of the profile (client/databricks.py), for other servers MLflow's
host credentials (MLFLOW_TRACKING_USERNAME/PASSWORD, MLFLOW_TRACKING_TOKEN, the SageMaker plugin's signing).
Requests go through MLflow's http_request, so 429, 5xx and connection errors are retried with backoff
(MLFLOW_HTTP_REQUEST_MAX_RETRIES, MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR). The console script is in
tools/http_client_cli.py."""
import os
from contextlib import nullcontext

from mlflow.utils.rest_utils import MlflowHostCreds, http_request

from mlflow_export_import.client import databricks, scope, uris
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.io_utils import redact_uri

# --api names and the base path they stand for; any other value is taken as a base path itself ("api/2.1").
API_PATHS = {"mlflow": "api/2.0/mlflow", "databricks": "api/2.0"}
TIMEOUT_SECONDS = 120


class RestClient:
    """REST calls to one API of one server. `uri`: a tracking URI (default $MLFLOW_TRACKING_URI), or an http(s)
    host given with an explicit `token`. get/post/put/patch/delete return the parsed JSON answer ({} for an
    empty one); an error answer raises MlflowExportImportException naming the URL and the server's answer."""

    def __init__(self, uri=None, api="mlflow", token=None):
        uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
        if not uri:
            raise MlflowExportImportException("No server: give a tracking URI or set MLFLOW_TRACKING_URI",
                                              http_status_code=400)
        target = uris.parse(uri)
        if target.kind == uris.DATABRICKS_UC:
            target = uris.parse(uris.tracking_uri_of_registry(uri))
        if not target.is_databricks and not token and not uri.startswith(("http://", "https://", "arn:")):
            raise MlflowExportImportException(f"'{redact_uri(uri)}' is not a server with a REST API",
                                              http_status_code=400)
        self.uri, self.target, self.token = uri, target, token
        self.base = API_PATHS.get(api, api).strip("/")
        self._mlflow_client = None

    @property
    def is_databricks(self):
        return self.target.is_databricks

    @property
    def tracking_uri(self):
        return self.target.uri

    @property
    def _registry_uri(self):
        return self.target.uri

    @property
    def workspace_client(self):
        """The databricks-sdk WorkspaceClient of the same workspace and credentials (None: not Databricks), for
        the modules that work through the SDK (common/ws_permissions_utils.py)."""
        return databricks.workspace_client(self.target) if self.is_databricks else None

    def _credentials(self):
        """(MlflowHostCreds, extra headers) for one request; Databricks tokens (OAuth) are refreshed per call."""
        if self.token:
            return MlflowHostCreds(self.uri, token=self.token), None
        if self.is_databricks:
            config = databricks.sdk_config(self.target)
            return MlflowHostCreds(config.host), config.authenticate()
        return self._client()._tracking_client.store.get_host_creds(), None

    def _client(self):
        if self._mlflow_client is None:
            from mlflow import MlflowClient
            uris.check_sagemaker_plugin(self.target)
            with self._scope():
                self._mlflow_client = MlflowClient(self.uri)
        return self._mlflow_client

    def _scope(self):
        """The SageMaker plugin signs for MLflow's global tracking URI: set it to this server's for the call."""
        return scope.side_scope(self) if self.target.kind == uris.SAGEMAKER else nullcontext()

    def url(self, resource):
        return f"/{self.base}/{resource.lstrip('/')}"

    def _request(self, method, resource, params=None, data=None):
        """The raw requests.Response (any status)."""
        with self._scope():
            creds, headers = self._credentials()
            kwargs = {"params": params} if method in ("GET", "DELETE") else {"json": data or {}}
            if method == "DELETE" and data:
                kwargs["json"] = data
            return http_request(creds, self.url(resource), method, extra_headers=headers, timeout=TIMEOUT_SECONDS,
                                raise_on_status=False, **kwargs)

    def _call(self, method, resource, params=None, data=None):
        resp = self._request(method, resource, params, data)
        if not 200 <= resp.status_code < 300:
            body = _body(resp)
            raise MlflowExportImportException(
                f"HTTP {resp.status_code} from {method} {redact_uri(resp.url or self.url(resource))}{_reason(body)}",
                http_status_code=resp.status_code, uri=redact_uri(resp.url), params=params, response=body)
        return _body(resp) if resp.content else {}

    def get(self, resource, params=None):
        return self._call("GET", resource, params=params)

    def post(self, resource, data=None):
        return self._call("POST", resource, data=data)

    def put(self, resource, data=None):
        return self._call("PUT", resource, data=data)

    def patch(self, resource, data=None):
        return self._call("PATCH", resource, data=data)

    def delete(self, resource, params=None):
        return self._call("DELETE", resource, params=params)

    # raw responses, as the reference's HttpClient has them
    def _get(self, resource, params=None):
        return self._request("GET", resource, params=params)

    def _post(self, resource, data=None):
        return self._request("POST", resource, data=data)

    def _put(self, resource, data=None):
        return self._request("PUT", resource, data=data)

    def _patch(self, resource, data=None):
        return self._request("PATCH", resource, data=data)

    def _delete(self, resource, params=None):
        return self._request("DELETE", resource, params=params)

    def __repr__(self):
        return f"RestClient({redact_uri(self.uri)!r}, base='/{self.base}')"


def _body(resp):
    try:
        return resp.json()
    except ValueError:
        return resp.text[:2000]


def _reason(body):
    """': <error_code>: <message>' of an MLflow or Databricks error answer, else ''."""
    if isinstance(body, dict) and (body.get("error_code") or body.get("message")):
        return f": {body.get('error_code', '')}: {str(body.get('message', ''))[:300]}".replace(": : ", ": ")
    return f": {body[:200]}" if isinstance(body, str) and body.strip() else ""
