"""SageMaker MLflow offline: real `mlflow server` backends with S3 (moto) artifact roots, behind one router that
stands in for the SageMaker MLflow endpoints of several ARNs, checks SigV4 like AWS does, and routes on the ARN
header that the `sagemaker-mlflow` plugin sends.

What the real plugin (sagemaker-mlflow 0.5.0) does for every request to an `arn:` URI:
- URL host: `https://<region>.experiments.sagemaker.aws` (tracking servers) or
  `https://mlflow.sagemaker.<region>.app.aws` (mlflow apps), built from the ARN of the *client's* URI
  (`get_host_creds(store_uri)`), unless `SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT` is set: then that single URL, whatever
  the ARN;
- `Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request, ...` signed by botocore
  with the boto3 default credentials; region and service (`sagemaker-mlflow` for tracking servers, `sagemaker` for
  mlflow apps) from the *global* `mlflow.get_tracking_uri()`;
- `x-mlflow-sm-tracking-server-arn: <arn>` (or `x-sm-mlflow-app-arn` for mlflow apps), also from the global URI.

Two ways to point the plugin at the router:
- custom endpoint: `SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT=router.url`. The request then carries nothing of the
  client's own ARN (host, header and scope all come from the global URI or are the same for every ARN), so the
  router routes on the header and can only check that scope and header agree: a client for ARN2 used while the
  global URI is ARN1 is *silently* served by ARN1's backend;
- regional endpoints: `with router.regional_endpoints():` (unsets the custom endpoint and maps each real regional
  host to `router.url + "/_sm/<host>"`, in place of DNS). The request path then names the endpoint the client's
  own ARN resolves to, and the router rejects a scope for another region or service, as AWS does: the global-URI
  mistake becomes a 403.
"""
import hashlib
import http.client
import json
import os
import re
import threading
import time
import uuid
from collections import namedtuple
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.fakes.s3 import DUMMY_AWS_ENV
from tests.servers import MlflowServer

TRACKING_SERVER = "mlflow-tracking-server"
MLFLOW_APP = "mlflow-app"
ARN_HEADERS = {TRACKING_SERVER: "x-mlflow-sm-tracking-server-arn", MLFLOW_APP: "x-sm-mlflow-app-arn"}
SIGNING_SERVICES = {TRACKING_SERVER: "sagemaker-mlflow", MLFLOW_APP: "sagemaker"}
CUSTOM_ENDPOINT_ENV = "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT"
PRESIGNED_UPLOAD_PATH = "/api/2.0/mlflow/artifacts/presigned-upload-url"
REGIONAL_PREFIX = "/_sm/"

SageMakerArn = namedtuple("SageMakerArn", "arn partition region account resource_type resource_id")

_ARN_RE = re.compile(r"^arn:(?P<partition>aws[a-z-]*):sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                     r"(?P<type>mlflow-tracking-server|mlflow-app)/(?P<id>[A-Za-z0-9-]+)$")
_HOST_RES = [(re.compile(r"^(?P<region>[a-z0-9-]+)\.experiments\.sagemaker\.aws$"), TRACKING_SERVER),
             (re.compile(r"^mlflow\.sagemaker\.(?P<region>[a-z0-9-]+)\.app\.aws$"), MLFLOW_APP)]
_AUTH_RE = re.compile(r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
                      r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
                      r"Signature=(?P<sig>[0-9a-f]{64})$")
_HOP_HEADERS = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade",
                "host", "content-length"}


def tracking_server_arn(region, account, name, partition="aws"):
    return f"arn:{partition}:sagemaker:{region}:{account}:{TRACKING_SERVER}/{name}"


def mlflow_app_arn(region, account, app_id, partition="aws"):
    return f"arn:{partition}:sagemaker:{region}:{account}:{MLFLOW_APP}/{app_id}"


def parse_arn(arn):
    """SageMakerArn for a tracking-server or mlflow-app ARN; ValueError otherwise."""
    m = _ARN_RE.match(arn or "")
    if not m:
        raise ValueError(f"not a SageMaker MLflow ARN: {arn!r}")
    return SageMakerArn(arn, m["partition"], m["region"], m["account"], m["type"], m["id"])


def endpoint_host(region, resource_type):
    """The real host the plugin sends requests for this kind of ARN to (partition aws)."""
    if resource_type == TRACKING_SERVER:
        return f"{region}.experiments.sagemaker.aws"
    return f"mlflow.sagemaker.{region}.app.aws"


def client_env(router_url, s3_url, aws_env=DUMMY_AWS_ENV):
    """Environment for a client process using the custom-endpoint mode."""
    return dict(aws_env, **{CUSTOM_ENDPOINT_ENV: router_url, "MLFLOW_S3_ENDPOINT_URL": s3_url})


class SageMakerTrackingServer(MlflowServer):
    """A real `mlflow server` configured like a SageMaker tracking server: artifact root `s3://<bucket>/` on moto,
    no artifact proxying, so the server hands out `s3://` locations and clients write to S3 themselves.
    `client()` (inherited) talks to the backend directly, bypassing the router: use it to check what landed."""

    def __init__(self, base_dir, name, s3_url, bucket, arn=None, aws_env=DUMMY_AWS_ENV):
        super().__init__(base_dir, name)
        self.s3_url = s3_url
        self.bucket = bucket
        self.arn = arn
        self.aws_env = dict(aws_env)

    @property
    def artifact_root(self):
        return f"s3://{self.bucket}/"

    def artifact_args(self):
        return ["--default-artifact-root", self.artifact_root, "--no-serve-artifacts"]

    def server_env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "SAGEMAKER_")) and k not in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
        env.update(self.aws_env, MLFLOW_S3_ENDPOINT_URL=self.s3_url, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        return env


class _Reject(Exception):
    def __init__(self, error_type, message, reason, status=403):
        super().__init__(reason)
        self.error_type, self.message, self.reason, self.status = error_type, message, reason, status


class SageMakerRouter:
    """One ThreadingHTTPServer on 127.0.0.1 standing in for the SageMaker MLflow endpoints of several ARNs.

    Every request must carry a SigV4 `Authorization` for the known dummy key, whose signature is recomputed with
    botocore over the request as received, and an ARN header naming a registered ARN of the header's kind; the
    credential scope must name the region and signing service of the endpoint (regional mode: from the path
    `/_sm/<host>/...`; custom-endpoint mode: from the ARN in the header). Otherwise: 403 with an AWS-style JSON body
    (`{"__type": ..., "message": ...}`, header `x-amzn-ErrorType`). Accepted requests are forwarded to the ARN's
    backend (the `/_sm/<host>` prefix removed).

    `requests` is the log: one dict per request with method, path (backend path, no query), query, endpoint
    (regional host or None), arn_header and arn_header_name (the ARN header sent, and its name), region, service
    and access_key (from the credential scope), target (the ARN routed to, or None), status, rejected_reason
    (None when forwarded).

    With `s3_endpoint_url`, the router also answers SageMaker's own
    `POST /api/2.0/mlflow/artifacts/presigned-upload-url` ({run_id, path, expiration} -> {presigned_url, headers}),
    used by the plugin when `SAGEMAKER_PRESIGNED_URL_UPLOAD_ENABLED=true`, with a presigned S3 PUT URL (moto) for
    the run's artifact location.
    """

    def __init__(self, access_key="testing", secret_key="testing", verify_signature=True, max_skew_seconds=300,
                 s3_endpoint_url=None, forward_timeout=120):
        self.credentials = {access_key: secret_key}
        self.verify_signature = verify_signature
        self.max_skew_seconds = max_skew_seconds
        self.s3_endpoint_url = s3_endpoint_url
        self.forward_timeout = forward_timeout
        self.backends = {}
        self.requests = []
        self._lock = threading.Lock()
        self._server = None
        self._thread = None

    # ---- lifecycle ----
    @property
    def url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def port(self):
        return self._server.server_address[1]

    def start(self):
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="sagemaker-router", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(10)
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- configuration ----
    def add(self, arn, backend_url):
        parse_arn(arn)
        with self._lock:
            self.backends[arn] = backend_url.rstrip("/")
        return arn

    def regional_url(self, host):
        return f"{self.url}{REGIONAL_PREFIX}{host}"

    def endpoint_url(self, arn):
        """The URL the plugin sends this ARN's requests to in regional mode."""
        a = parse_arn(arn)
        return self.regional_url(endpoint_host(a.region, a.resource_type))

    @contextmanager
    def regional_endpoints(self):
        """Unset SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT and make the plugin's real regional hosts resolve to the router
        (`SageMakerMLflowHostMetadataProvider._get_endpoint` wrapped: the plugin still builds the real URL, from
        the ARN, its partition and resource type, and the router gets that host in the path). Restored on exit."""
        from sagemaker_mlflow.mlflow_sagemaker_helpers import SageMakerMLflowHostMetadataProvider as provider
        original = provider.__dict__["_get_endpoint"]
        router = self

        def _get_endpoint(self_):
            return router.regional_url(urlsplit(original(self_)).netloc)

        saved_env = os.environ.pop(CUSTOM_ENDPOINT_ENV, None)
        provider._get_endpoint = _get_endpoint
        try:
            yield self
        finally:
            provider._get_endpoint = original
            if saved_env is not None:
                os.environ[CUSTOM_ENDPOINT_ENV] = saved_env

    def clear_log(self):
        with self._lock:
            self.requests.clear()

    def rejected(self):
        with self._lock:
            return [r for r in self.requests if r["rejected_reason"]]

    def log_since(self, index):
        with self._lock:
            return list(self.requests[index:])

    # ---- request checks ----
    def _check(self, method, raw_path, headers, body):
        """-> (endpoint host or None, backend path, ARN routed to, scope dict). Raises _Reject."""
        endpoint = None
        path = raw_path
        if raw_path.startswith(REGIONAL_PREFIX):
            endpoint, _, rest = raw_path[len(REGIONAL_PREFIX):].partition("/")
            path = "/" + rest
        scope = {"region": None, "service": None, "access_key": None}
        auth = headers.get("authorization")
        if not auth:
            raise _Reject("MissingAuthenticationTokenException", "Missing Authentication Token",
                          "no Authorization header")
        m = _AUTH_RE.match(auth.strip())
        if not m:
            raise _Reject("IncompleteSignatureException", "Authorization header requires 'Credential', "
                          "'SignedHeaders' and 'Signature' (AWS4-HMAC-SHA256)", f"not SigV4: {auth[:40]!r}")
        scope.update(region=m["region"], service=m["service"], access_key=m["key"])

        arn_header, kind = None, None
        for resource_type, name in ARN_HEADERS.items():
            if headers.get(name):
                if arn_header is not None:
                    raise _Reject("AccessDeniedException", "Ambiguous ARN headers", "both ARN headers present")
                arn_header, kind = headers[name], resource_type
        if arn_header is None:
            raise _Reject("AccessDeniedException", "Missing SageMaker MLflow resource ARN header",
                          "no ARN header")
        try:
            arn = parse_arn(arn_header)
        except ValueError:
            raise _Reject("ValidationException", f"{arn_header} is not a valid arn", "malformed ARN header")
        if arn.resource_type != kind:
            raise _Reject("ValidationException", f"{arn_header} is not a {kind}",
                          f"{arn.resource_type} ARN in header {ARN_HEADERS[kind]}")

        if endpoint is not None:
            want_region, want_kind = _endpoint_region(endpoint)
            if want_region is None:
                raise _Reject("UnknownEndpoint", f"Unknown endpoint {endpoint}", f"unknown endpoint {endpoint}")
        else:
            want_region, want_kind = arn.region, arn.resource_type
        want_service = SIGNING_SERVICES[want_kind]
        if m["region"] != want_region:
            raise _Reject("InvalidSignatureException",
                          f"Credential should be scoped to a valid region, not '{m['region']}'. ",
                          f"scope region {m['region']} != {want_region}")
        if m["service"] != want_service:
            raise _Reject("InvalidSignatureException",
                          f"Credential should be scoped to correct service: '{want_service}'. ",
                          f"scope service {m['service']} != {want_service}")
        secret = self.credentials.get(m["key"])
        if secret is None:
            raise _Reject("UnrecognizedClientException", "The security token included in the request is invalid.",
                          f"unknown access key {m['key']}")
        if self.verify_signature:
            self._verify_sigv4(method, raw_path, headers, body, m, secret)
        if arn.region != want_region or arn.resource_type != want_kind:
            raise _Reject("AccessDeniedException", f"{arn.arn} is not served by {endpoint}",
                          f"ARN {arn.arn} sent to endpoint {endpoint}")
        with self._lock:
            known = arn.arn in self.backends
        if not known:
            raise _Reject("AccessDeniedException", f"User is not authorized to access {arn.arn}",
                          f"unregistered ARN {arn.arn}")
        return endpoint, path, arn.arn, scope

    def _verify_sigv4(self, method, raw_path, headers, body, m, secret):
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        amz_date = headers.get("x-amz-date")
        if not amz_date or not re.match(r"^\d{8}T\d{6}Z$", amz_date) or amz_date[:8] != m["date"]:
            raise _Reject("IncompleteSignatureException", "X-Amz-Date missing or not matching the credential date",
                          f"bad X-Amz-Date {amz_date!r}")
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc).timestamp()
        if abs(time.time() - signed_at) > self.max_skew_seconds:
            raise _Reject("InvalidSignatureException", f"Signature expired: {amz_date} is now earlier than allowed",
                          f"clock skew: X-Amz-Date {amz_date}")
        content_sha = headers.get("x-amz-content-sha256")
        if content_sha is not None and content_sha != hashlib.sha256(body).hexdigest():
            raise _Reject("InvalidSignatureException", "The request signature we calculated does not match the "
                          "signature you provided.", "X-Amz-Content-SHA256 does not match the body")
        signed_names = m["signed"].split(";")
        if "host" not in signed_names:
            raise _Reject("InvalidSignatureException", "'Host' must be a signed header", "host not signed")
        signed = {}
        for name in signed_names:
            if name not in headers:
                raise _Reject("InvalidSignatureException", f"Signed header {name} is missing",
                              f"signed header {name} missing")
            signed[name] = headers[name]
        request = AWSRequest(method=method, url=f"http://{headers['host']}{raw_path}", data=body, headers=signed)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(Credentials(m["key"], secret), m["service"], m["region"])
        canonical = signer.canonical_request(request)
        if signer.signed_headers(signer.headers_to_sign(request)) != m["signed"]:
            raise _Reject("InvalidSignatureException", "SignedHeaders mismatch", "SignedHeaders mismatch")
        expected = signer.signature(signer.string_to_sign(request, canonical), request)
        if expected != m["sig"]:
            raise _Reject("InvalidSignatureException",
                          "The request signature we calculated does not match the signature you provided. Check your "
                          "AWS Secret Access Key and signing method. Consult the service documentation for details.",
                          "signature mismatch")

    # ---- SageMaker-only endpoint ----
    def _presigned_upload(self, arn, body):
        import boto3
        from botocore.config import Config
        req = json.loads(body or b"{}")
        status, _, data = self._forward(arn, "GET", f"/api/2.0/mlflow/runs/get?run_id={req.get('run_id', '')}", {}, b"")
        if status != 200:
            return status, {"Content-Type": "application/json"}, data
        artifact_uri = json.loads(data)["run"]["info"]["artifact_uri"]
        parts = urlsplit(artifact_uri)
        if parts.scheme != "s3":
            error = {"error_code": "INVALID_PARAMETER_VALUE", "message": f"artifact root {artifact_uri} is not S3"}
            return 400, {"Content-Type": "application/json"}, json.dumps(error).encode()
        key = "/".join(p for p in (parts.path.strip("/"), req.get("path", "").strip("/")) if p)
        s3 = boto3.client("s3", endpoint_url=self.s3_endpoint_url, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing",
                          config=Config(signature_version="s3v4"))
        url = s3.generate_presigned_url("put_object", Params={"Bucket": parts.netloc, "Key": key},
                                        ExpiresIn=int(req.get("expiration", 900)))
        return 200, {"Content-Type": "application/json"}, json.dumps({"presigned_url": url, "headers": {}}).encode()

    # ---- forwarding ----
    def _forward(self, arn, method, path_qs, headers, body):
        with self._lock:
            backend = urlsplit(self.backends[arn])
        conn = http.client.HTTPConnection(backend.hostname, backend.port, timeout=self.forward_timeout)
        try:
            fwd = {k: v for k, v in headers.items() if k not in _HOP_HEADERS and k != "authorization"}
            fwd["Content-Length"] = str(len(body))
            conn.request(method, (backend.path or "") + path_qs, body=body, headers=fwd)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP_HEADERS}
            return resp.status, out, data
        finally:
            conn.close()

    def _log(self, entry):
        with self._lock:
            self.requests.append(entry)

    def _handler(self):
        router = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _body(self):
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _send(self, status, headers, data):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def _handle(self):
                body = self._body()
                headers = {}
                for k, v in self.headers.items():
                    headers.setdefault(k.lower(), v)
                raw_path = self.path
                split = urlsplit(raw_path)
                entry = {"method": self.command, "path": split.path, "query": split.query, "endpoint": None,
                         "arn_header": None, "arn_header_name": None,
                         "region": None, "service": None, "access_key": None, "target": None,
                         "status": None, "rejected_reason": None}
                for name in ARN_HEADERS.values():
                    if headers.get(name):
                        entry.update(arn_header=headers[name], arn_header_name=name)
                        break
                m = _AUTH_RE.match((headers.get("authorization") or "").strip())
                if m:
                    entry.update(region=m["region"], service=m["service"], access_key=m["key"])
                try:
                    endpoint, path, arn, _ = router._check(self.command, raw_path, headers, body)
                except _Reject as r:
                    if raw_path.startswith(REGIONAL_PREFIX):
                        host, _, rest = raw_path[len(REGIONAL_PREFIX):].partition("/")
                        entry.update(endpoint=host, path=urlsplit("/" + rest).path)
                    entry.update(status=r.status, rejected_reason=r.reason)
                    router._log(entry)
                    data = json.dumps({"__type": r.error_type, "message": r.message}).encode()
                    self._send(r.status, {"Content-Type": "application/x-amz-json-1.1",
                                          "x-amzn-ErrorType": r.error_type,
                                          "x-amzn-RequestId": str(uuid.uuid4())}, data)
                    return
                entry.update(endpoint=endpoint, path=urlsplit(path).path, target=arn)
                try:
                    presigned = urlsplit(path).path == PRESIGNED_UPLOAD_PATH and self.command == "POST"
                    if presigned and router.s3_endpoint_url:
                        status, out, data = router._presigned_upload(arn, body)
                    else:
                        status, out, data = router._forward(arn, self.command, path, headers, body)
                except Exception as e:  # backend down
                    status, out, data = 502, {"Content-Type": "application/json"}, json.dumps(
                        {"__type": "InternalFailure", "message": f"backend error: {e}"}).encode()
                entry["status"] = status
                router._log(entry)
                self._send(status, out, data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        return Handler


def _endpoint_region(host):
    for regex, kind in _HOST_RES:
        m = regex.match(host)
        if m:
            return m["region"], kind
    return None, None
