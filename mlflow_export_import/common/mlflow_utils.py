import re

from mlflow.exceptions import MlflowException

from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common import download_utils

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


def set_experiment(mlflow_client, dbx_client=None, exp_name=None, tags=None):
    """The experiment `exp_name`, created (with tags) if missing. Two call forms:
    - ours, `set_experiment(client, exp_name, tags=None)` -> (experiment_id, created);
    - the reference's, `set_experiment(client, dbx_client, exp_name, tags=None)` -> experiment_id (dbx_client is
      not needed: workspace folders are made with the client's own credentials)."""
    if isinstance(dbx_client, str):
        return ensure_experiment(mlflow_client, dbx_client, exp_name if tags is None else tags)
    if not exp_name:
        raise MlflowExportImportException("set_experiment: no experiment name given", http_status_code=400)
    return ensure_experiment(mlflow_client, exp_name, tags)[0]


def ensure_experiment(mlflow_client, exp_name, tags=None):
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


# ---- reference API (common/mlflow_utils.py of the reference tool)

MLFLOW_NOTE_CONTENT = "mlflow.note.content"

download_artifacts = download_utils.download_artifacts


def set_experiment_description(mlflow_client, experiment_id, description):
    mlflow_client.set_experiment_tag(experiment_id, MLFLOW_NOTE_CONTENT, description)


def get_first_run(mlflow_client, exp_id_or_name):
    """The run of the experiment that started first, or None."""
    return _run_at_end(mlflow_client, exp_id_or_name, "ASC")


def get_last_run(mlflow_client, exp_id_or_name):
    """The run of the experiment that started last, or None."""
    return _run_at_end(mlflow_client, exp_id_or_name, "DESC")


def _run_at_end(mlflow_client, exp_id_or_name, order):
    exp = get_experiment(mlflow_client, exp_id_or_name)
    runs = mlflow_client.search_runs([exp.experiment_id], order_by=[f"attributes.start_time {order}"], max_results=1)
    return runs[0] if runs else None


def delete_experiment(mlflow_client, exp_id_or_name):
    """Delete the experiment (a soft delete, as MLflow does) if it exists. True if deleted."""
    try:
        exp = get_experiment(mlflow_client, exp_id_or_name)
    except MlflowExportImportException:
        return False
    mlflow_client.delete_experiment(exp.experiment_id)
    return True


def delete_model(mlflow_client, model_name):
    """Delete the registered model with every version, whatever their stage (the reference deletes only the
    versions in stage None)."""
    from mlflow_export_import.common import model_utils
    model_utils.delete_model(mlflow_client, model_name)


def create_workspace_dir(dbx_client, workspace_dir):
    """Create a Databricks workspace folder (and its parents). dbx_client: client_utils.create_dbx_client()."""
    return dbx_client.post("workspace/mkdirs", {"path": workspace_dir})


class MlflowTrackingUriTweak:
    """Inside the with-block, MLflow's global tracking and registry URIs are the client's (for MLflow functions
    that take no client), then restored. Shares the lock of client/scope.py, so two sides of a copy never see
    each other's URIs. Unlike the reference, the URIs change on entering the block, not at construction."""

    def __init__(self, client):
        self.client = client
        self._scope = None

    def __enter__(self):
        from mlflow_export_import.client import scope
        self._scope = scope.global_uris_scope(self.client)
        self._scope.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb):
        return self._scope.__exit__(exc_type, exc, tb)


def mk_msg_RestException(e):
    """An error as export files record it (model.json `info.failed_versions`)."""
    if isinstance(e, MlflowException):
        return {"RestException": {"error_code": e.error_code, "message": describe_error(e),
                                  "http_status_code": e.get_http_status_code()}}
    return {"Exception": {"type": type(e).__name__, "message": describe_error(e)}}


def dump_exception(ex, msg=""):
    """Log an error in one line (never a traceback), with `msg` before it."""
    from mlflow_export_import.common.logging_utils import get_logger
    text = describe_error(ex)
    get_logger(__name__).error(f"{msg}: {text}" if msg else text)
    return text
