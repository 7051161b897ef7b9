"""Version sources in every storage style map onto the destination run's artifacts (pure functions)."""
import pytest
from mlflow.entities import RunInfo

from mlflow_export_import.model.model_utils import _extract_model_path, _path_join, resolve_source

RID = "0123456789abcdef0123456789abcdef"
DST = RunInfo(run_id="f" * 32, experiment_id="2", user_id="u", status="FINISHED", start_time=0, end_time=0,
              lifecycle_stage="active", artifact_uri=f"mlflow-artifacts:/2/{'f' * 32}/artifacts")


@pytest.mark.parametrize("source, artifact_uri, expected", [
    (f"dbfs:/databricks/mlflow-tracking/1812/{RID}/artifacts/model", None, "model"),
    (f"dbfs:/databricks/mlflow-tracking/1812/{RID}/artifacts/model/sklearn", None, "model/sklearn"),
    (f"dbfs:/databricks/mlflow-tracking/1812/{RID}/artifacts", None, ""),
    (f"dbfs:/databricks/mlflow-tracking/1812/{RID}/artifacts/", None, ""),
    (f"s3://bucket/mlruns/1/{RID}/artifacts/model", f"s3://bucket/mlruns/1/{RID}/artifacts", "model"),
    (f"gs://bucket/x/{RID}/artifacts/m/sub", None, "m/sub"),
    (f"/srv/mlruns/1/{RID}/artifacts/m", f"/srv/mlruns/1/{RID}/artifacts", "m"),
    (f"file:///srv/mlruns/1/{RID}/artifacts/m", f"/srv/mlruns/1/{RID}/artifacts", "m"),
    (f"mlflow-artifacts:/1/{RID}/artifacts/model_v2", f"mlflow-artifacts:/1/{RID}/artifacts", "model_v2"),
    (f"runs:/{RID}/model", None, "model"),
    (f"wasbs://c@acct.blob.core.windows.net/root/{RID}/artifacts/model", None, "model"),
])
def test_model_path_inside_the_run_artifacts(source, artifact_uri, expected):
    assert _extract_model_path(source, RID, artifact_uri) == expected


@pytest.mark.parametrize("source", [
    f"/srv/mlruns/1/{RID}/artifacts/model",
    f"s3://bucket/mlruns/1/{RID}/artifacts/model",
    f"mlflow-artifacts:/1/{RID}/artifacts/model",
])
def test_artifact_sources_point_at_the_destination_run(source):
    dst_source, model_id = resolve_source(None, {"source": source, "run_id": RID, "version": "1"}, DST)
    assert (dst_source, model_id) == (f"{DST.artifact_uri}/model", None)


def test_runs_uri_keeps_its_style():
    assert resolve_source(None, {"source": f"runs:/{RID}/model", "run_id": RID}, DST) == (f"runs:/{'f' * 32}/model",
                                                                                            None)


def test_dbfs_path_join_uses_forward_slashes():
    assert _path_join("dbfs:\\mlflow\\1812", "model") == "dbfs:/mlflow/1812/model"
