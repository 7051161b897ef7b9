"""SageMaker MLflow end to end with the real sagemaker-mlflow plugin: the router (tests/fakes/sagemaker.py)
resolves each ARN's real regional host and rejects any request signed for another region or carrying another
ARN's header, so a copy between two ARNs in one process proves each request went out as its own side's."""
import os

import mlflow
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mlflow_export_import.cli import cli
from tests.fakes.s3 import DUMMY_AWS_ENV
from tests.platforms import make_run_with_model

pytest.importorskip("sagemaker_mlflow")


@pytest.fixture(autouse=True)
def aws_client_env(sagemaker_env, monkeypatch, tmp_path):
    for name in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT", "SAGEMAKER_MLFLOW_ASSUME_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in DUMMY_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("MLFLOW_S3_ENDPOINT_URL", sagemaker_env.moto.url)
    with sagemaker_env.router.regional_endpoints():
        yield


def _global_state():
    return mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI"), mlflow.get_registry_uri()


def test_copy_run_oss_to_sagemaker_and_between_two_arns(sagemaker_env, src_client, uniq, tmp_path):
    sm = sagemaker_env
    exp_id = src_client.create_experiment(f"sm-src-{uniq}")
    run_id = make_run_with_model(src_client, exp_id, str(tmp_path), "oss-run")
    sm.router.clear_log()
    before = _global_state()

    first = CliRunner().invoke(cli, ["copy-run", "--run-id", run_id, "--experiment-name", f"sm-a-{uniq}",
                                     "--src-mlflow-uri", src_client.tracking_uri, "--dst-mlflow-uri", sm.arn1],
                               catch_exceptions=False)
    assert first.exit_code == 0, first.output
    on_arn1 = sm.s1.client()
    exp1 = on_arn1.get_experiment_by_name(f"sm-a-{uniq}")
    (run1,) = on_arn1.search_runs([exp1.experiment_id])
    assert run1.data.params == src_client.get_run(run_id).data.params
    assert any(k.endswith("notes/readme.txt") for k in sm.moto.keys("sm-bucket-1", f"{exp1.experiment_id}/"))

    second = CliRunner().invoke(cli, ["copy-run", "--run-id", run1.info.run_id, "--experiment-name", f"sm-b-{uniq}",
                                      "--src-mlflow-uri", sm.arn1, "--dst-mlflow-uri", sm.arn2],
                                catch_exceptions=False)
    assert second.exit_code == 0, second.output
    on_arn2 = sm.s2.client()
    exp2 = on_arn2.get_experiment_by_name(f"sm-b-{uniq}")
    (run2,) = on_arn2.search_runs([exp2.experiment_id])
    assert run2.data.metrics == run1.data.metrics
    assert any(k.endswith("model/MLmodel") for k in sm.moto.keys("sm-bucket-2", f"{exp2.experiment_id}/"))
    assert sm.router.rejected() == []
    targets = {(r["region"], r["arn_header"]) for r in sm.router.requests}
    assert targets == {("us-east-1", sm.arn1), ("eu-west-1", sm.arn2)}
    assert _global_state() == before


def test_export_import_between_arns_and_deep_copy_of_a_version(sagemaker_env, uniq, tmp_path):
    sm = sagemaker_env
    src = sm.s1.client()  # set-up straight on the backend
    exp_id = src.create_experiment(f"sm-bulk-{uniq}")
    run_id = make_run_with_model(src, exp_id, str(tmp_path), "r")
    name = f"sm-model-{uniq}"
    src.create_registered_model(name)
    src.create_model_version(name, f"{src.get_run(run_id).info.artifact_uri}/model", run_id)
    src.set_registered_model_alias(name, "champion", "1")
    sm.router.clear_log()
    runner = CliRunner()
    out = str(tmp_path / "out")
    result = runner.invoke(cli, ["export-models", "--models", name, "--output-dir", out],
                           env={"MLFLOW_TRACKING_URI": sm.arn1}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["import-models", "--input-dir", out], env={"MLFLOW_TRACKING_URI": sm.arn2},
                           catch_exceptions=False)
    assert result.exit_code == 0, result.output
    dst = sm.s2.client()
    assert dst.get_registered_model(name).aliases == {"champion": "1"}
    result = runner.invoke(cli, ["copy-model-version", "--src-model", name, "--src-version", "1",
                                 "--dst-model", f"{name}-copy", "--dst-experiment-name", f"sm-deep-{uniq}",
                                 "--src-registry-uri", sm.arn1, "--dst-registry-uri", sm.arn2,
                                 "--copy-stages-and-aliases"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    copy = dst.get_model_version(f"{name}-copy", "1")
    assert copy.aliases == ["champion"] and dst.get_run(copy.run_id).data.params == {"alpha": "0.5"}
    assert sm.router.rejected() == []


def test_copy_run_into_an_mlflow_app(sagemaker_env, src_client, uniq, tmp_path):
    sm = sagemaker_env
    exp_id = src_client.create_experiment(f"sm-app-src-{uniq}")
    run_id = make_run_with_model(src_client, exp_id, str(tmp_path), "r")
    sm.router.clear_log()
    result = CliRunner().invoke(cli, ["copy-run", "--run-id", run_id, "--experiment-name", f"sm-app-{uniq}",
                                      "--src-mlflow-uri", src_client.tracking_uri, "--dst-mlflow-uri", sm.app_arn],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sm.s2.client().get_experiment_by_name(f"sm-app-{uniq}") is not None  # the app shares the 2nd backend
    assert sm.router.rejected() == []
    assert {(r["region"], r["service"], r["arn_header"]) for r in sm.router.requests} == {
        ("us-west-2", "sagemaker", sm.app_arn)}


def test_bad_arn_and_missing_plugin_are_one_line(sagemaker_env, tmp_path, monkeypatch):
    result = CliRunner().invoke(cli, ["export-all", "--output-dir", str(tmp_path / "o")],
                                env={"MLFLOW_TRACKING_URI": "arn:aws:sagemaker:us-east-1:123:mlflow-tracking-server/x"},
                                catch_exceptions=False)
    assert result.exit_code != 0
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert "Bad SageMaker MLflow ARN" in line
    import sys
    monkeypatch.setitem(sys.modules, "sagemaker_mlflow", None)  # as on an install without the extra
    result = CliRunner().invoke(cli, ["export-all", "--output-dir", str(tmp_path / "o2")],
                                env={"MLFLOW_TRACKING_URI": sagemaker_env.arn1}, catch_exceptions=False)
    assert result.exit_code != 0
    (line,) = [x for x in result.output.splitlines() if x.startswith("Error:")]
    assert "mlflow-export-import[sagemaker]" in line


def test_a_client_without_the_scope_is_rejected(sagemaker_env):
    """The hazard the scope exists for: MLflow's own client for ARN2 used while the global URI is ARN1."""
    sm = sagemaker_env
    mlflow.set_tracking_uri(sm.arn1)
    try:
        with pytest.raises(Exception):
            MlflowClient(sm.arn2).search_experiments(max_results=1)
    finally:
        mlflow.set_tracking_uri(None)
    assert sm.router.rejected()
