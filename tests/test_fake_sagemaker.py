"""The SageMaker test infrastructure, exercised with the real `sagemaker-mlflow` plugin: two SageMaker tracking
servers (real `mlflow server`s with S3 artifact roots on moto) behind one SageMakerRouter, plus an mlflow-app ARN.

What these tests pin down about the plugin (sagemaker-mlflow 0.5.0):
- the SigV4 scope and the ARN header come from the *global* tracking URI, not from the MlflowClient in use;
- with SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT, a client for ARN2 used while the global URI is ARN1 is served by ARN1's
  server without any error (nothing in the request names ARN2); with regional endpoints the router rejects it;
- with the global URI left at its default, any ARN client fails with IndexError before sending anything;
- on non-ARN URIs the plugin's header provider logs a warning on every request, and with an ARN as the global URI it
  adds that ARN header to requests to other servers.
"""
import contextlib
import hashlib
import io
import logging
import os
from datetime import datetime, timedelta, timezone
from unittest import mock

import mlflow
import pytest
import requests
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from tests.fakes.s3 import DUMMY_AWS_ENV
from tests.fakes.sagemaker import CUSTOM_ENDPOINT_ENV, endpoint_host, mlflow_app_arn, parse_arn, tracking_server_arn

pytest.importorskip("sagemaker_mlflow")

ACCOUNT = "123456789012"
ARN1 = tracking_server_arn("us-east-1", ACCOUNT, "ts-one")
ARN2 = tracking_server_arn("eu-west-1", ACCOUNT, "ts-two")
APP_ARN = mlflow_app_arn("us-west-2", ACCOUNT, "app-0123abcd")
UNKNOWN_ARN = tracking_server_arn("us-east-1", ACCOUNT, "not-registered")
HEADER_LOGGER = "mlflow.tracking.request_header.registry"


@pytest.fixture(scope="module")
def sm(sagemaker_env):
    """The session's SageMaker environment (tests/conftest.py): moto, two tracking servers, the router."""
    return sagemaker_env


@pytest.fixture(autouse=True)
def client_env(sm, monkeypatch, tmp_path):
    """The client side as in a user's shell: dummy AWS keys, S3 endpoint on moto, all ARNs via the router."""
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
                 "SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN", "SAGEMAKER_PRESIGNED_URL_UPLOAD_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", sm.moto.url)
    monkeypatch.setenv(CUSTOM_ENDPOINT_ENV, sm.router.url)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    yield
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)


@pytest.fixture
def regional(sm):
    with sm.router.regional_endpoints():
        yield sm.router


# ---------------------------------------------------------------------------------------------- helpers, pure

def test_arn_helpers():
    assert ARN1 == "arn:aws:sagemaker:us-east-1:123456789012:mlflow-tracking-server/ts-one"
    assert APP_ARN == "arn:aws:sagemaker:us-west-2:123456789012:mlflow-app/app-0123abcd"
    a = parse_arn(APP_ARN)
    assert (a.region, a.account, a.resource_type, a.resource_id) == ("us-west-2", ACCOUNT, "mlflow-app", "app-0123abcd")
    assert endpoint_host("eu-west-1", "mlflow-tracking-server") == "eu-west-1.experiments.sagemaker.aws"
    assert endpoint_host("us-west-2", "mlflow-app") == "mlflow.sagemaker.us-west-2.app.aws"
    with pytest.raises(ValueError):
        parse_arn("http://127.0.0.1:5000")


# ---------------------------------------------------------------------------------------- end to end, ARN1

def test_arn1_end_to_end(sm, uniq, tmp_path):
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    from mlflow.tracking._tracking_service.utils import _get_store

    mlflow.set_tracking_uri(ARN1)
    start = len(sm.router.requests)
    client = MlflowClient(ARN1)
    assert type(_get_store(ARN1)).__name__ == "MlflowSageMakerStore"

    name = f"sm exp {uniq}"  # a space: GET query strings are re-encoded (+ -> %20) by the plugin before signing
    exp_id = client.create_experiment(name)
    assert client.get_experiment_by_name(name).experiment_id == exp_id
    assert client.get_experiment(exp_id).artifact_location == f"s3://sm-bucket-1/{exp_id}"
    run = client.create_run(exp_id, run_name="r1")
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    client.log_metric(run_id, "loss", 0.25, step=1)
    local = tmp_path / "hello.txt"
    local.write_text("hello sagemaker")
    client.log_artifact(run_id, str(local), "dir")
    client.set_terminated(run_id)

    got = client.get_run(run_id)
    assert got.data.params == {"alpha": "0.5"} and got.data.metrics == {"loss": 0.25}
    assert got.info.artifact_uri == f"s3://sm-bucket-1/{exp_id}/{run_id}/artifacts"
    assert type(get_artifact_repository(got.info.artifact_uri)).__name__ == "S3PresignedArtifactRepository"
    assert sm.moto.keys("sm-bucket-1", f"{exp_id}/{run_id}/") == [f"{exp_id}/{run_id}/artifacts/dir/hello.txt"]
    assert [f.path for f in client.list_artifacts(run_id, "dir")] == ["dir/hello.txt"]
    path = client.download_artifacts(run_id, "dir/hello.txt", str(tmp_path / "dl"))
    assert open(path).read() == "hello sagemaker"

    model = f"sm model {uniq}"
    client.create_registered_model(model)
    mv = client.create_model_version(model, f"{got.info.artifact_uri}/dir", run_id=run_id)
    assert mv.version == "1"
    assert client.get_model_version_download_uri(model, "1") == f"s3://sm-bucket-1/{exp_id}/{run_id}/artifacts/dir"
    client.update_model_version(model, "1", description="desc")  # PATCH
    client.set_registered_model_alias(model, "champion", "1")
    assert client.get_model_version_by_alias(model, "champion").description == "desc"
    client.delete_registered_model_alias(model, "champion")  # DELETE with a query string
    assert client.get_registered_model(model).aliases == {}
    dl = mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model}/1", dst_path=str(tmp_path / "mv"))
    assert open(os.path.join(dl, "hello.txt")).read() == "hello sagemaker"

    # what reached the backend, seen directly
    assert sm.s1.client().get_run(run_id).data.params == {"alpha": "0.5"}
    assert sm.s2.client().get_experiment_by_name(name) is None
    log = sm.router.log_since(start)
    assert log and all(r["status"] == 200 and r["rejected_reason"] is None for r in log)
    assert {(r["arn_header_name"], r["arn_header"], r["region"], r["service"], r["target"]) for r in log} == {
        ("x-mlflow-sm-tracking-server-arn", ARN1, "us-east-1", "sagemaker-mlflow", ARN1)}
    assert any(r["method"] == "GET" and "%20" in r["query"] for r in log)  # signature checked on a re-encoded URL
    assert {"GET", "POST", "PATCH", "DELETE"} <= {r["method"] for r in log}


# --------------------------------------------------------------------------------- pitfall 2 (global URI)

def test_custom_endpoint_misroutes_silently(sm, uniq):
    """SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT is one URL for every ARN, so a client for ARN2 used while the global URI is
    ARN1 sends a perfectly valid ARN1 request: the router cannot tell, and the data lands on ARN1's server.
    Tests that rely on the custom endpoint must check *where* data landed; use regional endpoints for a 403."""
    mlflow.set_tracking_uri(ARN1)
    start = len(sm.router.requests)
    name = f"misrouted-{uniq}"
    MlflowClient(ARN2).create_experiment(name)
    assert sm.s1.client().get_experiment_by_name(name) is not None
    assert sm.s2.client().get_experiment_by_name(name) is None
    (entry,) = sm.router.log_since(start)
    assert (entry["arn_header"], entry["region"], entry["target"], entry["status"]) == (ARN1, "us-east-1", ARN1, 200)


def test_regional_rejects_client_for_other_arn(sm, regional, uniq):
    """Regional endpoints: the client for ARN2 sends to the eu-west-1 endpoint, but signs for us-east-1 and names
    ARN1 (the global URI): 403, as AWS would answer, and nothing reaches either backend."""
    mlflow.set_tracking_uri(ARN1)
    start = len(sm.router.requests)
    name = f"rejected-{uniq}"
    with pytest.raises(MlflowException, match="Credential should be scoped to a valid region, not 'us-east-1'"):
        MlflowClient(ARN2).create_experiment(name)
    (entry,) = sm.router.log_since(start)
    assert entry["status"] == 403 and entry["target"] is None
    assert entry["endpoint"] == "eu-west-1.experiments.sagemaker.aws"
    assert (entry["arn_header"], entry["region"], entry["service"]) == (ARN1, "us-east-1", "sagemaker-mlflow")
    assert entry["rejected_reason"] == "scope region us-east-1 != eu-west-1"
    assert sm.s1.client().get_experiment_by_name(name) is None
    assert sm.s2.client().get_experiment_by_name(name) is None
    # the matching client still works under the same global URI
    assert MlflowClient(ARN1).search_experiments(max_results=1)


def test_regional_global_arn2_works_and_sides_switch(sm, regional, uniq, tmp_path):
    start = len(sm.router.requests)
    mlflow.set_tracking_uri(ARN2)
    c2 = MlflowClient(ARN2)
    exp2 = c2.create_experiment(f"sm2-{uniq}")
    run = c2.create_run(exp2)
    c2.log_text(run.info.run_id, "on two", "t.txt")
    assert sm.moto.keys("sm-bucket-2", f"{exp2}/{run.info.run_id}/") == [f"{exp2}/{run.info.run_id}/artifacts/t.txt"]
    # a copy ARN2 -> ARN1 in one process: switch the global URI to each side around its calls
    mlflow.set_tracking_uri(ARN2)
    data = MlflowClient(ARN2).get_run(run.info.run_id)
    mlflow.set_tracking_uri(ARN1)
    c1 = MlflowClient(ARN1)
    exp1 = c1.create_experiment(f"copied-{uniq}")
    c1.create_run(exp1, tags={"src_run": data.info.run_id})
    log = sm.router.log_since(start)
    assert all(r["status"] == 200 for r in log)
    assert {(r["endpoint"], r["region"], r["target"]) for r in log} == {
        ("eu-west-1.experiments.sagemaker.aws", "eu-west-1", ARN2),
        ("us-east-1.experiments.sagemaker.aws", "us-east-1", ARN1)}
    assert sm.s2.client().get_experiment(exp2).name == f"sm2-{uniq}"
    assert sm.s1.client().get_experiment(exp1).name == f"copied-{uniq}"


@pytest.mark.parametrize("mode", ["custom_endpoint", "regional"])
def test_mlflow_app_arn(sm, uniq, mode):
    """mlflow-app ARNs: header x-sm-mlflow-app-arn, SigV4 service `sagemaker`, host
    mlflow.sagemaker.<region>.app.aws."""
    ctx = sm.router.regional_endpoints() if mode == "regional" else contextlib.nullcontext()
    with ctx:
        mlflow.set_tracking_uri(APP_ARN)
        start = len(sm.router.requests)
        name = f"app-{mode}-{uniq}"
        exp = MlflowClient(APP_ARN).create_experiment(name)
        assert MlflowClient(APP_ARN).get_experiment(exp).artifact_location == f"s3://sm-bucket-2/{exp}"
        log = sm.router.log_since(start)
    assert {(r["arn_header_name"], r["arn_header"], r["region"], r["service"], r["status"]) for r in log} == {
        ("x-sm-mlflow-app-arn", APP_ARN, "us-west-2", "sagemaker", 200)}
    assert {r["endpoint"] for r in log} == ({"mlflow.sagemaker.us-west-2.app.aws"} if mode == "regional" else {None})


# ------------------------------------------------------------------------ global URI default, pitfall 3

def test_default_global_uri_fails_with_index_error(sm):
    """Global tracking URI left at its default (a sqlite:/// path): the plugin's auth provider parses it as an ARN."""
    start = len(sm.router.requests)
    assert not mlflow.get_tracking_uri().startswith("arn:")
    with pytest.raises(IndexError, match="list index out of range"):
        MlflowClient(ARN1).search_experiments()
    assert sm.router.log_since(start) == []  # failed before sending


@pytest.fixture
def header_warnings():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger(HEADER_LOGGER)
    logger.addHandler(handler)
    mlflow_logger = logging.getLogger("mlflow")  # a command run earlier in this process quiets MLflow's logger
    saved_level = mlflow_logger.level
    mlflow_logger.setLevel(logging.WARNING)
    yield stream
    mlflow_logger.setLevel(saved_level)
    logger.removeHandler(handler)


def test_non_arn_uri_warns_on_every_request(sm, header_warnings):
    mlflow.set_tracking_uri(sm.s1.uri)
    client = MlflowClient(sm.s1.uri)
    client.search_experiments(max_results=1)
    client.search_registered_models(max_results=1)
    lines = [line for line in header_warnings.getvalue().splitlines() if line]
    assert lines == ["Encountered unexpected error during resolving request headers: list index out of range"] * 2


def test_arn_global_leaks_header_to_other_servers(sm):
    """With the global URI at ARN1, a client for a plain http server (here: the router's URL, unsigned) still gets the
    ARN1 header from the plugin; no SigV4 (auth is only for `arn` host creds), so the router answers 403."""
    mlflow.set_tracking_uri(ARN1)
    start = len(sm.router.requests)
    with pytest.raises(MlflowException, match="Missing Authentication Token"):
        MlflowClient(sm.router.url).search_experiments(max_results=1)
    (entry,) = sm.router.log_since(start)
    assert (entry["arn_header"], entry["region"], entry["status"], entry["rejected_reason"]) == (
        ARN1, None, 403, "no Authorization header")


# ------------------------------------------------------------------------------- router checks, raw SigV4

def _signed(router, arn, method="POST", path="/api/2.0/mlflow/experiments/search", body=b'{"max_results": 1}',
            region=None, service=None, key="testing", secret="testing", header=None, now=None, url=None):
    """A request signed like the plugin's AuthBoto does (botocore SigV4Auth, X-Amz-Content-SHA256)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    a = parse_arn(arn)
    headers = {"Content-Type": "application/json", "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest(),
               header or ("x-sm-mlflow-app-arn" if a.resource_type == "mlflow-app"
                          else "x-mlflow-sm-tracking-server-arn"): arn}
    req = AWSRequest(method=method, url=(url or router.url) + path, data=body, headers=headers)
    signer = SigV4Auth(Credentials(key, secret), service or ("sagemaker" if a.resource_type == "mlflow-app"
                                                             else "sagemaker-mlflow"), region or a.region)
    if now is None:
        signer.add_auth(req)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=now):
            signer.add_auth(req)
    return req


def _send(req, body=None, drop=()):
    headers = {k: v for k, v in req.headers.items() if k not in drop}
    return requests.request(req.method, req.url, data=req.body if body is None else body, headers=headers, timeout=30)


def test_router_sigv4_checks(sm):
    router = sm.router
    start = len(router.requests)
    assert _send(_signed(router, ARN1)).status_code == 200
    assert _send(_signed(router, APP_ARN)).status_code == 200
    cases = [
        (_send(_signed(router, ARN1), drop=("Authorization",)), "MissingAuthenticationTokenException",
         "no Authorization header"),
        (_send(_signed(router, ARN1, secret="wrong")), "InvalidSignatureException", "signature mismatch"),
        (_send(_signed(router, ARN1, key="AKIAOTHER")), "UnrecognizedClientException", "unknown access key AKIAOTHER"),
        (_send(_signed(router, ARN1), body=b'{"max_results": 2}'), "InvalidSignatureException",
         "X-Amz-Content-SHA256 does not match the body"),
        (_send(_signed(router, ARN1, service="sagemaker")), "InvalidSignatureException",
         "scope service sagemaker != sagemaker-mlflow"),
        (_send(_signed(router, APP_ARN, service="sagemaker-mlflow")), "InvalidSignatureException",
         "scope service sagemaker-mlflow != sagemaker"),
        (_send(_signed(router, ARN1, region="eu-west-1")), "InvalidSignatureException",
         "scope region eu-west-1 != us-east-1"),
        (_send(_signed(router, UNKNOWN_ARN)), "AccessDeniedException", f"unregistered ARN {UNKNOWN_ARN}"),
        (_send(_signed(router, ARN1, header="x-sm-mlflow-app-arn")), "ValidationException",
         "mlflow-tracking-server ARN in header x-sm-mlflow-app-arn"),
        (_send(_signed(router, ARN1), drop=("x-mlflow-sm-tracking-server-arn",)), "AccessDeniedException",
         "no ARN header"),
        (_send(_signed(router, ARN1, now=datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(hours=1))),
         "InvalidSignatureException", None),
        # regional endpoint: an ARN of another region, correctly signed for it, sent to the eu-west-1 endpoint
        (_send(_signed(router, ARN1, region="eu-west-1",
                       url=router.regional_url(endpoint_host("eu-west-1", "mlflow-tracking-server")))),
         "AccessDeniedException", f"ARN {ARN1} sent to endpoint eu-west-1.experiments.sagemaker.aws"),
    ]
    log = router.log_since(start)
    assert [r["status"] for r in log[:2]] == [200, 200]
    for (resp, error_type, reason), entry in zip(cases, log[2:]):
        assert resp.status_code == 403
        assert resp.headers["x-amzn-ErrorType"] == error_type == resp.json()["__type"]
        assert entry["status"] == 403 and entry["target"] is None
        if reason:
            assert entry["rejected_reason"] == reason
        else:
            assert entry["rejected_reason"].startswith("clock skew")
    assert len(log) == 2 + len(cases)


# ---------------------------------------------------------------------------------- presigned-URL uploads

def test_presigned_upload(sm, monkeypatch, uniq, tmp_path):
    """SAGEMAKER_PRESIGNED_URL_UPLOAD_ENABLED=true: the plugin asks the (SigV4-signed) SageMaker-only endpoint for a
    presigned PUT URL and uploads there; the router answers it with a moto presigned URL."""
    monkeypatch.setenv("SAGEMAKER_PRESIGNED_URL_UPLOAD_ENABLED", "true")
    mlflow.set_tracking_uri(ARN1)
    client = MlflowClient(ARN1)
    exp = client.create_experiment(f"presigned-{uniq}")
    run_id = client.create_run(exp).info.run_id
    start = len(sm.router.requests)
    local = tmp_path / "p.txt"
    local.write_text("via presigned url")
    client.log_artifact(run_id, str(local), "sub")
    assert [(r["path"], r["status"]) for r in sm.router.log_since(start)] == [
        ("/api/2.0/mlflow/runs/get", 200), ("/api/2.0/mlflow/artifacts/presigned-upload-url", 200)]
    assert sm.moto.keys("sm-bucket-1", f"{exp}/{run_id}/") == [f"{exp}/{run_id}/artifacts/sub/p.txt"]
    assert open(client.download_artifacts(run_id, "sub/p.txt", str(tmp_path / "dl"))).read() == "via presigned url"
