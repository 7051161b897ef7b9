"""The databricks-sdk WorkspaceClient of one side, for what MLflow's client does not do there: notebooks, workspace
permissions and Unity Catalog grants. Each side's client is built from that side's own profile."""
from mlflow_export_import.client import databricks, scope, uris


def workspace_client_of(mlflow_client, registry=False):
    """The WorkspaceClient of the workspace behind the client's tracking URI (registry=True: behind its registry
    URI, e.g. databricks-uc://p), or None when that side is not a Databricks workspace."""
    uri = (getattr(mlflow_client, "_registry_uri", None) if registry else None) or mlflow_client.tracking_uri
    target = uris.parse(uri)
    if not target.is_databricks:
        return None
    # A URI without a profile takes $DATABRICKS_CONFIG_PROFILE, which the other side's calls may be holding.
    with scope.side_scope(mlflow_client):
        return databricks.workspace_client(target)


def sdk_error(ex):
    """One line for a databricks-sdk error: its Databricks error code and message."""
    code = getattr(ex, "error_code", None)
    message = str(ex).splitlines()[0][:300] if str(ex) else type(ex).__name__
    return f"{code}: {message}" if code and not message.startswith(str(code)) else message
