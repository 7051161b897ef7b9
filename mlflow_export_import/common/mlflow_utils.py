import re

from mlflow.exceptions import MlflowException

from mlflow_export_import.common import MlflowExportImportException

_ID_PATTERN = re.compile(r"^(\d+|[0-9a-f]{32})$")


def looks_like_experiment_id(s):
    """OSS ids are integers, Databricks ids integers or 32 hex digits. Asking the server for any other
    'id' makes an SQL server answer 500, which the client retries for minutes."""
    return bool(_ID_PATTERN.match(str(s)))


def get_experiment(mlflow_client, exp_id_or_name):
    """The experiment named (or, failing that, with the id) `exp_id_or_name`; a clear error if neither."""
    exp = mlflow_client.get_experiment_by_name(str(exp_id_or_name))
    if exp is not None:
        return exp
    if looks_like_experiment_id(exp_id_or_name):
        try:
            return mlflow_client.get_experiment(str(exp_id_or_name))
        except MlflowException as ex:
            if ex.get_http_status_code() not in (400, 404):
                raise
    raise MlflowExportImportException(
        f"Experiment '{exp_id_or_name}' not found (neither as a name nor as an id) in {mlflow_client.tracking_uri}",
        http_status_code=404)


def set_experiment(mlflow_client, exp_name, tags=None):
    """Id of the experiment `exp_name`, created (with tags) if missing. Returns (experiment_id, created)."""
    exp = mlflow_client.get_experiment_by_name(exp_name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            raise MlflowExportImportException(
                f"Experiment '{exp_name}' exists in {mlflow_client.tracking_uri} but is deleted: "
                "restore it or delete it permanently first", http_status_code=400)
        return exp.experiment_id, False
    try:
        return create_experiment(mlflow_client, exp_name, tags), True
    except MlflowException as ex:
        if ex.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return mlflow_client.get_experiment_by_name(exp_name).experiment_id, False  # created by a parallel worker


def create_experiment(mlflow_client, exp_name, tags=None):
    """Create the experiment. In a Databricks workspace its name must be an absolute workspace path, whose
    folder is created first when missing. Returns its id."""
    from mlflow_export_import.client import databricks, uris
    if uris.parse(mlflow_client.tracking_uri).is_databricks:
        if not exp_name.startswith("/"):
            raise MlflowExportImportException(
                f"Experiment name '{exp_name}' is not a workspace path: a Databricks workspace needs an absolute "
                f"path such as '/Users/<user>/{exp_name}' (map names with --experiment-rename-file or give "
                "--experiment-name)", http_status_code=400)
        databricks.ensure_experiment_folder(mlflow_client, exp_name)
    return mlflow_client.create_experiment(exp_name, tags=tags)


def get_experiment_description(experiment):
    return experiment.tags.get("mlflow.note.content")
