"""Run helpers of the reference API: point the MLmodel files of an imported run at it, and the model path of an
artifact URI."""
import os
import posixpath
import re
import tempfile

from mlflow_export_import.common.find_artifacts import MLMODEL, find_artifacts

_RUN_ID_LINE = re.compile(r"(?m)^run_id:.*$")


def update_mlmodel_run_id(mlflow_client, run_id):
    """Set `run_id` in every MLmodel file of the run's artifacts (registry copies in 'metadata' folders left
    alone) to the run's own id: an imported run's models otherwise name the source run. Only files that change
    are uploaded again. Returns the artifact paths updated."""
    updated = []
    for path in find_artifacts(mlflow_client, run_id, "", MLMODEL):
        with tempfile.TemporaryDirectory() as tmp:
            local = mlflow_client.download_artifacts(run_id, path, tmp)
            with open(local, encoding="utf-8") as f:
                text = f.read()
            fixed = _RUN_ID_LINE.sub(f"run_id: {run_id}", text)
            if fixed == text:
                continue
            upload = os.path.join(tmp, "upload", MLMODEL)
            os.makedirs(os.path.dirname(upload))
            with open(upload, "w", encoding="utf-8") as f:
                f.write(fixed)
            mlflow_client.log_artifact(run_id, upload, posixpath.dirname(path) or None)
        updated.append(path)
    return updated


def get_model_name(artifact_path):
    """The model's path inside its run's artifacts: what follows `artifacts/` in an artifact URI
    (`dbfs:/databricks/mlflow-tracking/1/<run>/artifacts/model` -> `model`), after the run id in a runs:/ URI,
    else the last path element."""
    path = artifact_path.rstrip("/")
    if path.startswith("runs:/"):
        return path[len("runs:/"):].partition("/")[2]
    marker = "/artifacts/"
    if marker in path:
        return path.split(marker, 1)[1]
    return "" if path.endswith("/artifacts") else posixpath.basename(path)
