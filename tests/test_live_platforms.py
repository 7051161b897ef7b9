"""Against a live Databricks workspace or SageMaker server: these run only when their environment variables name
one, and are reported as skipped (with the variables to set) otherwise. Each creates uniquely named objects.

  MLFLOW_COPY_LIVE_DBX_SRC_PROFILE, MLFLOW_COPY_LIVE_DBX_DST_PROFILE   two workspace profiles (may be the same)
  MLFLOW_COPY_LIVE_WORKSPACE_DIR                                       a scratch folder, e.g. /Users/me@x.com/tmp
  MLFLOW_COPY_LIVE_UC_PROFILE, MLFLOW_COPY_LIVE_UC_CATALOG, MLFLOW_COPY_LIVE_UC_SCHEMA
  MLFLOW_COPY_LIVE_SAGEMAKER_ARN                                       with AWS credentials as boto3 finds them
"""
import os
import uuid

import pytest
from click.testing import CliRunner

from mlflow_export_import.cli import cli


def _env_or_skip(*names):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        pytest.skip(f"live test: set {', '.join(missing)} to run it")
    return [os.environ[n] for n in names]


def _cli(*args, env=None):
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def test_live_copy_run_between_workspaces(tmp_path):
    src, dst, folder = _env_or_skip("MLFLOW_COPY_LIVE_DBX_SRC_PROFILE", "MLFLOW_COPY_LIVE_DBX_DST_PROFILE",
                                    "MLFLOW_COPY_LIVE_WORKSPACE_DIR")
    from mlflow import MlflowClient
    client = MlflowClient(f"databricks://{src}")
    name = f"{folder}/mlflow-export-import-live-{uuid.uuid4().hex[:8]}"
    exp_id = client.create_experiment(name)
    run = client.create_run(exp_id)
    client.log_param(run.info.run_id, "p", "1")
    client.set_terminated(run.info.run_id)
    try:
        result = _cli("copy-run", "--run-id", run.info.run_id, "--experiment-name", f"{name}-copy",
                      "--src-mlflow-uri", f"databricks://{src}", "--dst-mlflow-uri", f"databricks://{dst}")
        assert result.exit_code == 0, result.output
        dst_client = MlflowClient(f"databricks://{dst}")
        copy = dst_client.get_experiment_by_name(f"{name}-copy")
        assert [r.data.params for r in dst_client.search_runs([copy.experiment_id])] == [{"p": "1"}]
        dst_client.delete_experiment(copy.experiment_id)
    finally:
        client.delete_experiment(exp_id)


def test_live_export_all_from_sagemaker(tmp_path):
    (arn,) = _env_or_skip("MLFLOW_COPY_LIVE_SAGEMAKER_ARN")
    result = _cli("export-experiments", "--experiments", "all", "--output-dir", tmp_path / "out",
                  env={"MLFLOW_TRACKING_URI": arn})
    assert result.exit_code == 0, result.output


def test_live_unity_catalog_names_are_checked(tmp_path):
    profile, catalog, schema = _env_or_skip("MLFLOW_COPY_LIVE_UC_PROFILE", "MLFLOW_COPY_LIVE_UC_CATALOG",
                                            "MLFLOW_COPY_LIVE_UC_SCHEMA")
    result = _cli("copy-model-version", "--src-model", "x", "--src-version", "1", "--dst-model", f"{catalog}.bad",
                  "--src-registry-uri", f"databricks-uc://{profile}", "--dst-registry-uri", f"databricks-uc://{profile}")
    assert result.exit_code == 2 and "three parts" in result.output
