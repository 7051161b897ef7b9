"""download-notebook: a workspace notebook (at a revision, if given) in one or more formats, as files
<output-dir>/<notebook name>.<format lowercased>."""
import os

import click

from mlflow_export_import.client import databricks, uris
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.common.click_options import opt_output_dir, opt_report
from mlflow_export_import.notebook.notebooks import KIND, check_formats, download_formats


def download_notebook(output_dir, notebook_workspace_path, revision_id, notebook_formats, dbx_client, report=None):
    """Write the notebook in each format (a list, or a comma string as 'SOURCE,DBC'). dbx_client: a databricks-sdk
    WorkspaceClient or a DatabricksHttpClient. Returns the files written; raises when a format could not be."""
    formats = check_formats(notebook_formats)
    workspace = getattr(dbx_client, "workspace_client", None) or dbx_client
    written, problems = download_formats(workspace, output_dir, notebook_workspace_path, revision_id, formats)
    name = os.path.basename(notebook_workspace_path.rstrip("/"))
    if report is not None and written:
        report.copied(KIND)
    if problems:
        reasons = "; ".join(f"{reason}: {', '.join(fmts)} not downloaded" for reason, fmts in problems.items())
        raise MlflowExportImportException(reasons, http_status_code=404)
    return [os.path.join(output_dir, f"{name}.{fmt.lower()}") for fmt in written]


def _workspace_of_environment():
    """The workspace of $MLFLOW_TRACKING_URI when it names one, else of the default Databricks credentials."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or ""
    target = uris.parse(uri) if uri.startswith(uris.DATABRICKS) else uris.parse(uris.DATABRICKS)
    uris.check_databricks_profile(target)
    return databricks.workspace_client(target)


@click.command("download-notebook")
@opt_output_dir
@click.option("--notebook", help="Workspace path of the notebook, e.g. /Users/me@example.com/train.", type=str,
              required=True)
@click.option("--revision", help="Revision id of the notebook (a run's mlflow.databricks.notebookRevisionID tag). "
              "Default: the latest.", type=str, default=None)
@click.option("--notebook-formats", type=str, default="SOURCE", show_default=True,
              help="Databricks notebook formats: SOURCE, HTML, JUPYTER or DBC (comma separated).")
@opt_report
def main(output_dir, notebook, revision, notebook_formats, report_file):
    """Download a Databricks workspace notebook (from $MLFLOW_TRACKING_URI's workspace, else the default
    Databricks credentials) in one or more formats."""
    with command("download-notebook", locals(), report_file) as report:
        formats = check_formats(notebook_formats)
        for path in download_notebook(output_dir, notebook, revision, formats, _workspace_of_environment(), report):
            click.echo(f"Wrote {path}")


if __name__ == "__main__":
    main()
