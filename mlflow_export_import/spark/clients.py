"""What a task needs to make its own client: the URIs of the driver's client (a client is never pickled; the
executor's environment or Databricks profile supplies the credentials, as it would for the console scripts)."""
import os

from mlflow_export_import.client.client_utils import create_mlflow_client
from mlflow_export_import.client.uris import registry_uri_of

_SQLITE = "sqlite:///"


def client_uris(client):
    """(tracking URI, registry URI) of the client, local store paths made absolute: an executor does not run in
    the driver's working directory."""
    return _absolute(client.tracking_uri), _absolute(registry_uri_of(client))


def task_client(uris):
    return create_mlflow_client(*uris)


def _absolute(uri):
    uri = str(uri)
    if uri.startswith(_SQLITE) and not uri[len(_SQLITE):].startswith("/"):
        return _SQLITE + os.path.abspath(uri[len(_SQLITE):])
    return uri
