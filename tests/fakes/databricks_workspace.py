"""A faithful local fake of a Databricks workspace.

A real `mlflow server` (SQLite, `--default-artifact-root dbfs:/databricks/mlflow-tracking --no-serve-artifacts`)
answers MLflow REST. In front of it a small shim (stdlib `ThreadingHTTPServer` on 127.0.0.1) implements what only
Databricks has, with Databricks' error shapes, and proxies everything else verbatim:

* per-workspace bearer token (403 `Invalid access token.` / 401 when no credential is sent, as Databricks answers),
  `X-Databricks-Org-Id` on every response, a request log and injectable faults;
* the Files API (`/api/2.0/fs/files|directories`) on real files under `<base_dir>/<name>/files`; presigned-URL
  coordination endpoints answer 404 ENDPOINT_NOT_FOUND so databricks-sdk falls back to direct GET/PUT; paths
  under `/WorkspaceInternal/Mlflow/Artifacts/<exp>/...` are refused (403 PERMISSION_DENIED) unless the run, logged
  model or trace exists in that experiment *of this workspace*, so artifact I/O sent to the wrong workspace fails;
* `DatabricksArtifactRepository`'s endpoints (`credentials-for-read|write`, `artifacts/list`, the logged-model and
  trace credential endpoints) with AWS-presigned-style signed URIs served by the shim itself (`/fake-cloud-storage/...`,
  which like S3 refuses a request that also carries an `Authorization` header);
* workspace-registry downloads (`model-versions/list-artifacts`, `get-signed-download-uri`) and
  `databricks/registered-models/get`;
* `/api/4.0/*` -> ENDPOINT_NOT_FOUND (MLflow then falls back to the v3 trace search);
* an in-memory workspace tree (`/api/2.0/workspace/*`), SCIM `Me`, and Databricks' experiment-name rules
  (absolute workspace path whose parent folder exists; experiments appear in the tree as MLFLOW_EXPERIMENT);
* `/api/2.0/permissions/{experiments|registered-models|notebooks|directories}/{id}` (GET/PUT/PATCH and
  `/permissionLevels`), in memory; the owner keeps CAN_MANAGE and `admins` inherit CAN_MANAGE; a PUT/PATCH naming a
  principal the workspace does not know is refused whole (`RESOURCE_DOES_NOT_EXIST: Principal: UserName(x) does not
  exist`): known are the owner, the groups `admins` and `users`, and those added with `add_principal`;
* notebooks keep a revision per save (id: its timestamp in ms); `workspace/export` renders SOURCE, JUPYTER (nbformat
  4), HTML (the notebook model embedded) and DBC (a zip), of the latest or of `revision.revision_timestamp`, and
  refuses content over `max_export_bytes` (10 MB) with `MAX_NOTEBOOK_SIZE_EXCEEDED`;
* `/api/2.0/mlflow/unity-catalog/*` and `/api/2.1/unity-catalog/*` delegated to an optional `uc_registry`.

Public API:
    ws = FakeWorkspace(base_dir, name, token, org_id="1234567890123456", uc_registry=None, user_name="me@example.com")
    ws.start(timeout=120) | ws.launch(template_db=None) + ws.wait_healthy(timeout=120) (works with
        tests.servers.start_all) | ws.restart(timeout=120) | ws.stop()
    ws.host, ws.token, ws.org_id, ws.user_name, ws.files_dir, ws.upstream (the bare mlflow server URL)
    ws.requests (snapshot list of {"method", "path", "query", "token", "status"}), ws.clear_requests()
    ws.fail_next(path_prefix, status, error_code, message, times=1, method=None, headers=None)
    ws.enforce_experiment_paths = True | False
    ws.mkdirs(path), ws.workspace_objects() -> {path: object_type}
    ws.add_principal(kind, name), ws.notebook_revisions(path) -> [revision id], ws.max_export_bytes
    write_databrickscfg(path, {profile: (host, token) | FakeWorkspace}, retry_timeout_seconds=5)
    uc_registry.handle(method, path, query_params, body) -> (status, payload) | None, where query_params maps each
        name to a str (a list when repeated) and body is the parsed JSON object or None; None -> ENDPOINT_NOT_FOUND.
Requests to the signed "cloud storage" URLs (`/fake-cloud-storage/...`) carry no bearer token by design (token None
in the log), as do `GET /.well-known/databricks-config` probes.

Artifact layout: the OSS server puts logged models at `<exp>/models/<id>/artifacts`, Databricks at
`<exp>/logged_models/<id>/artifacts`. The shim keeps the server's layout (no rewriting); MLflow then handles a
logged model's artifacts with `DatabricksRunArtifactRepository` under
`/WorkspaceInternal/Mlflow/Artifacts/<exp>/Runs/models/...`.
"""
import base64
import configparser
import hashlib
import hmac
import http.client
import io
import json
import os
import posixpath
import re
import socket
import threading
import time
import urllib.parse
import zipfile
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.servers import MlflowServer

DBFS_ARTIFACT_ROOT = "dbfs:/databricks/mlflow-tracking"
MAX_EXPORT_BYTES = 10 * 1024 * 1024  # the documented limit of /api/2.0/workspace/export
STORAGE_PREFIX = "/fake-cloud-storage"
SIGNED_URL_TTL_SECONDS = 900

# What Databricks answers for a bad credential (observed on real workspaces: HTTP 403/401 with a *numeric*
# error_code and an `X-Databricks-Reason-Phrase` header; see databricks/databricks-sdk-go#873 and
# PipedreamHQ/pipedream#20701).
INVALID_TOKEN_MESSAGE = "Invalid access token."
NO_CREDENTIAL_MESSAGE = "Credential was not sent or was of an unsupported type for this API."
INVALID_EXPERIMENT_NAME = ("Got an invalid experiment name '{name}'. An experiment name must be an absolute path "
                           "within the Databricks workspace, e.g. '/Users/<some-username>/my-experiment'.")

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
               "transfer-encoding", "upgrade", "host", "content-length", "accept-encoding"}

_RUN_URI_RE = re.compile(r"databricks/mlflow-tracking/(?P<experiment_id>[^/]+)/(?P<run_id>(?!tr-|logged_models)[^/]+)"
                         r"(?P<relative_path>/.*)?$")
_LOGGED_MODEL_URI_RE = re.compile(r"databricks/mlflow-tracking/(?P<experiment_id>[^/]+)/logged_models/"
                                  r"(?P<model_id>[^/]+)(?P<relative_path>/.*)?$")
_TRACE_URI_RE = re.compile(r"databricks/mlflow-tracking/(?P<experiment_id>[^/]+)/(?P<trace_id>tr-[^/]+)"
                           r"(?P<relative_path>/.*)?$")


class DatabricksError(Exception):
    """An error answered as Databricks does: `{"error_code": ..., "message": ...}` with an HTTP status."""

    STATUS = {"RESOURCE_DOES_NOT_EXIST": 404, "NOT_FOUND": 404, "ENDPOINT_NOT_FOUND": 404,
              "RESOURCE_ALREADY_EXISTS": 400, "ALREADY_EXISTS": 409, "INVALID_PARAMETER_VALUE": 400,
              "BAD_REQUEST": 400, "DIRECTORY_NOT_EMPTY": 400, "PERMISSION_DENIED": 403, "UNAUTHENTICATED": 401,
              "REQUEST_LIMIT_EXCEEDED": 429, "TEMPORARILY_UNAVAILABLE": 503, "INTERNAL_ERROR": 500,
              "MALFORMED_REQUEST": 400, "MAX_NOTEBOOK_SIZE_EXCEEDED": 400}

    def __init__(self, error_code, message, status=None, headers=None):
        super().__init__(f"{error_code}: {message}")
        self.error_code = error_code
        self.message = message
        self.status = status or self.STATUS.get(error_code, 400)
        self.headers = dict(headers or {})


def dbfs_uri_to_files_path(uri):
    """The Files API path where Databricks' SDK-based artifact repositories keep an artifact URI's files."""
    path = urllib.parse.urlsplit(uri).path if uri.startswith("dbfs:") else uri
    path = path.rstrip("/")
    m = _LOGGED_MODEL_URI_RE.search(path)
    if m:
        return (f"/WorkspaceInternal/Mlflow/Artifacts/{m['experiment_id']}/LoggedModels/{m['model_id']}"
                f"{m['relative_path'] or ''}")
    m = _TRACE_URI_RE.search(path)
    if m:
        return (f"/WorkspaceInternal/Mlflow/Artifacts/{m['experiment_id']}/Traces/{m['trace_id']}"
                f"{m['relative_path'] or ''}")
    m = _RUN_URI_RE.search(path)
    if m:
        return f"/WorkspaceInternal/Mlflow/Artifacts/{m['experiment_id']}/Runs/{m['run_id']}{m['relative_path'] or ''}"
    raise DatabricksError("INVALID_PARAMETER_VALUE", f"Artifact URI {uri} is not in the Databricks-managed location "
                                                     f"{DBFS_ARTIFACT_ROOT}")


def write_databrickscfg(path, profiles, retry_timeout_seconds=5):
    """Write a databricks config file. `profiles`: name -> (host, token) or a FakeWorkspace.

    `retry_timeout_seconds` bounds databricks-sdk's retry budget (default 300 s) so a stopped fake fails fast.
    """
    config = configparser.ConfigParser(interpolation=None)
    for name, value in profiles.items():
        host, token = (value.host, value.token) if isinstance(value, FakeWorkspace) else value
        config[name] = {"host": host, "token": token, "retry_timeout_seconds": str(retry_timeout_seconds)}
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        config.write(f)
    return path


class _TrackingServer(MlflowServer):
    """`mlflow server` that hands out Databricks-style `dbfs:/databricks/mlflow-tracking/...` artifact locations."""

    def artifact_args(self):
        return ["--default-artifact-root", DBFS_ARTIFACT_ROOT, "--no-serve-artifacts"]

    def stop(self):
        super().stop()
        if getattr(self, "log", None):
            self.log.close()
            self.log = None


def _now_ms():
    return int(time.time() * 1000)


class _RequestLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._items = []

    def append(self, item):
        with self._lock:
            self._items.append(item)

    def snapshot(self):
        with self._lock:
            return list(self._items)

    def clear(self):
        with self._lock:
            self._items.clear()


class FakeWorkspace:
    """One fake Databricks workspace: `mlflow server` + shim. See the module docstring."""

    def __init__(self, base_dir, name, token, org_id="1234567890123456", uc_registry=None,
                 user_name="me@example.com"):
        self.name = name
        self.dir = os.path.join(base_dir, name)
        self.files_dir = os.path.join(self.dir, "files")
        self.token = token
        self.org_id = str(org_id)
        self.uc_registry = uc_registry
        self.user_name = user_name
        self.user_id = str(int(hashlib.sha256(f"{org_id}/{user_name}".encode()).hexdigest(), 16) % 10 ** 15)
        self.enforce_experiment_paths = True
        self.server = _TrackingServer(base_dir, name)
        self.port = None
        self._httpd = None
        self._thread = None
        self._log = _RequestLog()
        self._lock = threading.RLock()
        self._faults = []
        self._secret = os.urandom(16)
        self._model_ids = {}
        self._verified_objects = set()
        self._connections = set()
        self._acls = {}
        # The users, groups and service principals this workspace knows: a permission for anyone else is refused.
        self._principals = {("user_name", user_name), ("group_name", "admins"), ("group_name", "users")}
        self.max_export_bytes = MAX_EXPORT_BYTES
        org_hash = int(hashlib.sha256(self.org_id.encode()).hexdigest(), 16)
        self._next_object_id = 1_000_000_000_000_000 + org_hash % 10 ** 9 * 1000
        self._tree = {}
        for path in ("/", "/Users", "/Shared", f"/Users/{user_name}"):
            self._add_node(path, "DIRECTORY")

    # ------------------------------------------------------------------ lifecycle
    @property
    def host(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def upstream(self):
        """URL of the underlying `mlflow server` (no Databricks rules, no token), for seeding or inspection."""
        return self.server.uri

    def launch(self, template_db=None):
        """Start the mlflow server process and the shim without waiting (see `wait_healthy`)."""
        os.makedirs(self.files_dir, exist_ok=True)
        self.server.launch(template_db)
        if self._httpd is None:
            self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port or 0), _make_handler(self))
            self._httpd.daemon_threads = True
            self.port = self._httpd.server_address[1]
            self._thread = threading.Thread(target=self._httpd.serve_forever, name=f"fakews-{self.name}",
                                            daemon=True)
            self._thread.start()
        return self

    def wait_healthy(self, timeout=120):
        try:
            self.server.wait_healthy(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def start(self, timeout=120):
        self.launch()
        try:
            return self.wait_healthy(timeout)
        except Exception:
            self.stop()
            raise

    def restart(self, timeout=120):
        """Stop and start again on the same ports, keeping the database, files and workspace tree."""
        self.stop()
        self.launch()
        return self.wait_healthy(timeout)

    def stop(self):
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
            self._thread = None
            with self._lock:  # drop kept-alive client connections too: a stopped workspace is unreachable
                connections, self._connections = list(self._connections), set()
            for conn in connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.server.stop()

    # ------------------------------------------------------------------ request log and faults
    @property
    def requests(self):
        """Snapshot of every request seen: dicts with method, path, query, token (bearer or None), status."""
        return self._log.snapshot()

    def clear_requests(self):
        self._log.clear()

    def fail_next(self, path_prefix, status, error_code, message, times=1, method=None, headers=None):
        """Answer the next `times` requests whose path starts with `path_prefix` (and method, if given) with
        a Databricks error. Applied after the token check, so the request must be authenticated."""
        with self._lock:
            self._faults.append({"prefix": path_prefix, "status": status, "error_code": error_code,
                                 "message": message, "times": times, "method": method, "headers": headers or {}})

    def _take_fault(self, method, path):
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault["prefix"]) and fault["method"] in (None, method) and fault["times"] > 0:
                    fault["times"] -= 1
                    if fault["times"] == 0:
                        self._faults.remove(fault)
                    return DatabricksError(fault["error_code"], fault["message"], fault["status"], fault["headers"])
        return None

    # ------------------------------------------------------------------ workspace tree (python helpers)
    def mkdirs(self, path):
        with self._lock:
            self._mkdirs(self._norm(path))

    def add_principal(self, kind, name):
        """Make a user ('user_name'), group ('group_name') or service principal ('service_principal_name') known
        to this workspace, so that permissions can name it."""
        if kind not in _ShimHandler._PRINCIPALS:
            raise ValueError(f"kind must be one of {_ShimHandler._PRINCIPALS}, not {kind!r}")
        with self._lock:
            self._principals.add((kind, name))

    def notebook_revisions(self, path):
        """The revision ids (timestamps in ms, as strings) of a notebook, oldest first."""
        with self._lock:
            node = self._tree[self._norm(path)]
            return [str(ts) for ts, _ in node.get("revisions", [])]

    def workspace_objects(self):
        """path -> object_type of every workspace object."""
        with self._lock:
            return {p: n["object_type"] for p, n in self._tree.items()}

    @staticmethod
    def _norm(path):
        if not isinstance(path, str) or not path.startswith("/"):
            raise DatabricksError("INVALID_PARAMETER_VALUE", f"Path ({path}) is not absolute")
        if path == "/Workspace" or path.startswith("/Workspace/"):
            path = path[len("/Workspace"):] or "/"
        path = posixpath.normpath(path)
        return "/" if path in ("/", "//") else path

    def _add_node(self, path, object_type, **extra):
        if object_type == "MLFLOW_EXPERIMENT":
            object_id = int(extra.pop("object_id"))
        else:
            self._next_object_id += 1
            object_id = self._next_object_id
        now = _now_ms()
        self._tree[path] = dict(object_type=object_type, object_id=object_id, created_at=now, modified_at=now,
                                **extra)
        return self._tree[path]

    def _children(self, path):
        prefix = path.rstrip("/") + "/"
        return sorted(p for p in self._tree if p != path and p.startswith(prefix) and "/" not in p[len(prefix):])

    def _mkdirs(self, path):
        parts = [p for p in path.split("/") if p]
        current = ""
        for part in parts:
            current += "/" + part
            node = self._tree.get(current)
            if node is None:
                self._add_node(current, "DIRECTORY")
            elif node["object_type"] != "DIRECTORY":
                raise DatabricksError("RESOURCE_ALREADY_EXISTS",
                                      f"Cannot create directory {path}: a {node['object_type']} exists at {current}")

    def _object_info(self, path):
        node = self._tree[path]
        info = {"object_type": node["object_type"], "path": path, "object_id": node["object_id"],
                "resource_id": str(node["object_id"])}
        if node["object_type"] in ("NOTEBOOK", "FILE"):
            info.update(created_at=node["created_at"], modified_at=node["modified_at"], size=len(node["content"]))
        if node["object_type"] == "NOTEBOOK":
            info["language"] = node["language"]
        return info

    # ------------------------------------------------------------------ upstream mlflow server
    def _upstream_request(self, method, path_and_query, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=120)
        try:
            conn.request(method, path_and_query, body=body, headers=headers or {})
            return conn, conn.getresponse()
        except (OSError, http.client.HTTPException) as e:
            conn.close()
            raise DatabricksError("TEMPORARILY_UNAVAILABLE", f"The service is temporarily unavailable: {e}")

    def _upstream_json(self, method, path, params=None, body=None):
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        data = json.dumps(body).encode() if body is not None else None
        conn, resp = self._upstream_request(method, path + query, data, {"Content-Type": "application/json"})
        try:
            raw = resp.read()
        finally:
            conn.close()
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            payload = {"error_code": "INTERNAL_ERROR", "message": raw.decode(errors="replace")}
        if resp.status >= 400:
            raise DatabricksError(payload.get("error_code", "INTERNAL_ERROR"), payload.get("message", ""),
                                  resp.status)
        return payload

    # ------------------------------------------------------------------ signed URLs (the fake's "cloud storage")
    def _sign(self, method, files_path, expires):
        msg = f"{method}\n{files_path}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def signed_url(self, method, files_path):
        expires = int(time.time()) + SIGNED_URL_TTL_SECONDS
        query = urllib.parse.urlencode({"X-Fake-Method": method, "X-Fake-Expires": expires,
                                        "X-Fake-Signature": self._sign(method, files_path, expires)})
        return f"{self.host}{STORAGE_PREFIX}{urllib.parse.quote(files_path)}?{query}"

    def _credential_info(self, method, files_path, **extra):
        return dict(extra, signed_uri=self.signed_url(method, files_path), type="AWS_PRESIGNED_URL")

    # ------------------------------------------------------------------ MLflow-managed artifact paths
    def _check_mlflow_artifact_access(self, files_path):
        """`/WorkspaceInternal/Mlflow/Artifacts/<exp>/...` is ACL'd by its MLflow object: a run, logged model or
        trace that is not in this workspace's experiment `<exp>` is refused (so artifact I/O sent to the wrong
        workspace fails loudly instead of landing in the wrong place)."""
        parts = [p for p in files_path.split("/") if p]
        if parts[:3] != ["WorkspaceInternal", "Mlflow", "Artifacts"] or len(parts) < 6:
            return
        experiment_id, kind, object_id = parts[3], parts[4], parts[5]
        if kind == "Runs" and object_id in ("models", "traces") and len(parts) >= 7:
            kind, object_id = {"models": "LoggedModels", "traces": "Traces"}[object_id], parts[6]
        key = (experiment_id, kind, object_id)
        with self._lock:
            if key in self._verified_objects:
                return
        try:
            if kind == "Runs":
                info = self._upstream_json("GET", "/api/2.0/mlflow/runs/get", {"run_id": object_id})["run"]["info"]
                actual = info["experiment_id"]
            elif kind == "LoggedModels":
                actual = self._upstream_json("GET", f"/api/2.0/mlflow/logged-models/{object_id}")["model"]["info"][
                    "experiment_id"]
            elif kind == "Traces":
                trace = self._upstream_json("GET", f"/api/3.0/mlflow/traces/{object_id}")["trace"]["trace_info"]
                actual = trace["trace_location"]["mlflow_experiment"]["experiment_id"]
            else:
                actual = None
        except (DatabricksError, KeyError):
            actual = None
        if str(actual) != experiment_id:
            raise DatabricksError("PERMISSION_DENIED", f"User {self.user_name} does not have permission to access "
                                                       f"{files_path}: no {kind[:-1]} {object_id} in experiment "
                                                       f"{experiment_id} of this workspace.")
        with self._lock:
            self._verified_objects.add(key)

    # ------------------------------------------------------------------ files on disk
    def _local(self, files_path):
        parts = [p for p in files_path.split("/") if p]
        if any(p in (".", "..") for p in parts) or not files_path.startswith("/"):
            raise DatabricksError("INVALID_PARAMETER_VALUE", f"Invalid path: {files_path}")
        return os.path.join(self.files_dir, *parts)


_COMMENT = {"PYTHON": "#", "R": "#", "SQL": "--", "SCALA": "//"}
_DBC_EXTENSIONS = {"PYTHON": "python", "R": "r", "SQL": "sql", "SCALA": "scala"}


def _notebook_cells(language, content):
    """The cells of a notebook in SOURCE format: the header line dropped, split at the COMMAND separators."""
    comment = _COMMENT.get(language, "#")
    text = content.decode("utf-8", errors="replace")
    header = f"{comment} Databricks notebook source"
    if text.startswith(header):
        text = text[len(header):].lstrip("\n")
    return [cell.strip("\n") for cell in text.split(f"\n{comment} COMMAND ----------\n")]


def _render_notebook(name, language, content, fmt, file_type):
    """A notebook in an export format, shaped as Databricks writes it: SOURCE as saved, JUPYTER an nbformat-4
    document, HTML a page that embeds the notebook model, DBC a zip archive holding the notebook as JSON."""
    if fmt in ("SOURCE", "AUTO", "RAW"):
        return content, file_type
    cells = _notebook_cells(language, content)
    lang = language.lower()
    if fmt == "JUPYTER":
        doc = {"cells": [{"cell_type": "code", "execution_count": 0, "metadata": {}, "outputs": [],
                          "source": cell.splitlines(keepends=True)} for cell in cells],
               "metadata": {"application/vnd.databricks.v1+notebook": {"notebookName": name, "language": lang}},
               "nbformat": 4, "nbformat_minor": 0}
        return json.dumps(doc, indent=1).encode(), "ipynb"
    model = {"version": "NotebookV1", "name": name, "language": lang,
             "commands": [{"command": cell, "position": float(i + 1)} for i, cell in enumerate(cells)]}
    if fmt == "HTML":
        embedded = base64.b64encode(urllib.parse.quote(json.dumps(model)).encode()).decode()
        page = (f'<!DOCTYPE html>\n<html>\n<head>\n<meta name="databricks-html-version" content="1">\n'
                f"<title>{name} - Databricks</title>\n<script>var __DATABRICKS_NOTEBOOK_MODEL = '{embedded}';"
                "</script>\n</head>\n<body></body>\n</html>\n")
        return page.encode(), "html"
    if fmt == "DBC":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(f"{name}.{_DBC_EXTENSIONS.get(language, 'python')}", json.dumps(model))
        return buf.getvalue(), "dbc"
    if fmt == "R_MARKDOWN" and language == "R":
        return content, "Rmd"
    raise DatabricksError("INVALID_PARAMETER_VALUE", f"Invalid export format {fmt} for a {language} notebook")


def _parse_query(query_string):
    out = {}
    for key, values in urllib.parse.parse_qs(query_string, keep_blank_values=True).items():
        out[key] = values[0] if len(values) == 1 else values
    return out


def _json_bool(value, default=False):
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() == "true"


def _make_handler(ws):
    class Handler(_ShimHandler):
        workspace = ws
    return Handler


class _ShimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 120  # idle keep-alive connections are closed after this
    workspace = None  # set by _make_handler

    def setup(self):
        super().setup()
        with self.workspace._lock:
            self.workspace._connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.workspace._lock:
                self.workspace._connections.discard(self.connection)

    def log_message(self, fmt, *args):  # quiet
        pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ------------------------------------------------------------------ plumbing
    def _dispatch(self):
        split = urllib.parse.urlsplit(self.path)
        self.req_path = split.path
        self.req_query_string = split.query
        self.query = _parse_query(split.query)
        self.token = None
        auth = self.headers.get("Authorization")
        if auth and auth.startswith("Bearer "):
            self.token = auth[len("Bearer "):]
        self.status_sent = None
        self._body = None
        try:
            try:
                self._route()
            except (ConnectionError, socket.timeout):  # the client went away
                self.close_connection = True
            except Exception as e:
                if self.status_sent is not None:  # failed mid-answer: nothing more can be said on this connection
                    self.close_connection = True
                elif isinstance(e, DatabricksError):
                    self._send_error(e)
                else:  # a bug in the fake: answer like Databricks' INTERNAL_ERROR and keep serving
                    self._send_error(DatabricksError("INTERNAL_ERROR", f"fake workspace: {type(e).__name__}: {e}",
                                                     500))
        finally:
            if self.status_sent is None:  # no response was sent (e.g. the client went away)
                self._record(None)

    def _record(self, status):
        """Log the request as its response starts, so the entry exists before the client can see the answer."""
        self.workspace._log.append({"method": self.command, "path": self.req_path, "query": self.req_query_string,
                                    "token": self.token, "status": status})

    def _route(self):
        ws, path, method = self.workspace, self.req_path, self.command
        if path == "/.well-known/databricks-config":
            raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{method} {path}'")
        if path.startswith(STORAGE_PREFIX + "/"):
            return self._storage()
        auth = self.headers.get("Authorization")
        if not auth or not auth.startswith("Bearer "):
            raise DatabricksError(401, NO_CREDENTIAL_MESSAGE, 401)
        if self.token != ws.token:
            raise DatabricksError(403, INVALID_TOKEN_MESSAGE, 403,
                                  {"X-Databricks-Reason-Phrase": INVALID_TOKEN_MESSAGE})
        fault = ws._take_fault(method, path)
        if fault:
            self._read_body()
            raise fault
        for prefix, handler in _ROUTES_PREFIX:
            if path.startswith(prefix):
                return handler(self)
        handler = _ROUTES_EXACT.get((method, path))
        if handler:
            return handler(self)
        for pattern, handler in _ROUTES_REGEX:
            if pattern.match(path):
                return handler(self)
        return self._proxy()

    def _read_body(self):
        if self._body is None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self._body = b"".join(chunks)
            else:
                length = int(self.headers.get("Content-Length") or 0)
                self._body = self.rfile.read(length) if length else b""
        return self._body

    def _json_body(self):
        raw = self._read_body()
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            raise DatabricksError("MALFORMED_REQUEST", "Invalid JSON given in the body of the request", 400)
        return body if isinstance(body, dict) else {}

    def _params(self):
        """Request parameters: query string for GET/DELETE-style calls, JSON body otherwise (both merged)."""
        params = dict(self.query)
        if self.command in ("POST", "PATCH", "PUT", "DELETE"):
            params.update(self._json_body())
        return params

    def _start(self, status, headers):
        self._record(status)
        self.send_response(status)
        self.send_header("X-Databricks-Org-Id", self.workspace.org_id)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.status_sent = status

    def _send_json(self, status, payload, headers=None):
        data = json.dumps(payload).encode()
        self._start(status, dict(headers or {}, **{"Content-Type": "application/json",
                                                   "Content-Length": str(len(data))}))
        if self.command != "HEAD":
            self.wfile.write(data)

    def _send_empty(self, status=200, headers=None):
        self._start(status, dict(headers or {}, **{"Content-Length": "0"}))

    def _send_error(self, e):
        if self.command not in ("GET", "HEAD"):
            # drain an unread request body so the keep-alive connection stays usable
            try:
                self._read_body()
            except Exception:
                self.close_connection = True
        self._send_json(e.status, {"error_code": e.error_code, "message": e.message}, e.headers)

    def _send_storage_error(self, status, code, message):
        data = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f'</Error>').encode()
        self._start(status, {"Content-Type": "application/xml", "Content-Length": str(len(data))})
        if self.command != "HEAD":
            self.wfile.write(data)

    # ------------------------------------------------------------------ proxy
    def _proxy(self, body=None):
        ws = self.workspace
        if body is None:
            body = self._read_body() if (self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding")) \
                else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        conn, resp = ws._upstream_request(self.command, self.path, body, headers)
        try:
            out_headers = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            length = resp.getheader("Content-Length")
            if self.command == "HEAD" or resp.status in (204, 304):
                self._start(resp.status, dict(out_headers, **{"Content-Length": length or "0"}))
                return
            if length is not None:
                self._start(resp.status, dict(out_headers, **{"Content-Length": length}))
                while chunk := resp.read(64 * 1024):
                    self.wfile.write(chunk)
            else:
                self._start(resp.status, dict(out_headers, **{"Transfer-Encoding": "chunked"}))
                while chunk := resp.read1(64 * 1024) if hasattr(resp, "read1") else resp.read(64 * 1024):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
        finally:
            conn.close()

    def _forward(self, json_body):
        """Send this request upstream with `json_body`; return (status, headers, body bytes) without answering."""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        data = json.dumps(json_body).encode()
        headers["Content-Length"] = str(len(data))
        conn, resp = self.workspace._upstream_request(self.command, self.path, data, headers)
        try:
            payload = resp.read()
            out_headers = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_BY_HOP}
            return resp.status, out_headers, payload
        finally:
            conn.close()

    def _send_raw(self, status, headers, data):
        self._start(status, dict(headers, **{"Content-Length": str(len(data))}))
        if self.command != "HEAD":
            self.wfile.write(data)

    # ------------------------------------------------------------------ Files API
    def _file_response(self, local, files_path):
        st = os.stat(local)
        size = st.st_size
        headers = {"Content-Type": "application/octet-stream",
                   "Last-Modified": formatdate(st.st_mtime, usegmt=True), "Accept-Ranges": "bytes"}
        start, end, status = 0, size - 1, 200
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and "," not in rng:
            first, _, last = rng[len("bytes="):].partition("-")
            if first:
                start = int(first)
                end = min(int(last), size - 1) if last else size - 1
            elif last:
                start = max(size - int(last), 0)
            if start >= size or start > end:
                raise DatabricksError("INVALID_PARAMETER_VALUE", f"Range not satisfiable: {rng}", 416)
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        length = max(end - start + 1, 0)
        headers["Content-Length"] = str(length)
        self._start(status, headers)
        if self.command == "HEAD":
            return
        with open(local, "rb") as f:
            f.seek(start)
            remaining = length
            while remaining > 0:
                chunk = f.read(min(remaining, 1024 * 1024))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)

    def _write_file(self, local, overwrite):
        if os.path.isdir(local):
            raise DatabricksError("ALREADY_EXISTS", "A directory already exists at the path", 409)
        if os.path.exists(local) and not overwrite:
            raise DatabricksError("ALREADY_EXISTS", "The file being created already exists.", 409)
        parent = os.path.dirname(local)
        probe = parent
        while probe != self.workspace.files_dir and not os.path.exists(probe):
            probe = os.path.dirname(probe)
        if os.path.isfile(probe):
            raise DatabricksError("ALREADY_EXISTS", "A file exists at a parent path of the file being created", 409)
        os.makedirs(parent, exist_ok=True)
        tmp = f"{local}.part-{threading.get_ident()}"
        with open(tmp, "wb") as f:
            f.write(self._read_body())
        os.replace(tmp, local)

    def files(self):
        ws = self.workspace
        files_path = urllib.parse.unquote(self.req_path[len("/api/2.0/fs/files"):]) or "/"
        local = ws._local(files_path)
        ws._check_mlflow_artifact_access(files_path)
        method = self.command
        if method in ("GET", "HEAD"):
            if not os.path.isfile(local):
                raise DatabricksError("NOT_FOUND", "The file being accessed is not found.")
            return self._file_response(local, files_path)
        if method == "PUT":
            if self.query.get("action") or self.query.get("upload_type"):
                raise DatabricksError("ENDPOINT_NOT_FOUND", "Multipart uploads are not supported by this workspace.")
            self._write_file(local, _json_bool(self.query.get("overwrite"), default=True))
            return self._send_empty(204)
        if method == "DELETE":
            if not os.path.isfile(local):
                raise DatabricksError("NOT_FOUND", "The file being accessed is not found.")
            os.remove(local)
            return self._send_empty(204)
        if method == "POST":  # initiate-upload / complete-upload of multipart uploads: not offered here
            raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{method} {self.req_path}'")
        raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{method} {self.req_path}'")

    def directories(self):
        ws = self.workspace
        dir_path = urllib.parse.unquote(self.req_path[len("/api/2.0/fs/directories"):]) or "/"
        local = ws._local(dir_path)
        ws._check_mlflow_artifact_access(dir_path)
        method = self.command
        if method == "HEAD":
            if not os.path.isdir(local):
                raise DatabricksError("NOT_FOUND", "The directory being accessed is not found.")
            return self._send_empty(200)
        if method == "GET":
            if not os.path.isdir(local):
                raise DatabricksError("NOT_FOUND", "The directory being accessed is not found.")
            names = sorted(n for n in os.listdir(local) if ".part-" not in n)
            page_size = min(int(self.query.get("page_size") or 1000), 1000) or 1000
            start = int(self.query.get("page_token") or 0)
            entries = []
            for entry_name in names[start:start + page_size]:
                full = os.path.join(local, entry_name)
                entry_path = posixpath.join(dir_path.rstrip("/") or "/", entry_name)
                if os.path.isdir(full):
                    entries.append({"path": entry_path + "/", "is_directory": True, "name": entry_name})
                else:
                    st = os.stat(full)
                    entries.append({"path": entry_path, "is_directory": False, "file_size": st.st_size,
                                    "last_modified": int(st.st_mtime * 1000), "name": entry_name})
            payload = {"contents": entries}
            if start + page_size < len(names):
                payload["next_page_token"] = str(start + page_size)
            return self._send_json(200, payload)
        if method == "PUT":
            probe = local
            while probe != ws.files_dir:
                if os.path.isfile(probe):
                    raise DatabricksError("ALREADY_EXISTS", "A file exists at the path of the directory", 409)
                probe = os.path.dirname(probe)
            os.makedirs(local, exist_ok=True)
            return self._send_empty(204)
        if method == "DELETE":
            if not os.path.isdir(local):
                raise DatabricksError("NOT_FOUND", "The directory being accessed is not found.")
            if os.listdir(local):
                raise DatabricksError("DIRECTORY_NOT_EMPTY", "The directory being deleted is not empty.", 400)
            os.rmdir(local)
            return self._send_empty(204)
        raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{method} {self.req_path}'")

    def endpoint_not_found(self):
        raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}'")

    # ------------------------------------------------------------------ signed "cloud storage"
    def _storage(self):
        ws = self.workspace
        files_path = urllib.parse.unquote(self.req_path[len(STORAGE_PREFIX):])
        fault = ws._take_fault(self.command, self.req_path)
        if fault:
            self._read_body()
            return self._send_storage_error(fault.status, fault.error_code, fault.message)
        if self.headers.get("Authorization"):
            self._read_body()
            return self._send_storage_error(
                400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified")
        method = "GET" if self.command == "HEAD" else self.command
        signed_method = self.query.get("X-Fake-Method")
        expires = self.query.get("X-Fake-Expires", "0")
        signature = self.query.get("X-Fake-Signature", "")
        if signed_method != method or not hmac.compare_digest(signature, ws._sign(method, files_path, expires)):
            self._read_body()
            return self._send_storage_error(
                403, "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.")
        if int(expires) < time.time():
            self._read_body()
            return self._send_storage_error(403, "AccessDenied", "Request has expired")
        local = ws._local(files_path)
        if method == "GET":
            if not os.path.isfile(local):
                return self._send_storage_error(404, "NoSuchKey", "The specified key does not exist.")
            return self._file_response(local, files_path)
        if method == "PUT":
            try:
                self._write_file(local, overwrite=True)
            except DatabricksError as e:
                return self._send_storage_error(409, "Conflict", e.message)
            return self._send_empty(200, {"ETag": '"%s"' % hashlib.md5(open(local, "rb").read()).hexdigest()})
        if method == "DELETE":
            if os.path.isfile(local):
                os.remove(local)
            return self._send_empty(204)
        return self._send_storage_error(405, "MethodNotAllowed", "The specified method is not allowed")

    # ------------------------------------------------------------------ DatabricksArtifactRepository endpoints
    def _run_root(self, run_id):
        run = self.workspace._upstream_json("GET", "/api/2.0/mlflow/runs/get", {"run_id": run_id})
        return dbfs_uri_to_files_path(run["run"]["info"]["artifact_uri"])

    def _list_files(self, root, rel_path, page_token):
        """MLflow ListArtifacts semantics over the files under `root` (paths relative to root)."""
        ws = self.workspace
        rel_path = (rel_path or "").strip("/")
        local = ws._local(posixpath.join(root, rel_path) if rel_path else root)
        if os.path.isfile(local):
            return {"files": [{"path": rel_path, "is_dir": False, "file_size": os.path.getsize(local)}]}
        if not os.path.isdir(local):
            return {}
        names = sorted(n for n in os.listdir(local) if ".part-" not in n)
        files = []
        for entry_name in names:
            full = os.path.join(local, entry_name)
            entry = {"path": posixpath.join(rel_path, entry_name) if rel_path else entry_name,
                     "is_dir": os.path.isdir(full)}
            if not entry["is_dir"]:
                entry["file_size"] = os.path.getsize(full)
            files.append(entry)
        start = int(page_token or 0)
        page = files[start:start + 1000]
        payload = {"files": page} if page else {}
        if start + 1000 < len(files):
            payload["next_page_token"] = str(start + 1000)
        return payload

    def credentials_for_run(self):
        params = self._params()
        run_id = params.get("run_id")
        if not run_id:
            raise DatabricksError("INVALID_PARAMETER_VALUE", "Missing required field: run_id")
        root = self._run_root(run_id)
        paths = params.get("path") or []
        if isinstance(paths, str):
            paths = [paths]
        method = "GET" if self.req_path.endswith("credentials-for-read") else "PUT"
        infos = [self.workspace._credential_info(method, posixpath.join(root, p.lstrip("/")), run_id=run_id, path=p)
                 for p in paths]
        return self._send_json(200, {"credential_infos": infos})

    def artifacts_list(self):
        params = self._params()
        run = self.workspace._upstream_json("GET", "/api/2.0/mlflow/runs/get", {"run_id": params.get("run_id")
                                                                               or params.get("run_uuid")})
        artifact_uri = run["run"]["info"]["artifact_uri"]
        if not artifact_uri.startswith(DBFS_ARTIFACT_ROOT):
            return self._proxy()
        payload = self._list_files(dbfs_uri_to_files_path(artifact_uri), params.get("path"), params.get("page_token"))
        payload = dict({"root_uri": artifact_uri}, **payload)
        return self._send_json(200, payload)

    def mpu_not_supported(self):
        raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}' "
                                                    "(multipart uploads are not offered by the fake workspace)")

    def logged_model_artifacts(self):
        ws = self.workspace
        m = re.match(r"^/api/2\.0/mlflow/logged-models/([^/]+)/artifacts/(.+)$", self.req_path)
        if not m:
            return self._proxy()
        model_id, action = m.group(1), m.group(2)
        if action not in ("credentials-for-upload", "credentials-for-download", "directories"):
            return self._proxy()
        params = self._params()
        model = ws._upstream_json("GET", f"/api/2.0/mlflow/logged-models/{model_id}")
        artifact_uri = model["model"]["info"]["artifact_uri"]
        if not artifact_uri.startswith(DBFS_ARTIFACT_ROOT):
            return self._proxy()
        root = dbfs_uri_to_files_path(artifact_uri)
        if action == "directories":
            payload = self._list_files(root, params.get("artifact_directory_path"), params.get("page_token"))
            return self._send_json(200, payload)
        paths = params.get("paths") or []
        if isinstance(paths, str):
            paths = [paths]
        method = "GET" if action == "credentials-for-download" else "PUT"
        creds = [{"model_id": model_id,
                  "credential_info": ws._credential_info(method, posixpath.join(root, p.lstrip("/")), path=p)}
                 for p in paths]
        return self._send_json(200, {"credentials": creds})

    def trace_credentials(self):
        ws = self.workspace
        m = re.match(r"^/api/2\.0/mlflow/traces/([^/]+)/(credentials-for-data-(upload|download))$", self.req_path)
        if not m:
            return self._proxy()
        trace_id = m.group(1)
        info = ws._upstream_json("GET", f"/api/3.0/mlflow/traces/{trace_id}")
        trace_info = info.get("trace", {}).get("trace_info", info.get("trace_info", {}))
        tags = trace_info.get("tags", {})
        if isinstance(tags, list):
            tags = {t["key"]: t["value"] for t in tags}
        location = tags.get("mlflow.artifactLocation")
        if not location:
            raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Trace with ID {trace_id} has no artifact location")
        root = dbfs_uri_to_files_path(location)
        params = self._params()
        rel = params.get("path") or "traces.json"
        method = "GET" if m.group(3) == "download" else "PUT"
        return self._send_json(200, {"credential_info": ws._credential_info(method, posixpath.join(root, rel))})

    # ------------------------------------------------------------------ workspace model registry
    def _model_version_root(self, params):
        name, version = params.get("name"), params.get("version")
        if not name or not version:
            raise DatabricksError("INVALID_PARAMETER_VALUE", "Missing required parameters: name, version")
        resp = self.workspace._upstream_json("GET", "/api/2.0/mlflow/model-versions/get-download-uri",
                                             {"name": name, "version": version})
        uri = resp["artifact_uri"]
        if not uri.startswith(DBFS_ARTIFACT_ROOT):
            raise DatabricksError("INVALID_PARAMETER_VALUE",
                                  f"Model version {name}/{version} is stored outside Databricks storage: {uri}")
        return dbfs_uri_to_files_path(uri)

    def model_version_list_artifacts(self):
        params = self._params()
        root = self._model_version_root(params)
        return self._send_json(200, self._list_files(root, params.get("path"), params.get("page_token")))

    def model_version_signed_uri(self):
        params = self._params()
        root = self._model_version_root(params)
        rel = (params.get("path") or "").strip("/")
        files_path = posixpath.join(root, rel) if rel else root
        if not os.path.isfile(self.workspace._local(files_path)):
            raise DatabricksError("RESOURCE_DOES_NOT_EXIST",
                                  f"File {rel!r} does not exist in model version {params['name']}/{params['version']}")
        return self._send_json(200, {"signed_uri": self.workspace.signed_url("GET", files_path), "headers": []})

    def databricks_registered_model(self):
        ws = self.workspace
        params = self._params()
        name = params.get("name")
        model = ws._upstream_json("GET", "/api/2.0/mlflow/registered-models/get", {"name": name})["registered_model"]
        with ws._lock:
            if model["name"] not in ws._model_ids:
                seed = f"{ws.org_id}/{model['name']}/{model.get('creation_timestamp')}".encode()
                ws._model_ids[model["name"]] = str(int(hashlib.sha256(seed).hexdigest(), 16) % 10 ** 16)
            model_id = ws._model_ids[model["name"]]
        keep = ("creation_timestamp", "current_stage", "description", "last_updated_timestamp", "name", "run_id",
                "run_link", "source", "status", "status_message", "tags", "user_id", "version")
        out = {"name": model["name"], "id": model_id, "permission_level": "CAN_MANAGE", "user_id": ws.user_name}
        for key in ("creation_timestamp", "last_updated_timestamp", "description"):
            if model.get(key) not in (None, ""):
                out[key] = model[key]
        if model.get("tags"):
            out["tags"] = model["tags"]
        latest = [{k: v for k, v in mv.items() if k in keep and v not in (None, "", [])}
                  for mv in model.get("latest_versions", [])]
        if latest:
            out["latest_versions"] = latest
        return self._send_json(200, {"registered_model_databricks": out})

    def registered_model_rename(self):
        ws = self.workspace
        body = self._json_body()
        status, headers, data = self._forward(body)
        if status == 200:
            with ws._lock:
                if body.get("name") in ws._model_ids and body.get("new_name"):
                    ws._model_ids[body["new_name"]] = ws._model_ids.pop(body["name"])
        self._send_raw(status, headers, data)

    # ------------------------------------------------------------------ experiments: Databricks name rules
    def _check_experiment_name(self, name, new=True):
        ws = self.workspace
        if not isinstance(name, str) or not name.startswith("/") or name.endswith("/") or "//" in name:
            raise DatabricksError("INVALID_PARAMETER_VALUE", INVALID_EXPERIMENT_NAME.format(name=name))
        path = ws._norm(name)
        parent = posixpath.dirname(path)
        with ws._lock:
            parent_node = ws._tree.get(parent)
            if parent_node is None or parent_node["object_type"] != "DIRECTORY":
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Parent directory {parent} does not exist.")
            node = ws._tree.get(path)
            if new and node is not None and node["object_type"] != "MLFLOW_EXPERIMENT":
                raise DatabricksError("RESOURCE_ALREADY_EXISTS",
                                      f"Node named '{posixpath.basename(path)}' already exists")
        return path

    def _tree_path_if_listable(self, name):
        ws = self.workspace
        if not isinstance(name, str) or not name.startswith("/"):
            return None
        path = ws._norm(name)
        with ws._lock:
            parent = ws._tree.get(posixpath.dirname(path))
            if parent is None or parent["object_type"] != "DIRECTORY" or path in ws._tree:
                return None
        return path

    def _drop_experiment_node(self, experiment_id):
        ws = self.workspace
        for p, node in list(ws._tree.items()):
            if node["object_type"] == "MLFLOW_EXPERIMENT" and str(node["object_id"]) == str(experiment_id):
                del ws._tree[p]

    # Side effects on the workspace tree are applied before the answer is sent, so a client that has its answer
    # always sees them.
    def experiment_create(self):
        ws = self.workspace
        body = self._json_body()
        if ws.enforce_experiment_paths:
            path = self._check_experiment_name(body.get("name"))
        else:  # rules off: still list the experiment in the tree when its name is a path under a folder
            path = self._tree_path_if_listable(body.get("name"))
        status, headers, data = self._forward(body)
        if status == 200 and path:
            with ws._lock:
                ws._add_node(path, "MLFLOW_EXPERIMENT", object_id=json.loads(data)["experiment_id"])
        self._send_raw(status, headers, data)

    def experiment_update(self):
        ws = self.workspace
        body = self._json_body()
        new_name = body.get("new_name")
        if new_name and ws.enforce_experiment_paths:
            self._check_experiment_name(new_name)
        status, headers, data = self._forward(body)
        if status == 200 and new_name:
            with ws._lock:
                self._drop_experiment_node(body.get("experiment_id"))
                path = self._tree_path_if_listable(new_name)
                if path:
                    ws._add_node(path, "MLFLOW_EXPERIMENT", object_id=body.get("experiment_id"))
        self._send_raw(status, headers, data)

    def experiment_delete(self):
        body = self._json_body()
        status, headers, data = self._forward(body)
        if status == 200:
            with self.workspace._lock:
                self._drop_experiment_node(body.get("experiment_id"))
        self._send_raw(status, headers, data)

    def experiment_restore(self):
        ws = self.workspace
        body = self._json_body()
        status, headers, data = self._forward(body)
        if status == 200:
            exp = ws._upstream_json("GET", "/api/2.0/mlflow/experiments/get",
                                    {"experiment_id": body.get("experiment_id")})["experiment"]
            with ws._lock:
                path = self._tree_path_if_listable(exp["name"])
                if path:
                    ws._add_node(path, "MLFLOW_EXPERIMENT", object_id=exp["experiment_id"])
        self._send_raw(status, headers, data)

    def experiment_get_by_name(self):
        name = self.query.get("experiment_name")
        if self.workspace.enforce_experiment_paths and isinstance(name, str) and not name.startswith("/"):
            raise DatabricksError("RESOURCE_DOES_NOT_EXIST", INVALID_EXPERIMENT_NAME.format(name=name))
        return self._proxy()

    # ------------------------------------------------------------------ workspace API
    def ws_mkdirs(self):
        ws = self.workspace
        path = ws._norm(self._json_body().get("path"))
        with ws._lock:
            ws._mkdirs(path)
        return self._send_json(200, {})

    def ws_get_status(self):
        ws = self.workspace
        path = ws._norm(self.query.get("path"))
        with ws._lock:
            if path not in ws._tree:
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
            return self._send_json(200, ws._object_info(path))

    def ws_list(self):
        ws = self.workspace
        path = ws._norm(self.query.get("path"))
        with ws._lock:
            node = ws._tree.get(path)
            if node is None:
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
            if node["object_type"] != "DIRECTORY":
                objects = [ws._object_info(path)]
            else:
                objects = [ws._object_info(child) for child in ws._children(path)]
        return self._send_json(200, {"objects": objects} if objects else {})

    def ws_delete(self):
        ws = self.workspace
        body = self._json_body()
        path = ws._norm(body.get("path"))
        recursive = _json_bool(body.get("recursive"))
        with ws._lock:
            node = ws._tree.get(path)
            if node is None:
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
            doomed = [p for p in ws._tree if p == path or p.startswith(path.rstrip("/") + "/")]
            if len(doomed) > 1 and not recursive:
                raise DatabricksError("DIRECTORY_NOT_EMPTY", f"Folder ({path}) is not empty")
            if path == "/" or (node["object_type"] == "DIRECTORY" and path in ("/Users", "/Shared")):
                raise DatabricksError("PERMISSION_DENIED", f"Cannot delete {path}")
            experiments = [ws._tree[p]["object_id"] for p in doomed
                           if ws._tree[p]["object_type"] == "MLFLOW_EXPERIMENT"]
            for p in doomed:
                del ws._tree[p]
        for experiment_id in experiments:
            try:
                ws._upstream_json("POST", "/api/2.0/mlflow/experiments/delete",
                                  body={"experiment_id": str(experiment_id)})
            except DatabricksError:
                pass
        return self._send_json(200, {})

    _EXTENSIONS = {"PYTHON": ".py", "SQL": ".sql", "SCALA": ".scala", "R": ".r"}

    def ws_import(self):
        ws = self.workspace
        body = self._json_body()
        path = ws._norm(body.get("path"))
        fmt = body.get("format") or "SOURCE"
        language = body.get("language")
        overwrite = _json_bool(body.get("overwrite"))
        try:
            content = base64.b64decode(body.get("content") or "", validate=True)
        except (ValueError, TypeError):
            raise DatabricksError("INVALID_PARAMETER_VALUE", "Invalid base64 content")
        if fmt == "AUTO":
            is_notebook = content.lstrip().startswith((b"# Databricks notebook source",
                                                       b"-- Databricks notebook source",
                                                       b"// Databricks notebook source"))
            ext = posixpath.splitext(path)[1].lower()
            if is_notebook:
                language = language or {".sql": "SQL", ".scala": "SCALA", ".r": "R"}.get(ext, "PYTHON")
                path = posixpath.splitext(path)[0]
            object_type = "NOTEBOOK" if is_notebook else "FILE"
        elif fmt in ("SOURCE", "JUPYTER", "DBC", "HTML", "R_MARKDOWN"):
            if not language and fmt == "SOURCE":
                raise DatabricksError("INVALID_PARAMETER_VALUE", "The language field is required when format is SOURCE")
            object_type = "NOTEBOOK"
            language = language or "PYTHON"
        elif fmt == "RAW":
            object_type = "FILE"
        else:
            raise DatabricksError("INVALID_PARAMETER_VALUE", f"Invalid format: {fmt}")
        with ws._lock:
            parent = posixpath.dirname(path)
            parent_node = ws._tree.get(parent)
            if parent_node is None or parent_node["object_type"] != "DIRECTORY":
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"The parent folder ({parent}) does not exist.")
            existing = ws._tree.get(path)
            if existing is not None and (not overwrite or existing["object_type"] not in ("NOTEBOOK", "FILE")):
                raise DatabricksError("RESOURCE_ALREADY_EXISTS", f"{path} already exists.")
            extra = {"content": content}
            if object_type == "NOTEBOOK":
                extra["language"] = language
                # Every save of a notebook is a revision, named by its timestamp (what the
                # mlflow.databricks.notebookRevisionID tag of a run holds)
                earlier = existing.get("revisions", []) if existing is not None else []
                last = earlier[-1][0] if earlier else 0
                extra["revisions"] = earlier + [(max(_now_ms(), last + 1), content)]
            ws._add_node(path, object_type, **extra)
        return self._send_json(200, {})

    def ws_export(self):
        ws = self.workspace
        path = ws._norm(self.query.get("path"))
        fmt = self.query.get("format") or "SOURCE"
        with ws._lock:
            node = ws._tree.get(path)
            if node is None:
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Path ({path}) doesn't exist.")
            if node["object_type"] not in ("NOTEBOOK", "FILE"):
                raise DatabricksError("INVALID_PARAMETER_VALUE",
                                      f"Cannot export {path}: object type {node['object_type']} is not exportable"
                                      f" in format {fmt}")
            content = node["content"]
            file_type = self._EXTENSIONS.get(node.get("language"), "")[1:] if node["object_type"] == "NOTEBOOK" else \
                posixpath.splitext(path)[1][1:]
            if node["object_type"] == "NOTEBOOK":
                content = self._notebook_revision(path, node, self.query.get("revision.revision_timestamp"))
                content, file_type = _render_notebook(posixpath.basename(path), node["language"], content, fmt,
                                                      file_type)
            if len(content) > ws.max_export_bytes:
                raise DatabricksError("MAX_NOTEBOOK_SIZE_EXCEEDED",
                                      f"The exported content of {path} ({len(content)} bytes) exceeds the limit of "
                                      f"{ws.max_export_bytes} bytes.")
        if _json_bool(self.query.get("direct_download")):
            self._start(200, {"Content-Type": "application/octet-stream", "Content-Length": str(len(content))})
            return self.wfile.write(content)
        payload = {"content": base64.b64encode(content).decode()}
        if file_type:
            payload["file_type"] = file_type
        return self._send_json(200, payload)

    @staticmethod
    def _notebook_revision(path, node, revision):
        if revision in (None, ""):
            return node["content"]
        for ts, content in node.get("revisions", []):
            if str(ts) == str(revision):
                return content
        raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"Revision {revision} of {path} does not exist.")

    def scim_me(self):
        ws = self.workspace
        return self._send_json(200, {
            "id": ws.user_id, "userName": ws.user_name, "displayName": ws.user_name.split("@")[0], "active": True,
            "emails": [{"value": ws.user_name, "type": "work", "primary": True}],
            "groups": [{"display": "admins", "type": "direct", "value": "1000000000000001",
                        "$ref": "Groups/1000000000000001"}],
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:workspace:2.0:User"]})

    # ------------------------------------------------------------------ permissions (ACLs)
    _PERMISSION_TYPES = {
        "experiments": ("mlflowExperiment", ("CAN_READ", "CAN_EDIT", "CAN_MANAGE")),
        "registered-models": ("registered-model", ("CAN_READ", "CAN_EDIT", "CAN_MANAGE_STAGING_VERSIONS",
                                                   "CAN_MANAGE_PRODUCTION_VERSIONS", "CAN_MANAGE")),
        "notebooks": ("notebook", ("CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE")),
        "directories": ("directory", ("CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE")),
    }
    _PRINCIPALS = ("user_name", "group_name", "service_principal_name")
    _PRINCIPAL_LABELS = {"user_name": "UserName", "group_name": "GroupName",
                         "service_principal_name": "ServicePrincipalName"}

    def _check_permission_object(self, object_type, object_id):
        ws = self.workspace
        if object_type == "experiments":
            ws._upstream_json("GET", "/api/2.0/mlflow/experiments/get", {"experiment_id": object_id})
            return
        with ws._lock:
            if object_type == "registered-models":
                found = object_id in ws._model_ids.values()
            else:
                kind = "NOTEBOOK" if object_type == "notebooks" else "DIRECTORY"
                found = any(str(n["object_id"]) == object_id and n["object_type"] == kind for n in ws._tree.values())
        if not found:
            raise DatabricksError("RESOURCE_DOES_NOT_EXIST", f"{object_type[:-1].capitalize()} {object_id} does not "
                                                             f"exist.")

    def _permissions_view(self, object_type, object_id):
        ws = self.workspace
        with ws._lock:
            acl = ws._acls.setdefault((object_type, object_id), {("user_name", ws.user_name): "CAN_MANAGE"})
            entries = [{kind: name, "all_permissions": [{"permission_level": level, "inherited": False}]}
                       for (kind, name), level in sorted(acl.items())]
        entries.append({"group_name": "admins", "all_permissions": [
            {"permission_level": "CAN_MANAGE", "inherited": True, "inherited_from_object": ["/directories/"]}]})
        return {"object_id": f"/{object_type}/{object_id}", "object_type": self._PERMISSION_TYPES[object_type][0],
                "access_control_list": entries}

    def permissions(self):
        ws = self.workspace
        m = re.match(r"^/api/2\.0/permissions/([^/]+)/([^/]+)(/permissionLevels)?$", self.req_path)
        if not m or m.group(1) not in self._PERMISSION_TYPES:
            raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}'")
        object_type, object_id = m.group(1), urllib.parse.unquote(m.group(2))
        levels = self._PERMISSION_TYPES[object_type][1]
        self._check_permission_object(object_type, object_id)
        if m.group(3):
            if self.command != "GET":
                raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}'")
            return self._send_json(200, {"permission_levels": [
                {"permission_level": level, "description": f"Can {level[4:].lower().replace('_', ' ')}"}
                for level in levels]})
        if self.command in ("PUT", "PATCH"):
            changes = {}
            for entry in self._json_body().get("access_control_list") or []:
                principals = [(k, entry[k]) for k in self._PRINCIPALS if entry.get(k)]
                if len(principals) != 1:
                    raise DatabricksError("INVALID_PARAMETER_VALUE",
                                          "Exactly one of user_name, group_name or service_principal_name is required")
                level = entry.get("permission_level")
                if level not in levels:
                    raise DatabricksError("INVALID_PARAMETER_VALUE", f"Permission level {level} is not supported for "
                                                                     f"object type {object_type}")
                changes[principals[0]] = level
            with ws._lock:
                unknown = [p for p in changes if p not in ws._principals]
            if unknown:  # the whole request is refused, as Databricks does
                kind, name = unknown[0]
                raise DatabricksError("RESOURCE_DOES_NOT_EXIST",
                                      f"Principal: {self._PRINCIPAL_LABELS[kind]}({name}) does not exist")
            with ws._lock:
                acl = ws._acls.setdefault((object_type, object_id), {("user_name", ws.user_name): "CAN_MANAGE"})
                if self.command == "PUT":
                    acl.clear()
                    acl[("user_name", ws.user_name)] = "CAN_MANAGE"  # the owner keeps CAN_MANAGE
                acl.update(changes)
        elif self.command != "GET":
            raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}'")
        return self._send_json(200, self._permissions_view(object_type, object_id))

    # ------------------------------------------------------------------ Unity Catalog delegation
    def unity_catalog(self):
        registry = self.workspace.uc_registry
        if registry is None:
            raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}'")
        body = None
        if self.command in ("POST", "PATCH", "PUT", "DELETE"):
            raw = self._read_body()
            body = self._json_body() if raw else None
        result = registry.handle(self.command, self.req_path, dict(self.query), body)
        if result is None:
            raise DatabricksError("ENDPOINT_NOT_FOUND", f"No API found for '{self.command} {self.req_path}'")
        status, payload = result
        return self._send_json(status, payload if payload is not None else {})


_ROUTES_PREFIX = [
    ("/api/4.0/", _ShimHandler.endpoint_not_found),
    ("/api/2.0/fs/files/", _ShimHandler.files),
    ("/api/2.0/fs/directories/", _ShimHandler.directories),
    ("/api/2.0/mlflow/unity-catalog/", _ShimHandler.unity_catalog),
    ("/api/2.1/unity-catalog/", _ShimHandler.unity_catalog),
    ("/api/2.0/mlflow/logged-models/", _ShimHandler.logged_model_artifacts),
    ("/api/2.0/permissions/", _ShimHandler.permissions),
]
_ROUTES_EXACT = {
    ("POST", "/api/2.0/fs/create-download-url"): _ShimHandler.endpoint_not_found,
    ("POST", "/api/2.0/fs/create-upload-url"): _ShimHandler.endpoint_not_found,
    ("POST", "/api/2.0/fs/create-upload-part-urls"): _ShimHandler.endpoint_not_found,
    ("GET", "/api/2.0/fs/endpoints"): _ShimHandler.endpoint_not_found,
    ("POST", "/api/2.0/mlflow/artifacts/credentials-for-read"): _ShimHandler.credentials_for_run,
    ("POST", "/api/2.0/mlflow/artifacts/credentials-for-write"): _ShimHandler.credentials_for_run,
    ("GET", "/api/2.0/mlflow/artifacts/list"): _ShimHandler.artifacts_list,
    ("POST", "/api/2.0/mlflow/artifacts/create-multipart-upload"): _ShimHandler.mpu_not_supported,
    ("POST", "/api/2.0/mlflow/artifacts/complete-multipart-upload"): _ShimHandler.mpu_not_supported,
    ("GET", "/api/2.0/mlflow/artifacts/get-presigned-upload-part-url"): _ShimHandler.mpu_not_supported,
    ("GET", "/api/2.0/mlflow/model-versions/list-artifacts"): _ShimHandler.model_version_list_artifacts,
    ("GET", "/api/2.0/mlflow/model-versions/get-signed-download-uri"): _ShimHandler.model_version_signed_uri,
    ("GET", "/api/2.0/mlflow/databricks/registered-models/get"): _ShimHandler.databricks_registered_model,
    ("POST", "/api/2.0/mlflow/registered-models/rename"): _ShimHandler.registered_model_rename,
    ("POST", "/api/2.0/mlflow/experiments/create"): _ShimHandler.experiment_create,
    ("POST", "/api/2.0/mlflow/experiments/update"): _ShimHandler.experiment_update,
    ("POST", "/api/2.0/mlflow/experiments/delete"): _ShimHandler.experiment_delete,
    ("POST", "/api/2.0/mlflow/experiments/restore"): _ShimHandler.experiment_restore,
    ("GET", "/api/2.0/mlflow/experiments/get-by-name"): _ShimHandler.experiment_get_by_name,
    ("POST", "/api/2.0/workspace/mkdirs"): _ShimHandler.ws_mkdirs,
    ("GET", "/api/2.0/workspace/get-status"): _ShimHandler.ws_get_status,
    ("GET", "/api/2.0/workspace/list"): _ShimHandler.ws_list,
    ("POST", "/api/2.0/workspace/delete"): _ShimHandler.ws_delete,
    ("POST", "/api/2.0/workspace/import"): _ShimHandler.ws_import,
    ("GET", "/api/2.0/workspace/export"): _ShimHandler.ws_export,
    ("GET", "/api/2.0/preview/scim/v2/Me"): _ShimHandler.scim_me,
}
_ROUTES_REGEX = [
    (re.compile(r"^/api/2\.0/mlflow/traces/[^/]+/credentials-for-data-(upload|download)$"),
     _ShimHandler.trace_credentials),
]
