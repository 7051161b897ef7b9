"""An export's artifact files on their way to the destination: the MLmodel files among them, and the upload to the
artifact location of a run or logged model."""
import os

from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.utils.uri import add_databricks_profile_info_to_artifact_uri

from mlflow_export_import.client.scope import side_scope


def log_artifacts_to(client, artifact_uri, local_dir):
    """Upload local_dir to the artifact location of a run or logged model, as MLflow's log_artifacts and
    log_model_artifacts do, without the get_run or get_logged_model they make to learn artifact_uri."""
    with side_scope(client):
        uri = add_databricks_profile_info_to_artifact_uri(artifact_uri, client.tracking_uri)
        get_artifact_repository(uri, tracking_uri=client.tracking_uri).log_artifacts(local_dir)


def find_mlmodel_files(artifacts_dir):
    """Every MLmodel under artifacts_dir, except the registry's copies in 'metadata' folders."""
    for root, dirs, files in os.walk(artifacts_dir):
        dirs[:] = [d for d in dirs if d != "metadata"]
        if "MLmodel" in files:
            yield os.path.join(root, "MLmodel")
