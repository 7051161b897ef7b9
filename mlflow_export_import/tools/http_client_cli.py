"""`http-client`: call any REST endpoint of an MLflow server or a Databricks workspace with the tool's credentials
and retries (client/rest_client.py); the JSON answer goes to stdout or a file."""
import json
import os

import click

from mlflow_export_import.client.rest_client import RestClient
from mlflow_export_import.common import UsageError
from mlflow_export_import.common.cli_utils import mk_client
from mlflow_export_import.common.io_utils import redact_uri, write_file
from mlflow_export_import.tools.tools_utils import tool_command

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def read_json_arg(value, option):
    """A JSON option value: inline JSON, or '@file' for a file holding it."""
    if value is None:
        return None
    text = value
    if value.startswith("@"):
        try:
            with open(value[1:], encoding="utf-8") as f:
                text = f.read()
        except OSError as ex:
            raise UsageError(f"{option}: cannot read '{value[1:]}': {ex.strerror}")
    try:
        return json.loads(text)
    except ValueError as ex:
        raise UsageError(f"{option}: not JSON ({ex})")


def call(client, method, resource, params=None, data=None):
    method = method.upper()
    if method == "GET":
        return client.get(resource, params)
    if method == "DELETE":
        return client.delete(resource, params)
    return getattr(client, method.lower())(resource, data)


@click.command("http-client")
@click.option("--api", type=str, default="mlflow", show_default=True,
              help="'mlflow' (<host>/api/2.0/mlflow), 'databricks' (<host>/api/2.0), or a base path such as "
                   "'api/2.1'.")
@click.option("--resource", type=str, required=True, help="Resource under the API, e.g. 'experiments/search'.")
@click.option("--method", type=click.Choice(METHODS, case_sensitive=False), default="GET", show_default=True,
              help="HTTP method.")
@click.option("--params", type=str, default=None, help="Query parameters as JSON, or @FILE holding them.")
@click.option("--data", type=str, default=None, help="Request body as JSON, or @FILE holding it.")
@click.option("--output-file", type=str, default=None, help="Write the JSON answer to this file.")
@click.option("--tracking-uri", type=str, default=None,
              help="Server: a tracking URI such as http://host:5000 or databricks://PROFILE. "
                   "Default: $MLFLOW_TRACKING_URI.")
def main(api, resource, method, params, data, output_file, tracking_uri):
    """Call any REST endpoint of an MLflow server or Databricks workspace with the tool's credentials; the JSON
    answer goes to stdout (or --output-file)."""
    options = {**locals(), "tracking_uri": redact_uri(tracking_uri)}  # the options are logged
    with tool_command("http-client", options) as report:
        if not (tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")):
            raise UsageError("No server: give --tracking-uri or set MLFLOW_TRACKING_URI")
        params_dct = read_json_arg(params, "--params")
        data_dct = read_json_arg(data, "--data")
        mk_client(tracking_uri)  # an unreachable or refusing server in one line, not after minutes of retries
        client = RestClient(tracking_uri, api)
        answer = call(client, method, resource, params_dct, data_dct)
        report.facts["request"] = f"{method.upper()} {client.url(resource)}"
        if output_file:
            write_file(output_file, answer, "json")
            report.facts["written to"] = output_file
        else:
            click.echo(json.dumps(answer, indent=2))


if __name__ == "__main__":
    main()
