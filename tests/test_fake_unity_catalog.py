"""The UC model-registry fake (tests/fakes/unity_catalog.py) driven by the real MLflow client.

Three client paths: the OSS store (registry ``uc:http://...``, files on ``file://``), the legacy
Databricks store (``databricks-uc://profile`` through a tiny bearer-checking workspace wrapper, files
in a moto S3 server through temporary credentials), and the native Databricks store
(``MLFLOW_ENABLE_UC_NATIVE_MODEL_REGISTRY=true``). Tracking is a plain local ``mlflow server``.
"""
import json
import os
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mlflow
import pytest
import requests
from google.protobuf.json_format import ParseDict
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models.signature import ModelSignature
from mlflow.protos import unity_catalog_messages_pb2 as uc_pb
from mlflow.types import ColSpec, Schema

from tests.fakes.s3 import MotoS3
from tests.fakes.unity_catalog import (LEGACY_PREFIX, MSG_NO_SIGNATURE, UC_PREFIX,
                                       FakeUnityCatalog)
from tests.servers import MlflowServer

TOKEN = "dapi-uc"
BUCKET = "uc-bucket"


class Echo(mlflow.pyfunc.PythonModel):  # no type hints on purpose: they would infer a signature
    def predict(self, context, model_input, params=None):
        return model_input


# ---------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def tracking(tmp_path_factory):
    server = MlflowServer(str(tmp_path_factory.mktemp("uc-tracking")), "tracking").start()
    yield server
    server.kill()


@pytest.fixture(scope="module")
def logged(tracking):
    """Two pyfunc models logged to the tracking server in one run: with and without a signature."""
    signature = ModelSignature(inputs=Schema([ColSpec("double", "x")]), outputs=Schema([ColSpec("double")]))
    mlflow.set_tracking_uri(tracking.uri)
    try:
        mlflow.set_experiment("uc-fake")
        with mlflow.start_run() as run:
            signed = mlflow.pyfunc.log_model(name="signed", python_model=Echo(), signature=signature,
                                             pip_requirements=["mlflow"])
            unsigned = mlflow.pyfunc.log_model(name="unsigned", python_model=Echo(),
                                               pip_requirements=["mlflow"])
        client = MlflowClient(tracking.uri)
        return {"run_id": run.info.run_id,
                "signed": client.get_logged_model(signed.model_id),
                "unsigned": client.get_logged_model(unsigned.model_id)}
    finally:
        mlflow.set_tracking_uri(None)


@pytest.fixture(scope="module")
def oss_uc(tmp_path_factory):
    root = tmp_path_factory.mktemp("uc-oss-storage")
    fake = FakeUnityCatalog(storage_root=f"file://{root}", flavor="oss").serve()
    yield fake
    fake.stop()


@pytest.fixture
def oss_client(oss_uc, tracking):
    # UnityCatalogOssStore downloads a version's source with the *global* tracking URI (its own
    # tracking_uri is None), so the global one has to point at the tracking server.
    mlflow.set_tracking_uri(tracking.uri)
    mlflow.set_registry_uri(f"uc:{oss_uc.url}")
    return MlflowClient(tracking_uri=tracking.uri, registry_uri=f"uc:{oss_uc.url}")


class Workspace:
    """The smallest Databricks workspace that serves the UC registry: bearer-token check, UC paths to
    the fake, 404 ENDPOINT_NOT_FOUND for everything else (including /.well-known/databricks-config)."""

    def __init__(self, fake, token):
        self.fake, self.token, self.log = fake, token, []
        workspace = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                split = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                workspace.log.append((self.command, split.path, self.headers.get("Authorization")))
                if split.path.startswith((LEGACY_PREFIX, UC_PREFIX)):
                    if self.headers.get("Authorization") != f"Bearer {workspace.token}":
                        return self._send(401, {"error_code": "UNAUTHENTICATED",
                                                "message": "Invalid access token."})
                    result = workspace.fake.handle(self.command, split.path,
                                                   urllib.parse.parse_qs(split.query),
                                                   json.loads(raw) if raw else None)
                    if result is not None:
                        return self._send(*result)
                self._send(404, {"error_code": "ENDPOINT_NOT_FOUND",
                                 "message": f"No API found for '{self.command} {split.path}'"})

            def _send(self, status, answer):
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    s3 = MotoS3(str(tmp_path_factory.mktemp("uc-moto"))).start()
    s3.create_bucket(BUCKET)
    yield s3
    s3.stop()


@pytest.fixture(scope="module")
def dbx(moto, tmp_path_factory):
    """A Databricks workspace (profile ``uc``) whose UC registry is the fake, storage in moto S3."""
    fake = FakeUnityCatalog(storage_root=f"s3://{BUCKET}/metastore", s3_endpoint_url=moto.url)
    workspace = Workspace(fake, TOKEN)
    cfg = tmp_path_factory.mktemp("uc-cfg") / "databrickscfg"
    # Two profiles on one workspace: MLflow caches registry stores per (registry URI, tracking URI),
    # so the native-store test needs a registry URI of its own (``ucn``).
    cfg.write_text("".join(f"[{name}]\nhost = {workspace.url}\ntoken = {TOKEN}\nretry_timeout_seconds = 5\n"
                           for name in ("uc", "ucn")))
    with pytest.MonkeyPatch.context() as mp:
        for var in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "MLFLOW_TRACKING_URI",
                    "MLFLOW_REGISTRY_URI", "MLFLOW_ENABLE_UC_NATIVE_MODEL_REGISTRY",
                    "MLFLOW_USE_DATABRICKS_SDK_MODEL_ARTIFACTS_REPO_FOR_UC"):
            mp.delenv(var, raising=False)
        mp.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
        mp.setenv("MLFLOW_S3_ENDPOINT_URL", moto.url)
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1"}.items():
            mp.setenv(key, value)
        yield fake, workspace
    workspace.stop()


@pytest.fixture
def dbx_client(dbx, tracking):
    return MlflowClient(tracking_uri=tracking.uri, registry_uri="databricks-uc://uc")


def _uc_paths(fake, since=0):
    return [(m, p.replace(LEGACY_PREFIX, "").replace(UC_PREFIX, "2.1:"), s) for m, p, s in fake.requests[since:]]


# ---------------------------------------------------------------------------------------------- unit
def test_handle_contract_and_rules(tmp_path):
    fake = FakeUnityCatalog(f"file://{tmp_path}", catalogs={"main": ["default"], "Dev": ["ML"]})
    assert fake.handle("GET", "/api/2.0/mlflow/experiments/search", {}, None) is None
    assert fake.handle("GET", UC_PREFIX + "catalogs", {}, None) is None
    assert fake.handle("GET", LEGACY_PREFIX + "prompts/x", {}, None) is None
    assert fake.handle("GET", LEGACY_PREFIX + "registered-models/create", {}, None)[1]["error_code"] == \
        "ENDPOINT_NOT_FOUND"
    status, answer = fake.handle("POST", LEGACY_PREFIX + "registered-models/create", {},
                                 {"name": "DEV.ml.MyModel", "tags": [{"key": "k", "value": "v"}]})
    assert status == 200 and answer["registered_model"]["name"] == "dev.ml.mymodel"  # UC lowercases
    assert fake.handle("POST", LEGACY_PREFIX + "registered-models/create", {},
                       {"name": "dev.ml.mymodel"})[1]["error_code"] == "RESOURCE_ALREADY_EXISTS"
    assert fake.handle("POST", LEGACY_PREFIX + "registered-models/create", {},
                       {"name": "main.default.bad/name"})[1]["error_code"] == "INVALID_PARAMETER_VALUE"
    assert fake.handle("GET", LEGACY_PREFIX + "registered-models/get", {"name": "nope.default.m"},
                       None) == (404, {"error_code": "CATALOG_DOES_NOT_EXIST",
                                       "message": "Catalog 'nope' does not exist."})
    assert fake.handle("GET", LEGACY_PREFIX + "registered-models/get", {"name": "main.nope.m"},
                       None)[1]["error_code"] == "SCHEMA_DOES_NOT_EXIST"
    assert fake.handle("GET", LEGACY_PREFIX + "registered-models/get", {"name": "main.default.m"},
                       None) == (404, {"error_code": "RESOURCE_DOES_NOT_EXIST",
                                       "message": "Routine or Model 'main.default.m' does not exist."})
    # a malformed request body is refused before it reaches the handler
    assert fake.handle("POST", LEGACY_PREFIX + "model-versions/create", {},
                       {"name": "dev.ml.mymodel", "source": 7, "tags": "x"})[1]["error_code"] == \
        "MALFORMED_REQUEST"
    # versions: string on /api/2.0, int64 on /api/2.1; new versions wait for finalize
    for n in range(3):
        status, answer = fake.handle("POST", LEGACY_PREFIX + "model-versions/create", {},
                                     {"name": "dev.ml.mymodel", "source": f"s3://src/{n}", "run_id": "r1",
                                      "run_tracking_server_id": "1234", "feature_deps": "",
                                      "model_id": "m-1"})
        assert status == 200
    version = answer["model_version"]
    assert (version["version"], version["status"]) == ("3", "PENDING_REGISTRATION")
    assert version["storage_location"].startswith(f"file://{tmp_path}/models/")
    status, listed = fake.handle("GET", UC_PREFIX + "models/dev.ml.mymodel/versions", {"max_results": "2"},
                                 None)
    assert [v["version"] for v in listed["model_versions"]] == [3, 2]
    assert listed["model_versions"][0]["run_workspace_id"] == 1234
    status, rest = fake.handle("GET", UC_PREFIX + "models/dev.ml.mymodel/versions",
                               {"max_results": "2", "page_token": listed["next_page_token"]}, None)
    assert [v["version"] for v in rest["model_versions"]] == [1] and "next_page_token" not in rest
    # finalize without an MLmodel in storage: FAILED_REGISTRATION, no write credentials any more
    status, answer = fake.handle("POST", LEGACY_PREFIX + "model-versions/finalize", {},
                                 {"name": "dev.ml.mymodel", "version": "1"})
    assert answer["model_version"]["status"] == "FAILED_REGISTRATION"
    assert answer["model_version"]["status_message"].startswith("Unable to load model metadata")
    assert fake.handle("POST", LEGACY_PREFIX + "model-versions/finalize", {},
                       {"name": "dev.ml.mymodel", "version": "1"})[0] == 400
    # a drifted answer is a 500, not a silent pass
    fake._rm_legacy = lambda m, full=True: {"name": m.full_name, "stage": "Production"}
    status, answer = fake.handle("GET", LEGACY_PREFIX + "registered-models/get", {"name": "dev.ml.mymodel"},
                                 None)
    assert status == 500 and "stage" in answer["message"] and fake.contract_errors
    # deleting a model deletes its versions (Databricks)
    del fake._rm_legacy
    assert fake.handle("DELETE", LEGACY_PREFIX + "registered-models/delete", {},
                       {"name": "dev.ml.mymodel"}) == (200, {})
    assert fake.model_names() == []


def test_grants_shapes_and_rules(tmp_path):
    """Model grants answer in the shapes databricks-sdk parses; unknown principals and privileges are refused
    whole; a schema grant shows as inherited in the effective permissions only."""
    from databricks.sdk.service import catalog
    fake = FakeUnityCatalog(f"file://{tmp_path}", catalogs={"main": ["default"]})
    fake.handle("POST", LEGACY_PREFIX + "registered-models/create", {}, {"name": "main.default.m"})
    fake.add_principal("readers")
    fake.grant_on_schema("main", "default", "readers", ["EXECUTE", "APPLY_TAG"])
    path = UC_PREFIX + "permissions/function/main.default.m"
    status, answer = fake.handle("PATCH", path, {}, {"changes": [{"principal": "readers", "add": ["EXECUTE"]}]})
    assert status == 200 and answer == {"privilege_assignments": [{"principal": "readers", "privileges": ["EXECUTE"]}]}
    assert catalog.UpdatePermissionsResponse.from_dict(answer).as_dict() == answer
    status, answer = fake.handle("PATCH", path, {}, {"changes": [{"principal": "readers", "add": ["MANAGE"]},
                                                                 {"principal": "ghost", "add": ["EXECUTE"]}]})
    assert (status, answer["error_code"]) == (404, "PRINCIPAL_DOES_NOT_EXIST")
    assert fake.handle("PATCH", path, {}, {"changes": [{"principal": "readers", "add": ["SELECT"]}]})[0] == 400
    assert fake.grants("main.default.m") == {"readers": ["EXECUTE"]}
    status, effective = fake.handle("GET", UC_PREFIX + "effective-permissions/function/main.default.m", {}, None)
    assert catalog.EffectivePermissionsList.from_dict(effective).as_dict() == effective
    assert effective["privilege_assignments"][0]["privileges"] == [
        {"privilege": "EXECUTE"},
        {"privilege": "APPLY_TAG", "inherited_from_type": "SCHEMA", "inherited_from_name": "main.default"},
        {"privilege": "EXECUTE", "inherited_from_type": "SCHEMA", "inherited_from_name": "main.default"}]
    assert fake.handle("GET", UC_PREFIX + "permissions/function/main.default.nope", {}, None)[0] == 404


def test_oss_flavor_rules(tmp_path):
    fake = FakeUnityCatalog(f"file://{tmp_path}", flavor="oss")
    assert fake.handle("POST", LEGACY_PREFIX + "registered-models/create", {}, {"name": "main.default.m"})[0] \
        == 404
    status, answer = fake.handle("POST", UC_PREFIX + "models", {},
                                 {"name": "M1", "catalog_name": "main", "schema_name": "default"})
    assert status == 200 and answer["full_name"] == "main.default.M1"  # OSS keeps the case
    ParseDict(answer, uc_pb.RegisteredModelInfo(), ignore_unknown_fields=False)
    assert fake.handle("POST", UC_PREFIX + "models", {},
                       {"name": "M1", "catalog_name": "main", "schema_name": "default"})[1] == \
        {"error_code": "ALREADY_EXISTS", "message": "Registered model already exists: main.default.M1",
         "details": [{"@type": "google.rpc.ErrorInfo", "reason": "ALREADY_EXISTS"}]}
    assert fake.handle("GET", UC_PREFIX + "models/default.M1", {}, None)[1]["message"] == \
        "Invalid registered model name: default.M1"
    assert fake.handle("POST", UC_PREFIX + "models/versions", {},
                       {"model_name": "M1", "catalog_name": "main", "schema_name": "default",
                        "source": "file:///x"})[0] == 200
    assert fake.handle("DELETE", UC_PREFIX + "models/main.default.M1", {}, None)[1]["error_code"] == "ABORTED"
    assert fake.handle("DELETE", UC_PREFIX + "models/main.default.M1", {"force": "true"}, None) == (200, None)


# ---------------------------------------------------------------------------------------------- OSS `uc:`
def test_oss_register_download_update_search(oss_uc, oss_client, logged, tmp_path):
    client, signed = oss_client, logged["signed"]
    since = len(oss_uc.requests)
    model = client.create_registered_model("main.default.m1", description="first")
    assert model.name == "main.default.m1"
    mv = client.create_model_version("main.default.m1", source=signed.artifact_location,
                                     run_id=logged["run_id"])
    assert (mv.version, mv.status) == (1, "READY")
    assert _uc_paths(oss_uc, since) == [
        ("POST", "2.1:models", 200), ("POST", "2.1:models/versions", 200),
        ("PATCH", "2.1:models/main.default.m1/versions/1/finalize", 200)]
    location = oss_uc.storage_location("main.default.m1", 1)
    assert os.path.isfile(os.path.join(urllib.parse.urlparse(location).path, "MLmodel"))

    local = mlflow.artifacts.download_artifacts("models:/main.default.m1/1", dst_path=str(tmp_path))
    assert "MLmodel" in os.listdir(local)

    assert client.update_registered_model("main.default.m1", description="second").description == "second"
    assert client.update_model_version("main.default.m1", 1, description="v1").description == "v1"
    got = client.get_model_version("main.default.m1", "1")
    assert (got.description, got.run_id, got.source) == ("v1", logged["run_id"], signed.artifact_location)
    assert "main.default.m1" in [m.name for m in client.search_registered_models()]
    assert [v.version for v in client.search_model_versions("name = 'main.default.m1'")] == [1]


def test_oss_refusals(oss_uc, oss_client, logged):
    client = oss_client
    client.create_registered_model("main.default.nosig")
    # UnityCatalogOssStore does not check signatures itself: the server's finalize refuses the version
    # and MLflow's await loop turns FAILED_REGISTRATION into an exception.
    with pytest.raises(MlflowException, match="Model version creation failed for model name: "
                                              "main.default.nosig version: 1 with status: FAILED_REGISTRATION"):
        client.create_model_version("main.default.nosig", source=logged["unsigned"].artifact_location)
    record = oss_uc.version_record("main.default.nosig", 1)
    assert (record["status"], record["status_message"]) == ("FAILED_REGISTRATION", MSG_NO_SIGNATURE)
    # a two-level name: the OSS store unpacks name.split(".") itself for create ...
    with pytest.raises(ValueError):
        client.create_registered_model("default.m2")
    # ... and the server refuses it for everything else
    with pytest.raises(MlflowException, match="INVALID_ARGUMENT: Invalid registered model name: default.m2"):
        client.get_registered_model("default.m2")
    with pytest.raises(MlflowException, match="NOT_FOUND: Schema not found: nope"):
        client.create_registered_model("main.nope.m2")
    # the OSS server keeps a model that still has versions (MLflow sends no force=true) ...
    with pytest.raises(MlflowException, match="ABORTED: Unable to delete a registered model with existing "
                                              "model versions: nosig"):
        client.delete_registered_model("main.default.nosig")
    # ... and answers DELETE with an empty 200 body, which MLflow accepts
    client.delete_model_version("main.default.nosig", 1)
    client.delete_registered_model("main.default.nosig")
    assert "main.default.nosig" not in oss_uc.model_names()
    assert not oss_uc.contract_errors


def test_oss_ready_delay_is_awaited(oss_uc, oss_client, logged):
    client = oss_client
    client.create_registered_model("main.default.slow")
    oss_uc.ready_delay = 1.0
    try:
        start = time.time()
        mv = client.create_model_version("main.default.slow", source=logged["signed"].artifact_location)
    finally:
        oss_uc.ready_delay = 0.0
    # the store's default _await_model_version_creation polled get-version (every 3 s) until READY,
    # but create_model_version hands back the finalize answer
    assert mv.status == "PENDING_REGISTRATION" and time.time() - start >= 1.0
    assert client.get_model_version("main.default.slow", 1).status == "READY"
    gets = [p for m, p, s in oss_uc.requests if m == "GET" and p.endswith("slow/versions/1")]
    assert gets


# ---------------------------------------------------------------------------------------------- databricks-uc
def test_legacy_register_alias_tags_download(dbx, dbx_client, moto, logged, tmp_path):
    fake, workspace = dbx
    client, signed = dbx_client, logged["signed"]
    since = len(fake.requests)
    assert client.create_registered_model("main.default.m2", tags={"team": "a"}).name == "main.default.m2"
    mv = client.create_model_version("main.default.m2", source=signed.artifact_location, run_id=logged["run_id"],
                                     tags={"t": "1"}, description="d")
    assert (mv.version, mv.status) == ("1", "READY")
    assert _uc_paths(fake, since) == [
        ("POST", "registered-models/create", 200),
        ("POST", "model-versions/create", 200),
        ("GET", "registered-models:is-databricks-sdk-models-artifact-repository-enabled", 200),
        ("POST", "model-versions/generate-temporary-credentials", 200),
        ("POST", "model-versions/finalize", 200)]
    prefix = urllib.parse.urlparse(fake.storage_location("main.default.m2", 1)).path.lstrip("/")
    keys = moto.keys(BUCKET, prefix)
    assert f"{prefix}/MLmodel" in keys and f"{prefix}/python_model.pkl" in keys
    record = fake.version_record("main.default.m2", 1)
    assert (record["run_id"], record["source"], record["feature_deps"]) == (
        logged["run_id"], signed.artifact_location, None)
    # every UC call carried the profile's token
    assert {auth for _, p, auth in workspace.log if p.startswith(LEGACY_PREFIX)} == {f"Bearer {TOKEN}"}

    client.set_registered_model_alias("main.default.m2", "champion", 1)
    client.set_registered_model_tag("main.default.m2", "stage", "prod")
    client.set_model_version_tag("main.default.m2", "1", "checked", "yes")
    model = client.get_registered_model("main.default.m2")
    assert model.aliases == {"champion": "1"} and model.tags == {"team": "a", "stage": "prod"}
    by_alias = client.get_model_version_by_alias("main.default.m2", "champion")
    assert (by_alias.version, by_alias.aliases, by_alias.tags) == ("1", ["champion"], {"t": "1", "checked": "yes"})
    assert by_alias.current_stage is None

    mlflow.set_registry_uri("databricks-uc://uc")
    local = mlflow.artifacts.download_artifacts("models:/main.default.m2@champion", dst_path=str(tmp_path))
    assert {"MLmodel", "python_model.pkl"} <= set(os.listdir(local))
    assert [p for m, p, s in _uc_paths(fake, since)][-5:] == [
        "registered-models/alias", "registered-models:is-databricks-sdk-models-artifact-repository-enabled",
        "model-versions/generate-temporary-credentials", "registered-models/get",
        "model-versions/get-download-uri"]

    client.delete_registered_model_alias("main.default.m2", "champion")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_model_version_by_alias("main.default.m2", "champion")
    assert not fake.contract_errors


def test_legacy_model_id_becomes_artifact_location(dbx, dbx_client, logged):
    """With a non-Databricks tracking URI, MlflowClient.create_model_version(model_id=...) registers the
    logged model's artifact_location, takes run_id from it and sends UC no model_id."""
    fake, _ = dbx
    signed = logged["signed"]
    dbx_client.create_registered_model("main.default.m7")
    mv = dbx_client.create_model_version("main.default.m7", source=f"models:/{signed.model_id}",
                                         model_id=signed.model_id)
    assert (mv.source, mv.run_id, mv.model_id) == (signed.artifact_location, logged["run_id"], "")
    assert fake.version_record("main.default.m7", 1)["model_id"] is None


def test_legacy_refusals_and_pagination(dbx, dbx_client, logged):
    fake, _ = dbx
    client = dbx_client
    with pytest.raises(MlflowException) as err:
        client.create_registered_model("default.m9")
    # MLflow re-raises with a hint, passing the error-code *name* to MlflowException, which turns any
    # non-int code into INTERNAL_ERROR: the server's INVALID_PARAMETER_VALUE survives only in the text.
    assert err.value.error_code == "INTERNAL_ERROR"
    assert err.value.message.startswith("INVALID_PARAMETER_VALUE: Bad model name: please specify all three "
                                        "levels of the model in the form `catalog_name.schema_name.model_name`")
    assert "set the Model Registry URI to 'databricks' (legacy)" in err.value.message
    with pytest.raises(MlflowException, match="CATALOG_DOES_NOT_EXIST: Catalog 'other' does not exist"):
        client.create_registered_model("other.default.m9")

    client.create_registered_model("main.default.m4")
    since = len(fake.requests)
    with pytest.raises(MlflowException, match="did not contain any signature metadata"):
        client.create_model_version("main.default.m4", source=logged["unsigned"].artifact_location)
    assert _uc_paths(fake, since) == []  # refused by MLflow before any UC call
    # a client that skips the check (as copy_model_version may) gets a FAILED_REGISTRATION version
    store = client._get_registry_client().store
    mv = store._create_model_version_with_optional_signature_validation(
        name="main.default.m4", source=logged["unsigned"].artifact_location, bypass_signature_validation=True)
    assert (mv.status, mv.status_message) == ("FAILED_REGISTRATION", MSG_NO_SIGNATURE)

    for _ in range(2):
        client.create_model_version("main.default.m4", source=logged["signed"].artifact_location)
    page = client.search_model_versions("name = 'main.default.m4'", max_results=2)
    assert [v.version for v in page] == ["3", "2"] and page.token
    rest = client.search_model_versions("name = 'main.default.m4'", max_results=2, page_token=page.token)
    assert [v.version for v in rest] == ["1"] and not rest.token
    with pytest.raises(MlflowException, match="Unsupported filter query"):
        client.search_model_versions(f"run_id = '{logged['run_id']}'")
    with pytest.raises(MlflowException, match="unsupported for models in the Unity Catalog"):
        client.transition_model_version_stage("main.default.m4", "2", "Production")

    client.delete_registered_model("main.default.m4")  # UC deletes the versions with the model
    with pytest.raises(MlflowException, match="Routine or Model 'main.default.m4' does not exist"):
        client.get_model_version("main.default.m4", "2")
    assert not fake.contract_errors


def test_legacy_ready_delay_is_not_awaited(dbx, dbx_client, logged):
    fake, _ = dbx
    client = dbx_client
    client.create_registered_model("main.default.m5")
    fake.ready_delay = 1.5
    try:
        mv = client.create_model_version("main.default.m5", source=logged["signed"].artifact_location)
    finally:
        fake.ready_delay = 0.0
    # UcModelRegistryStore._await_model_version_creation is a no-op: the client returns at once
    assert mv.status == "PENDING_REGISTRATION"
    assert client.get_model_version("main.default.m5", "1").status == "PENDING_REGISTRATION"
    deadline = time.time() + 10
    while client.get_model_version("main.default.m5", "1").status != "READY":
        assert time.time() < deadline
        time.sleep(0.3)


def test_native_store(dbx, tracking, logged, tmp_path, monkeypatch):
    fake, _ = dbx
    monkeypatch.setenv("MLFLOW_ENABLE_UC_NATIVE_MODEL_REGISTRY", "true")
    client = MlflowClient(tracking_uri=tracking.uri, registry_uri="databricks-uc://ucn")
    assert type(client._get_registry_client().store).__name__ == "UcNativeModelRegistryStore"
    since = len(fake.requests)
    client.create_registered_model("main.default.m6", description="native")
    mv = client.create_model_version("main.default.m6", source=logged["signed"].artifact_location,
                                     run_id=logged["run_id"])
    assert (mv.version, mv.status) == ("1", "READY")
    client.set_registered_model_alias("main.default.m6", "champion", "1")
    client.set_registered_model_tag("main.default.m6", "k", "v")
    client.set_model_version_tag("main.default.m6", "1", "vk", "vv")
    model = client.get_registered_model("main.default.m6")
    assert (model.description, model.aliases, model.tags) == ("native", {"champion": "1"}, {"k": "v"})
    assert client.get_model_version_by_alias("main.default.m6", "champion").tags == {"vk": "vv"}
    mlflow.set_registry_uri("databricks-uc://ucn")
    local = mlflow.artifacts.download_artifacts("models:/main.default.m6@champion", dst_path=str(tmp_path))
    assert "MLmodel" in os.listdir(local)
    paths = [(m, p) for m, p, s in _uc_paths(fake, since)]
    assert paths[:5] == [
        ("POST", "2.1:models"), ("POST", "2.1:models/versions"),
        ("GET", "registered-models:is-databricks-sdk-models-artifact-repository-enabled"),
        ("POST", "2.1:temporary-model-version-credentials"),
        ("PATCH", "2.1:models/main.default.m6/versions/1/finalize")]
    assert ("PUT", "2.1:models/main.default.m6/aliases/champion") in paths
    assert ("PATCH", "2.1:securable-tags/FUNCTION/main.default.m6") in paths
    assert all(s == 200 for m, p, s in _uc_paths(fake, since))
    assert not fake.contract_errors


def test_bad_token_is_refused(dbx, tracking):
    _, workspace = dbx
    answer = requests.get(f"{workspace.url}{LEGACY_PREFIX}registered-models/search",
                          headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert answer.status_code == 401
