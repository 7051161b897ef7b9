"""What the copy tools share: one checked client per side, the destination experiment and registered model."""
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import check_server
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common import cli_utils, model_utils
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.run import run_utils


def mk_client(tracking_uri, registry_uri=None):
    """A client for one side of a copy, checked to answer before any work starts. Without a tracking URI
    the registry URI names the server too (`databricks-uc://p` -> tracking `databricks://p`); without
    either, $MLFLOW_TRACKING_URI."""
    client = cli_utils.mk_client(tracking_uri, registry_uri)
    registry = client._registry_uri
    if registry and registry != client.tracking_uri and str(registry).startswith(("http://", "https://")):
        check_server(MlflowClient(registry))
    return client


def redact_options(options):
    """Command options to log: URIs without credentials."""
    return {k: redact_uri(v) if k.endswith("_uri") else v for k, v in options.items()}


def describe_client(client):
    """'tracking <uri>' or 'tracking <uri>, registry <uri>', credentials removed."""
    tracking, registry = client.tracking_uri, client._registry_uri
    text = f"tracking {redact_uri(tracking)}"
    return text if registry in (None, tracking) else f"{text}, registry {redact_uri(registry)}"


def create_experiment(client, experiment_name):
    """Id of the destination experiment, created if missing."""
    try:
        return set_experiment(client, experiment_name)[0]
    except MlflowException as ex:
        raise MlflowExportImportException(
            ex, f"Cannot create or use experiment '{experiment_name}' in {redact_uri(client.tracking_uri)}: "
                f"{describe_error(ex)}")


def create_registered_model(client, model_name, src_model=None):
    """Create the model unless it exists, with the description and tags of src_model (a RegisteredModel)
    when given. Returns True if it already existed (as the reference does)."""
    model_dct = model_utils.registered_model_to_dict(src_model) if src_model is not None else {}
    try:
        return not model_utils.create_model(client, model_name, model_dct, import_metadata=src_model is not None)
    except MlflowException as ex:
        raise MlflowExportImportException(
            ex, f"Cannot create registered model '{model_name}' in {describe_client(client)}: {describe_error(ex)}")


def add_tag(src_tags, dst_tags, key, prefix):
    """Copy src_tags[key], when present, into dst_tags as '<prefix>.<key>'."""
    if key in src_tags:
        dst_tags[f"{prefix}.{key}"] = src_tags[key]


def get_model_name(artifact_path):
    """The model's path inside its run's artifacts (run/run_utils.get_model_name)."""
    return run_utils.get_model_name(artifact_path)
