"""Databricks workspaces end to end on the local fakes (tests/fakes): the seed examples of copy-run and
copy-model-version, bulk export/import from and into a workspace, each request with its own workspace's token."""
import json
import os

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mlflow_export_import.cli import cli
from tests import platforms
from tests.platforms import acting_as, experiment_path, make_run_with_model


def run_cli(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def _same_run_data(src, dst):
    assert dst.data.params == src.data.params
    assert dst.data.metrics == src.data.metrics
    user_tags = {k: v for k, v in src.data.tags.items() if not k.startswith(("mlflow.", "mlflow_exim"))}
    assert {k: dst.data.tags.get(k) for k in user_tags} == user_tags


def _read_artifact(profile, run_id, path, tmp_path):
    with acting_as(profile) as client:
        local = client.download_artifacts(run_id, path, str(tmp_path / f"dl-{profile}-{run_id}"))
    with open(local) as f:
        return f.read()


def _global_state():
    import mlflow
    return (os.environ.get("DATABRICKS_CONFIG_PROFILE"), os.environ.get("MLFLOW_TRACKING_URI"),
            mlflow.get_tracking_uri(), mlflow.get_registry_uri())


@pytest.fixture(scope="module")
def src_runs(databricks, tmp_path_factory):
    """A run with a model in the source workspace (profile src-ws), made through the real MLflow client."""
    base = str(tmp_path_factory.mktemp("dbx-src"))
    with acting_as("src-ws") as client:
        exp_id = client.create_experiment(experiment_path("Wine_Experiment"))
        run_id = make_run_with_model(client, exp_id, base, "wine-run")
    return {"experiment_id": exp_id, "run_id": run_id, "base": base}


def test_copy_run_oss_to_databricks_creates_the_workspace_folder(dbx, src_client, uniq, tmp_path, monkeypatch):
    """Seed: copy-run --src-mlflow-uri http://... --dst-mlflow-uri databricks (default credentials)."""
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "prod-env")
    exp_id = src_client.create_experiment(f"dbx-oss-{uniq}")
    run_id = make_run_with_model(src_client, exp_id, str(tmp_path), "oss-run")
    dbx.clear_requests()
    before = _global_state()
    dst_name = f"/Users/{platforms.USER}/experiments/{uniq}/My_Experiment"

    result = run_cli("copy-run", "--run-id", run_id, "--experiment-name", dst_name,
                     "--src-mlflow-uri", src_client.tracking_uri, "--dst-mlflow-uri", "databricks")

    assert result.exit_code == 0, result.output
    assert _global_state() == before
    dst = MlflowClient("databricks://dst-ws")
    exp = dst.get_experiment_by_name(dst_name)
    assert exp is not None and exp.artifact_location.startswith("dbfs:/")
    (dst_run,) = dst.search_runs([exp.experiment_id])
    _same_run_data(src_client.get_run(run_id), dst_run)
    assert _read_artifact("dst-ws", dst_run.info.run_id, "notes/readme.txt", tmp_path) == "notes of oss-run"
    assert dbx.foreign_tokens() == []
    assert any(r["path"].startswith("/api/2.0/fs/files/") and r["method"] == "PUT" for r in dbx.dst.requests)


def test_copy_run_workspace_to_workspace_uses_each_side_token(dbx, src_runs, uniq, tmp_path):
    """Seed: copy-run --src-mlflow-uri databricks://dev-env --dst-mlflow-uri databricks://prod-env, in one
    process: every request to each workspace carries that workspace's token, artifacts included."""
    dbx.clear_requests()
    before = _global_state()
    dst_name = f"/Users/{platforms.USER}/experiments/ws2ws-{uniq}/My_Experiment"

    result = run_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name", dst_name,
                     "--src-mlflow-uri", "databricks://dev-env", "--dst-mlflow-uri", "databricks://prod-env")

    assert result.exit_code == 0, result.output
    assert _global_state() == before
    assert dbx.foreign_tokens() == []
    src_run = MlflowClient("databricks://src-ws").get_run(src_runs["run_id"])
    dst = MlflowClient("databricks://dst-ws")
    (dst_run,) = dst.search_runs([dst.get_experiment_by_name(dst_name).experiment_id])
    _same_run_data(src_run, dst_run)
    assert _read_artifact("dst-ws", dst_run.info.run_id, "notes/readme.txt", tmp_path) == "notes of wine-run"
    assert _read_artifact("dst-ws", dst_run.info.run_id, "model/MLmodel", tmp_path)
    src_reads = [r for r in dbx.src.requests if r["path"].startswith("/api/2.0/fs/") and r["method"] == "GET"]
    dst_writes = [r for r in dbx.dst.requests if r["path"].startswith("/api/2.0/fs/files/") and r["method"] == "PUT"]
    assert src_reads and dst_writes
