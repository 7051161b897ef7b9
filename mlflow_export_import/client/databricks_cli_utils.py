"""Host and token of a Databricks profile (reference helper).
`python -m mlflow_export_import.client.databricks_cli_utils [PROFILE]` prints the host and whether a token was
found (the token itself is never printed: it would end up in terminal logs)."""
import sys

from mlflow_export_import.client import uris
from mlflow_export_import.client.mlflow_auth_utils import databricks_host_token
from mlflow_export_import.common import MlflowExportImportException


def get_host_token(profile=None):
    """(host, token) of the profile's credentials (None: DATABRICKS_HOST/TOKEN, $DATABRICKS_CONFIG_PROFILE or
    DEFAULT), as the Databricks SDK resolves them."""
    target = uris.parse(f"databricks://{profile}" if profile else "databricks")
    uris.check_databricks_profile(target)
    return databricks_host_token(target)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    profile = argv[0] if argv else None
    try:
        host, token = get_host_token(profile)
    except MlflowExportImportException as ex:
        print(f"Error: {ex.message}", file=sys.stderr)
        return 1
    shown = f"<{len(token)} characters, not shown>" if token else None
    print((host, shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
