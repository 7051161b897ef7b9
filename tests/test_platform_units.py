"""Pure parts of the platform support: URI parsing, Unity Catalog name rules, the stage-alias rule, and the
settings lock that gives each side its own process-wide settings while calls of one side run in parallel."""
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from mlflow_export_import.client import scope, uris
from mlflow_export_import.common import MlflowExportImportException, UsageError, registry_rules


@pytest.mark.parametrize("uri, kind, profile, region", [
    ("databricks", uris.DATABRICKS, None, None),
    ("databricks://prod-env", uris.DATABRICKS, "prod-env", None),
    ("databricks-uc", uris.DATABRICKS_UC, None, None),
    ("databricks-uc://test-env", uris.DATABRICKS_UC, "test-env", None),
    ("databricks://scope:prefix", uris.DATABRICKS, "scope:prefix", None),
    ("uc:http://127.0.0.1:8080", uris.UC_OSS, None, None),
    ("arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/ts", uris.SAGEMAKER, None, "eu-west-1"),
    ("arn:aws:sagemaker:us-west-2:123456789012:mlflow-app/app-0123", uris.SAGEMAKER, None, "us-west-2"),
    ("http://localhost:5000", uris.OSS, None, None),
    ("sqlite:///mlflow.db", uris.OSS, None, None),
])
def test_uris_are_classified(uri, kind, profile, region):
    target = uris.parse(uri)
    assert (target.kind, target.profile, target.region) == (kind, profile, region)


@pytest.mark.parametrize("uri, message", [
    ("databricks://", "Bad Databricks URI"),
    ("databricks-uc://a b", "Bad Databricks URI"),
    ("uc:localhost:8080", "Bad Unity Catalog URI"),
    ("arn:aws:sagemaker:us-east-1:123:mlflow-tracking-server/x", "Bad SageMaker MLflow ARN"),
    ("arn:aws:s3:::bucket", "Bad SageMaker MLflow ARN"),
])
def test_bad_uris_say_what_is_expected(uri, message):
    with pytest.raises(MlflowExportImportException, match=message):
        uris.parse(uri)


def test_registry_uri_implies_its_tracking_server():
    assert uris.tracking_uri_of_registry("databricks-uc://p") == "databricks://p"
    assert uris.tracking_uri_of_registry("databricks-uc") == "databricks"
    assert uris.tracking_uri_of_registry("uc:http://h:1") is None
    assert uris.registry_kind("databricks://p") == "workspace"
    assert uris.registry_kind("uc:http://h:1") == uris.registry_kind("databricks-uc") == "unity_catalog"


def test_missing_profile_names_file_and_profiles(tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    cfg.write_text("[a]\nhost = https://a\n[b]\nhost = https://b\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    with pytest.raises(MlflowExportImportException) as info:
        uris.check_databricks_profile(uris.parse("databricks://nosuch"))
    assert str(cfg) in info.value.message and "profiles there: a, b" in info.value.message
    uris.check_databricks_profile(uris.parse("databricks://a"))
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "absent"))
    with pytest.raises(MlflowExportImportException, match="there is no config file"):
        uris.check_databricks_profile(uris.parse("databricks-uc://a"))


@pytest.mark.parametrize("name, ok", [
    ("main.default.model", True), ("cat.sch.m-1", True), ("default.model", False), ("a.b.c.d", False),
    ("cat.my schema.m", False), ("cat.sch.", False), ("cat/x.sch.m", False),
])
def test_unity_catalog_name_rule(name, ok):
    assert (registry_rules.uc_name_problem(name) is None) == ok


def test_stage_alias_rule_and_its_override(monkeypatch):
    monkeypatch.delenv(registry_rules.STAGE_ALIASES_ENV, raising=False)
    assert registry_rules.stage_aliases() == {"production": "production", "staging": "staging"}
    monkeypatch.setenv(registry_rules.STAGE_ALIASES_ENV, "Production=champion, Archived=old,Staging=")
    assert registry_rules.stage_aliases() == {"production": "champion", "archived": "old", "staging": ""}
    monkeypatch.setenv(registry_rules.STAGE_ALIASES_ENV, "Production")
    with pytest.raises(UsageError):
        registry_rules.stage_aliases()


def test_each_side_sees_its_own_profile_and_the_environment_is_put_back(monkeypatch):
    """Many threads of two sides: every call sees its side's DATABRICKS_CONFIG_PROFILE, calls of one side overlap,
    and afterwards the variable is as it was."""
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "user-default")
    keys = {"a": scope.scope_key("databricks://a"), "b": scope.scope_key("databricks-uc://b")}
    seen, active, overlap = [], {"a": 0, "b": 0}, {"a": 0, "b": 0}
    lock = threading.Lock()

    def call(side):
        with scope._LOCK.hold(keys[side]):
            with lock:
                active[side] += 1
                overlap[side] = max(overlap[side], active[side])
                assert active["a"] == 0 or active["b"] == 0  # never both sides at once
            seen.append((side, os.environ.get("DATABRICKS_CONFIG_PROFILE")))
            time.sleep(0.005)
            with lock:
                active[side] -= 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(call, ["a", "b"] * 40))
    assert {profile for side, profile in seen if side == "a"} == {"a"}
    assert {profile for side, profile in seen if side == "b"} == {"b"}
    assert overlap["a"] > 1 and overlap["b"] > 1
    assert os.environ["DATABRICKS_CONFIG_PROFILE"] == "user-default"


def test_default_databricks_side_keeps_the_users_profile_choice(monkeypatch):
    monkeypatch.delenv("DATABRICKS_CONFIG_PROFILE", raising=False)
    with scope._LOCK.hold(scope.scope_key("databricks://x")):
        assert os.environ["DATABRICKS_CONFIG_PROFILE"] == "x"
    with scope._LOCK.hold(scope.scope_key("databricks")):
        assert "DATABRICKS_CONFIG_PROFILE" not in os.environ
    assert scope.scope_key("http://localhost:5000") is None


def test_sagemaker_side_sets_the_global_tracking_uri_and_restores_it():
    import mlflow
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:mlflow-tracking-server/ts"
    before = mlflow.get_tracking_uri()
    with scope._LOCK.hold(scope.scope_key(arn)):
        assert mlflow.get_tracking_uri() == arn
    assert mlflow.get_tracking_uri() == before


def test_a_call_of_another_side_inside_a_call_is_refused():
    with scope._LOCK.hold(scope.scope_key("databricks://x")):
        with pytest.raises(RuntimeError, match="conflict"):
            with scope._LOCK.hold(scope.scope_key("databricks://y")):
                pass
