"""Contract tests of tests/fakes/databricks_workspace.py against the real MLflow and databricks-sdk clients.

Two fake workspaces (`src-ws`, `dst-ws`, different tokens) start once for the module. Artifact operations set
DATABRICKS_CONFIG_PROFILE because MLflow's SDK-based Databricks artifact repository ignores the profile of
`databricks://profile` (pitfall 1 of shared/research/databricks-testing.md).
"""
import base64
import json
import os
import uuid
import zipfile

import pytest
import requests
from google.protobuf.json_format import ParseDict

from tests.fakes.databricks_workspace import (
    INVALID_EXPERIMENT_NAME,
    MAX_EXPORT_BYTES,
    DatabricksError,
    FakeWorkspace,
    write_databrickscfg,
)
from tests.servers import start_all

SRC_TOKEN = "dapi-src-0123456789abcdef"
DST_TOKEN = "dapi-dst-fedcba9876543210"
ME = "me@example.com"
CLEARED_ENV = ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "MLFLOW_TRACKING_URI",
               "MLFLOW_REGISTRY_URI", "DATABRICKS_CONFIG_FILE", "MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS")


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory):
    base = str(tmp_path_factory.mktemp("fake_workspaces"))
    src = FakeWorkspace(base, "src", SRC_TOKEN, org_id="1111111111111111")
    dst = FakeWorkspace(base, "dst", DST_TOKEN, org_id="2222222222222222")
    start_all([src, dst])
    config_file = write_databrickscfg(os.path.join(base, "databrickscfg"), {"src-ws": src, "dst-ws": dst})
    yield src, dst, config_file
    src.stop()
    dst.stop()


@pytest.fixture
def src(workspaces):
    return workspaces[0]


@pytest.fixture
def dst(workspaces):
    return workspaces[1]


@pytest.fixture(autouse=True)
def dbx_env(workspaces, monkeypatch):
    for key in CLEARED_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", workspaces[2])
    monkeypatch.setenv("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", "false")
    return monkeypatch


def client(profile):
    from mlflow import MlflowClient
    return MlflowClient(f"databricks://{profile}", registry_uri=f"databricks://{profile}")


def uniq():
    return uuid.uuid4().hex[:8]


def api(ws, method, path, token=None, **kwargs):
    return requests.request(method, ws.host + path, headers={"Authorization": f"Bearer {token or ws.token}"},
                            timeout=30, **kwargs)


def new_run(c, name=None):
    experiment_id = c.create_experiment(name or f"/Users/{ME}/exp-{uniq()}")
    return experiment_id, c.create_run(experiment_id)


def calls(ws, prefix):
    return [r for r in ws.requests if r["path"].startswith(prefix)]


# ---------------------------------------------------------------------------------------------- MLflow clients
def test_tracking_and_run_artifacts_via_files_api(src, dbx_env, tmp_path):
    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "src-ws")
    c = client("src-ws")
    name = f"/Users/{ME}/x-{uniq()}"
    experiment_id, run = new_run(c, name)
    run_id = run.info.run_id
    assert c.get_experiment(experiment_id).artifact_location == f"dbfs:/databricks/mlflow-tracking/{experiment_id}"
    c.log_param(run_id, "alpha", "0.5")
    c.log_metric(run_id, "rmse", 1.25)
    src.clear_requests()
    c.log_text(run_id, "hello", "dir/hello.txt")
    assert [(f.path, f.is_dir) for f in c.list_artifacts(run_id)] == [("dir", True)]
    assert [(f.path, f.file_size) for f in c.list_artifacts(run_id, "dir")] == [("dir/hello.txt", 5)]
    local = c.download_artifacts(run_id, "dir", str(tmp_path))
    assert open(os.path.join(local, "hello.txt")).read() == "hello"
    got = c.get_run(run_id)
    assert got.data.params == {"alpha": "0.5"} and got.data.metrics == {"rmse": 1.25}

    files_path = f"/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts/{experiment_id}/Runs/{run_id}/artifacts"
    puts = [r for r in src.requests if r["method"] == "PUT"]
    assert [(r["path"], r["token"], r["status"]) for r in puts] == [(f"{files_path}/dir/hello.txt", SRC_TOKEN, 204)]
    # the SDK asks for a presigned download URL first; ENDPOINT_NOT_FOUND makes it GET the file directly
    assert calls(src, "/api/2.0/fs/create-download-url")[0]["status"] == 404
    assert [r["status"] for r in src.requests if r["method"] == "GET" and r["path"] == f"{files_path}/dir/hello.txt"] \
        == [200]
    authenticated = [r for r in src.requests if r["path"] != "/.well-known/databricks-config"]
    assert authenticated and all(r["token"] == SRC_TOKEN for r in authenticated)
    assert os.path.isfile(os.path.join(src.files_dir, "WorkspaceInternal", "Mlflow", "Artifacts", experiment_id,
                                       "Runs", run_id, "artifacts", "dir", "hello.txt"))

    # experiments are workspace objects; the REST answer says MLFLOW_EXPERIMENT, which databricks-sdk's ObjectType
    # enum lacks, so the SDK reports object_type=None (databricks/databricks-sdk-py#509, as on real workspaces)
    raw = api(src, "GET", "/api/2.0/workspace/get-status", params={"path": name}).json()
    assert (raw["object_type"], raw["object_id"], raw["path"]) == ("MLFLOW_EXPERIMENT", int(experiment_id), name)
    from databricks.sdk import WorkspaceClient
    status = WorkspaceClient(profile="src-ws").workspace.get_status(name)
    assert (status.object_type, status.object_id) == (None, int(experiment_id))


def test_run_artifacts_with_sdk_disabled_use_signed_urls(src, dbx_env, tmp_path):
    """MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS: DatabricksArtifactRepository, which honours the profile
    of the tracking URI (here the env points at the *other* workspace and is ignored)."""
    dbx_env.setenv("MLFLOW_DISABLE_DATABRICKS_SDK_FOR_RUN_ARTIFACTS", "true")
    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "dst-ws")
    c = client("src-ws")
    _, run = new_run(c)
    src.clear_requests()
    c.log_text(run.info.run_id, "via-signed-url", "d/a.txt")
    assert [(f.path, f.file_size) for f in c.list_artifacts(run.info.run_id, "d")] == [("d/a.txt", 14)]
    path = c.download_artifacts(run.info.run_id, "d/a.txt", str(tmp_path))
    assert open(path).read() == "via-signed-url"
    seen = [(r["method"], r["path"].split("/WorkspaceInternal")[0], r["token"], r["status"]) for r in src.requests
            if r["path"] != "/.well-known/databricks-config" and "runs/get" not in r["path"]
            and "logged-models" not in r["path"]]
    assert ("POST", "/api/2.0/mlflow/artifacts/credentials-for-write", SRC_TOKEN, 200) in seen
    assert ("PUT", "/fake-cloud-storage", None, 200) in seen
    assert ("GET", "/api/2.0/mlflow/artifacts/list", SRC_TOKEN, 200) in seen
    assert ("POST", "/api/2.0/mlflow/artifacts/credentials-for-read", SRC_TOKEN, 200) in seen
    assert ("GET", "/fake-cloud-storage", None, 200) in seen
    assert not calls(src, "/api/2.0/fs/")


def test_workspace_registry_model_version_download(src, dbx_env, tmp_path):
    import mlflow
    from databricks.sdk import WorkspaceClient
    from mlflow.store.artifact.databricks_models_artifact_repo import DatabricksModelsArtifactRepository
    from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "src-ws")
    c = client("src-ws")
    _, run = new_run(c)
    c.log_text(run.info.run_id, "weights", "model/weights.txt")
    c.log_text(run.info.run_id, "meta", "model/sub/meta.txt")
    name = f"model-{uniq()}"
    c.create_registered_model(name)
    mv = c.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    assert mv.version == "1"
    src.clear_requests()
    mlflow.set_registry_uri("databricks://src-ws")
    repo = ModelsArtifactRepository(f"models:/{name}/1")
    assert isinstance(repo.repo, DatabricksModelsArtifactRepository)
    out = repo.download_artifacts("", str(tmp_path))
    assert open(os.path.join(out, "weights.txt")).read() == "weights"
    assert open(os.path.join(out, "sub", "meta.txt")).read() == "meta"
    assert {r["status"] for r in calls(src, "/api/2.0/mlflow/model-versions/list-artifacts")} == {200}
    assert {r["status"] for r in calls(src, "/api/2.0/mlflow/model-versions/get-signed-download-uri")} == {200}
    storage = calls(src, "/fake-cloud-storage/")
    assert len(storage) == 2 and all(r["token"] is None and r["status"] == 200 for r in storage)

    w = WorkspaceClient(profile="src-ws")
    first = w.model_registry.get_model(name).registered_model_databricks
    again = w.model_registry.get_model(name).registered_model_databricks
    assert first.id == again.id and first.id.isdigit()
    assert first.permission_level.value == "CAN_MANAGE"
    assert [v.version for v in first.latest_versions] == ["1"]


def test_trace_logged_and_searched_with_v3_fallback(src, dbx_env):
    import mlflow
    from mlflow.tracking import fluent

    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "src-ws")
    c = client("src-ws")
    experiment_id = c.create_experiment(f"/Users/{ME}/traces-{uniq()}")
    dbx_env.setattr(fluent, "_active_experiment_id", None)
    mlflow.set_tracking_uri("databricks://src-ws")
    mlflow.set_experiment(experiment_id=experiment_id)

    @mlflow.trace
    def add_one(x):
        return x + 1

    src.clear_requests()
    assert add_one(1) == 2
    trace_id = mlflow.get_last_active_trace_id()
    mlflow.flush_trace_async_logging()
    assert c.get_trace(trace_id).data.spans[0].name == "add_one"
    traces = c.search_traces(locations=[experiment_id])
    assert [t.info.trace_id for t in traces] == [trace_id]
    searches = [(r["path"], r["status"]) for r in src.requests if "search" in r["path"] and "traces" in r["path"]]
    assert searches[:2] == [("/api/4.0/mlflow/traces/search-long-running", 404),
                            ("/api/3.0/mlflow/traces/search", 200)]
    uploads = [r for r in src.requests if r["method"] == "PUT" and r["path"].endswith("/traces.json")]
    assert uploads and uploads[0]["path"].startswith(
        f"/api/2.0/fs/files/WorkspaceInternal/Mlflow/Artifacts/{experiment_id}/Runs/traces/{trace_id}/")

    from mlflow.protos import databricks_artifacts_pb2 as art
    body = api(src, "GET", f"/api/2.0/mlflow/traces/{trace_id}/credentials-for-data-download").json()
    info = ParseDict(body, art.GetCredentialsForTraceDataDownload.Response(), ignore_unknown_fields=False)
    assert json.loads(requests.get(info.credential_info.signed_uri, timeout=30).content)["spans"][0]["name"] \
        == "add_one"


# ---------------------------------------------------------------------------------------------- tokens and profiles
def test_bad_or_missing_token_is_refused_like_databricks(src, dst):
    resp = api(src, "GET", "/api/2.0/mlflow/experiments/search?max_results=1", token=DST_TOKEN)
    assert resp.status_code == 403
    assert resp.json() == {"error_code": 403, "message": "Invalid access token."}
    assert resp.headers["X-Databricks-Reason-Phrase"] == "Invalid access token."
    assert resp.headers["X-Databricks-Org-Id"] == src.org_id
    resp = requests.get(src.host + "/api/2.0/mlflow/experiments/search", timeout=30)
    assert resp.status_code == 401
    assert resp.json() == {"error_code": 401,
                           "message": "Credential was not sent or was of an unsupported type for this API."}
    assert api(dst, "GET", "/api/2.0/mlflow/experiments/search?max_results=1").headers["X-Databricks-Org-Id"] \
        == dst.org_id
    resp = requests.get(src.host + "/.well-known/databricks-config", timeout=30)
    assert resp.status_code == 404 and resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_env_token_overrides_profile_and_is_rejected(src, dbx_env):
    """Pitfall 5: DATABRICKS_TOKEN beats the profile's token, for MLflow's REST calls too."""
    from mlflow.exceptions import RestException
    from mlflow.utils.rest_utils import get_workspace_client

    dbx_env.setenv("DATABRICKS_TOKEN", DST_TOKEN)
    src.clear_requests()
    get_workspace_client.cache_clear()  # MLflow caches one WorkspaceClient per (host, token, profile)
    try:
        with pytest.raises(RestException) as err:
            client("src-ws").search_experiments(max_results=1)
    finally:
        get_workspace_client.cache_clear()
    assert err.value.error_code == "PERMISSION_DENIED"
    assert "Invalid access token." in err.value.message
    rejected = [r for r in src.requests if r["status"] == 403]
    assert rejected and all(r["token"] == DST_TOKEN for r in rejected)


def test_artifact_io_sent_to_the_wrong_workspace_is_refused(src, dst, dbx_env, tmp_path):
    """Pitfall 1: a `databricks://dst-ws` client with DATABRICKS_CONFIG_PROFILE=src-ws sends the SDK Files API
    upload to *src* with src's token. src refuses it (the run is not in src); MLflow then falls back to
    DatabricksArtifactRepository, which uses dst's profile, so the file ends up in dst and nowhere else."""
    c = client("dst-ws")
    experiment_id, run = new_run(c)
    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "src-ws")
    src.clear_requests()
    dst.clear_requests()
    c.log_text(run.info.run_id, "cross", "a.txt")
    refused = [r for r in calls(src, "/api/2.0/fs/files/") if r["method"] == "PUT"]
    assert [(r["token"], r["status"]) for r in refused] == [(SRC_TOKEN, 403)]
    assert not os.path.exists(os.path.join(src.files_dir, "WorkspaceInternal", "Mlflow", "Artifacts", experiment_id,
                                           "Runs", run.info.run_id))
    assert [r["status"] for r in calls(dst, "/api/2.0/mlflow/artifacts/credentials-for-write")] == [200]
    assert all(r["token"] in (DST_TOKEN, None) for r in dst.requests if r["path"] != "/.well-known/databricks-config")
    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "dst-ws")
    assert open(c.download_artifacts(run.info.run_id, "a.txt", str(tmp_path))).read() == "cross"


def test_artifact_upload_without_default_credentials_fails(src, dbx_env):
    """Pitfall 1 as users meet it: no DATABRICKS_CONFIG_PROFILE and no [DEFAULT] profile."""
    c = client("src-ws")
    _, run = new_run(c)
    with pytest.raises(ValueError, match="default auth: cannot configure default credentials"):
        c.log_text(run.info.run_id, "x", "x.txt")


# ---------------------------------------------------------------------------------------------- Databricks rules
def test_relative_experiment_name_refused(src):
    from mlflow.exceptions import RestException

    c = client("src-ws")
    with pytest.raises(RestException) as err:
        c.create_experiment("my-experiment")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert err.value.message == ("INVALID_PARAMETER_VALUE: Got an invalid experiment name 'my-experiment'. An "
                                 "experiment name must be an absolute path within the Databricks workspace, e.g. "
                                 "'/Users/<some-username>/my-experiment'.")
    assert c.get_experiment_by_name("my-experiment") is None


def test_experiment_parent_folder_must_exist(src):
    from databricks.sdk import WorkspaceClient
    from mlflow.exceptions import RestException

    c = client("src-ws")
    folder = f"/Users/{ME}/team-{uniq()}"
    with pytest.raises(RestException) as err:
        c.create_experiment(f"{folder}/exp")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert err.value.message == f"RESOURCE_DOES_NOT_EXIST: Parent directory {folder} does not exist."
    WorkspaceClient(profile="src-ws").workspace.mkdirs(folder)
    experiment_id = c.create_experiment(f"{folder}/exp")
    with pytest.raises(RestException) as err:
        c.rename_experiment(experiment_id, "renamed")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    c.rename_experiment(experiment_id, f"/Shared/renamed-{uniq()}")
    assert src.workspace_objects().get(f"{folder}/exp") is None
    src.enforce_experiment_paths = False
    try:
        assert c.create_experiment(f"relative-{uniq()}")
    finally:
        src.enforce_experiment_paths = True


def test_api_4_answers_endpoint_not_found(src):
    resp = api(src, "POST", "/api/4.0/mlflow/traces/search-long-running", json={})
    assert resp.status_code == 404
    assert resp.json()["error_code"] == "ENDPOINT_NOT_FOUND"
    for path in ("/api/2.0/fs/create-download-url", "/api/2.0/fs/create-upload-url"):
        assert api(src, "POST", path, json={"path": "/x"}).json()["error_code"] == "ENDPOINT_NOT_FOUND"


def test_fail_next_injects_databricks_errors(src):
    from mlflow.exceptions import RestException

    c = client("src-ws")
    experiment_id = c.create_experiment(f"/Users/{ME}/faults-{uniq()}")
    src.fail_next("/api/2.0/mlflow/experiments/get", 403, "PERMISSION_DENIED", "User does not have permission.")
    with pytest.raises(RestException) as err:
        c.get_experiment(experiment_id)
    assert err.value.error_code == "PERMISSION_DENIED"
    assert c.get_experiment(experiment_id).experiment_id == experiment_id
    src.clear_requests()
    src.fail_next("/api/2.0/mlflow/experiments/get", 429, "REQUEST_LIMIT_EXCEEDED", "Too many requests.",
                  headers={"Retry-After": "1"})
    assert c.get_experiment(experiment_id).experiment_id == experiment_id  # retried
    assert [r["status"] for r in calls(src, "/api/2.0/mlflow/experiments/get")] == [429, 200]
    src.fail_next("/api/2.0/workspace/", 503, "TEMPORARILY_UNAVAILABLE", "down", times=2)
    assert [api(src, "GET", "/api/2.0/workspace/list?path=/Users").status_code for _ in range(3)] == [503, 503, 200]


def test_unity_catalog_paths_delegate_to_registry(workspaces):
    seen = []

    class Registry:
        def handle(self, method, path, query, body):
            seen.append((method, path, query, body))
            if path.endswith("/registered-models/get"):
                return 200, {"registered_model": {"name": query["name"]}}
            return None

    src = workspaces[0]
    try:
        src.uc_registry = Registry()
        resp = api(src, "GET", "/api/2.0/mlflow/unity-catalog/registered-models/get?name=a.b.c")
        assert resp.json() == {"registered_model": {"name": "a.b.c"}}
        resp = api(src, "POST", "/api/2.1/unity-catalog/models", json={"name": "m"})
        assert (resp.status_code, resp.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")
        assert seen[-1] == ("POST", "/api/2.1/unity-catalog/models", {}, {"name": "m"})
    finally:
        src.uc_registry = None
    resp = api(src, "GET", "/api/2.0/mlflow/unity-catalog/registered-models/get?name=a.b.c")
    assert (resp.status_code, resp.json()["error_code"]) == (404, "ENDPOINT_NOT_FOUND")


# ---------------------------------------------------------------------------------------------- databricks-sdk
def test_workspace_files_and_scim_with_databricks_sdk(src):
    import io

    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import NotFound, ResourceAlreadyExists
    from databricks.sdk.service.workspace import ExportFormat, ImportFormat, Language, ObjectType

    w = WorkspaceClient(profile="src-ws")
    assert w.current_user.me().user_name == ME
    folder = f"/Users/{ME}/nb-{uniq()}"
    w.workspace.mkdirs(folder)
    source = b"# Databricks notebook source\nprint(1)\n"
    w.workspace.import_(f"{folder}/nb", content=base64.b64encode(source).decode(), format=ImportFormat.SOURCE,
                        language=Language.PYTHON)
    with pytest.raises(ResourceAlreadyExists):
        w.workspace.import_(f"{folder}/nb", content=base64.b64encode(source).decode(), format=ImportFormat.SOURCE,
                            language=Language.PYTHON)
    with pytest.raises(NotFound, match=r"The parent folder \(/Users/me@example.com/missing\) does not exist"):
        w.workspace.import_(f"/Users/{ME}/missing/nb", content=base64.b64encode(source).decode(),
                            format=ImportFormat.SOURCE, language=Language.PYTHON)
    assert base64.b64decode(w.workspace.export(f"{folder}/nb").content) == source
    w.workspace.import_(f"{folder}/nb", content=base64.b64encode(source + b"# COMMAND ----------\nprint(2)\n").decode(),
                        format=ImportFormat.SOURCE, language=Language.PYTHON, overwrite=True)
    first, second = src.notebook_revisions(f"{folder}/nb")
    at_first = w.api_client.do("GET", "/api/2.0/workspace/export", query={
        "path": f"{folder}/nb", "format": "JUPYTER", "revision": {"revision_timestamp": first}})
    notebook = json.loads(base64.b64decode(at_first["content"]))
    assert notebook["nbformat"] == 4 and [c["source"] for c in notebook["cells"]] == [["print(1)"]]
    assert len(json.loads(base64.b64decode(w.workspace.export(f"{folder}/nb", format=ExportFormat.JUPYTER).content))[
        "cells"]) == 2
    dbc = zipfile.ZipFile(io.BytesIO(base64.b64decode(w.workspace.export(f"{folder}/nb", format=ExportFormat.DBC)
                                                      .content)))
    assert json.loads(dbc.read("nb.python"))["commands"][1]["command"] == "print(2)"
    assert b"<html>" in base64.b64decode(w.workspace.export(f"{folder}/nb", format=ExportFormat.HTML).content)
    with pytest.raises(NotFound, match="Revision 1 of"):
        w.api_client.do("GET", "/api/2.0/workspace/export", query={"path": f"{folder}/nb",
                                                                   "revision": {"revision_timestamp": "1"}})
    src.max_export_bytes = 10
    try:
        with pytest.raises(Exception, match="exceeds the limit") as info:
            w.workspace.export(f"{folder}/nb")
        assert info.value.error_code == "MAX_NOTEBOOK_SIZE_EXCEEDED"
    finally:
        src.max_export_bytes = MAX_EXPORT_BYTES
    assert second > first
    [info] = w.workspace.list(folder)
    assert (info.object_type, info.language, info.path) == (ObjectType.NOTEBOOK, Language.PYTHON, f"{folder}/nb")
    with pytest.raises(Exception, match="is not empty"):
        w.workspace.delete(folder)
    w.workspace.delete(folder, recursive=True)
    with pytest.raises(NotFound):
        w.workspace.get_status(folder)

    volume_dir = f"/Volumes/main/default/vol/t-{uniq()}"
    w.files.upload(f"{volume_dir}/a.bin", io.BytesIO(b"\x00\x01data"), overwrite=True)
    assert w.files.download(f"{volume_dir}/a.bin").contents.read() == b"\x00\x01data"
    entries = list(w.files.list_directory_contents(volume_dir))
    assert [(e.name, e.is_directory, e.file_size, e.path) for e in entries] == [("a.bin", False, 6,
                                                                                 f"{volume_dir}/a.bin")]
    w.files.delete(f"{volume_dir}/a.bin")
    with pytest.raises(NotFound):
        w.files.get_metadata(f"{volume_dir}/a.bin")


def test_permissions_with_databricks_sdk(src):
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.errors import InvalidParameterValue, ResourceDoesNotExist
    from databricks.sdk.service import iam, ml

    w = WorkspaceClient(profile="src-ws")
    c = client("src-ws")
    src.add_principal("group_name", "data-scientists")
    src.add_principal("user_name", "ops@example.com")
    experiment_id = c.create_experiment(f"/Users/{ME}/acl-{uniq()}")
    with pytest.raises(ResourceDoesNotExist, match=r"Principal: UserName\(nobody@example.com\) does not exist"):
        w.experiments.update_permissions(experiment_id, access_control_list=[
            ml.ExperimentAccessControlRequest(group_name="data-scientists",
                                              permission_level=ml.ExperimentPermissionLevel.CAN_READ),
            ml.ExperimentAccessControlRequest(user_name="nobody@example.com",
                                              permission_level=ml.ExperimentPermissionLevel.CAN_READ)])
    w.experiments.set_permissions(experiment_id, access_control_list=[ml.ExperimentAccessControlRequest(
        group_name="data-scientists", permission_level=ml.ExperimentPermissionLevel.CAN_EDIT)])
    acl = {(e.user_name or e.group_name): [p.permission_level.value for p in e.all_permissions]
           for e in w.experiments.get_permissions(experiment_id).access_control_list}
    assert acl == {ME: ["CAN_MANAGE"], "data-scientists": ["CAN_EDIT"], "admins": ["CAN_MANAGE"]}
    with pytest.raises(InvalidParameterValue):
        w.permissions.update("experiments", experiment_id, access_control_list=[
            iam.AccessControlRequest(user_name="x@example.com", permission_level=iam.PermissionLevel.CAN_RUN)])
    with pytest.raises(ResourceDoesNotExist):
        w.permissions.get("registered-models", "123")

    name = f"acl-model-{uniq()}"
    c.create_registered_model(name)
    model_id = w.model_registry.get_model(name).registered_model_databricks.id
    level = ml.RegisteredModelPermissionLevel.CAN_MANAGE_PRODUCTION_VERSIONS
    w.model_registry.update_permissions(model_id, access_control_list=[ml.RegisteredModelAccessControlRequest(
        user_name="ops@example.com", permission_level=level)])
    got = w.permissions.get("registered-models", model_id)
    assert (got.object_type, got.object_id) == ("registered-model", f"/registered-models/{model_id}")
    assert "ops@example.com" in {e.user_name for e in got.access_control_list}
    levels = [lvl.permission_level.value for lvl in w.model_registry.get_permission_levels(model_id).permission_levels]
    assert "CAN_MANAGE_STAGING_VERSIONS" in levels
    folder_id = w.workspace.get_status(f"/Users/{ME}").object_id
    assert w.workspace.get_permissions("directories", str(folder_id)).object_type == "directory"


# ---------------------------------------------------------------------------------------------- contract checks
def test_responses_parse_with_mlflow_protos_and_sdk_dataclasses(src, dbx_env):
    """The shim's own answers must parse strictly with the message types the real clients use."""
    from databricks.sdk.service import files as sdk_files
    from databricks.sdk.service import iam, ml
    from databricks.sdk.service import workspace as sdk_workspace
    from mlflow.exceptions import ERROR_CODE_TO_HTTP_STATUS
    from mlflow.protos import databricks_artifacts_pb2 as art
    from mlflow.protos import databricks_filesystem_service_pb2 as fs
    from mlflow.protos import service_pb2
    from mlflow.protos.databricks_pb2 import ErrorCode

    def strict(payload, message):
        ParseDict(payload, message, ignore_unknown_fields=False)
        return message

    def round_trips(cls, payload):
        assert cls.from_dict(payload).as_dict() == payload

    dbx_env.setenv("DATABRICKS_CONFIG_PROFILE", "src-ws")
    c = client("src-ws")
    experiment_id, run = new_run(c)
    c.log_text(run.info.run_id, "abc", "m/file.txt")
    name = f"contract-{uniq()}"
    c.create_registered_model(name)
    c.create_model_version(name, f"{run.info.artifact_uri}/m", run.info.run_id)

    body = api(src, "GET", f"/api/2.0/mlflow/databricks/registered-models/get?name={name}").json()
    round_trips(ml.GetModelResponse, body)
    assert body["registered_model_databricks"]["id"].isdigit()
    body = api(src, "GET", f"/api/2.0/mlflow/model-versions/list-artifacts?name={name}&version=1&path=").json()
    assert strict(body, service_pb2.ListArtifacts.Response()).files[0].path == "file.txt"
    body = api(src, "GET", f"/api/2.0/mlflow/model-versions/get-signed-download-uri?name={name}&version=1"
                           f"&path=file.txt").json()
    signed = strict(body, art.ArtifactCredentialInfo()).signed_uri
    assert requests.get(signed, timeout=30).content == b"abc"
    assert requests.get(signed, headers={"Authorization": f"Bearer {SRC_TOKEN}"}, timeout=30).status_code == 400
    assert requests.put(signed, data=b"x", timeout=30).status_code == 403  # a GET URL does not allow PUT

    for endpoint in ("credentials-for-write", "credentials-for-read"):
        body = api(src, "POST", f"/api/2.0/mlflow/artifacts/{endpoint}",
                   json={"run_id": run.info.run_id, "path": ["m/file.txt"]}).json()
        message = art.GetCredentialsForWrite.Response() if endpoint.endswith("write") else \
            art.GetCredentialsForRead.Response()
        assert strict(body, message).credential_infos[0].type == art.ArtifactCredentialType.AWS_PRESIGNED_URL
    body = api(src, "GET", f"/api/2.0/mlflow/artifacts/list?run_id={run.info.run_id}&path=m").json()
    assert [f.path for f in strict(body, service_pb2.ListArtifacts.Response()).files] == ["m/file.txt"]

    model_id = c.create_logged_model(experiment_id).model_id
    body = api(src, "POST", f"/api/2.0/mlflow/logged-models/{model_id}/artifacts/credentials-for-upload",
               json={"paths": ["MLmodel"]}).json()
    [cred] = strict(body, art.GetCredentialsForLoggedModelUpload.Response()).credentials
    assert requests.put(cred.credential_info.signed_uri, data=b"flavors: {}", timeout=30).status_code == 200
    body = api(src, "POST", f"/api/2.0/mlflow/logged-models/{model_id}/artifacts/credentials-for-download",
               json={"paths": ["MLmodel"]}).json()
    [cred] = strict(body, art.GetCredentialsForLoggedModelDownload.Response()).credentials
    assert requests.get(cred.credential_info.signed_uri, timeout=30).content == b"flavors: {}"
    body = api(src, "GET", f"/api/2.0/mlflow/logged-models/{model_id}/artifacts/directories").json()
    assert [f.path for f in strict(body, service_pb2.ListLoggedModelArtifacts.Response()).files] == ["MLmodel"]

    body = api(src, "GET", f"/api/2.0/fs/directories/WorkspaceInternal/Mlflow/Artifacts/{experiment_id}/Runs/"
                           f"{run.info.run_id}/artifacts").json()
    strict(body, fs.ListDirectoryResponse())
    round_trips(sdk_files.ListDirectoryResponse, body)
    assert body["contents"][0]["is_directory"] is True

    round_trips(sdk_workspace.ObjectInfo, api(src, "GET", f"/api/2.0/workspace/get-status?path=/Users/{ME}").json())
    round_trips(sdk_workspace.ListResponse, api(src, "GET", "/api/2.0/workspace/list?path=/Users").json())
    round_trips(iam.User, api(src, "GET", "/api/2.0/preview/scim/v2/Me").json())
    round_trips(iam.ObjectPermissions, api(src, "GET", f"/api/2.0/permissions/experiments/{experiment_id}").json())
    round_trips(ml.ExperimentPermissions, api(src, "GET", f"/api/2.0/permissions/experiments/{experiment_id}").json())
    round_trips(iam.GetPermissionLevelsResponse,
                api(src, "GET", f"/api/2.0/permissions/experiments/{experiment_id}/permissionLevels").json())

    for status, code in ((404, "RESOURCE_DOES_NOT_EXIST"), (400, "RESOURCE_ALREADY_EXISTS"),
                         (400, "INVALID_PARAMETER_VALUE"), (403, "PERMISSION_DENIED"), (404, "ENDPOINT_NOT_FOUND"),
                         (429, "REQUEST_LIMIT_EXCEEDED"), (404, "NOT_FOUND"), (409, "ALREADY_EXISTS")):
        assert DatabricksError(code, "m").status == status == ERROR_CODE_TO_HTTP_STATUS[code]
        ErrorCode.Value(code)
    errors = [api(src, "GET", "/api/2.0/workspace/get-status?path=/nope").json(),
              api(src, "POST", "/api/2.0/mlflow/experiments/create", json={"name": "rel"}).json(),
              api(src, "GET", "/api/2.0/fs/files/nope").json()]
    assert [e["error_code"] for e in errors] == ["RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"]
    assert all(set(e) == {"error_code", "message"} for e in errors)
    assert errors[1]["message"] == INVALID_EXPERIMENT_NAME.format(name="rel")
    json.dumps(src.requests)  # the request log is plain data
