"""Print every registered model of the tracking server ($MLFLOW_TRACKING_URI) as the REST API answers it
(`registered-models/search`, all pages). `python -m mlflow_export_import.tools.list_registered_models`"""
import json

import click

from mlflow_export_import.client.rest_client import RestClient

PAGE_SIZE = 1000


def list_registered_models(client=None, filter=None):
    """{"registered_models": [...]} with every page of `registered-models/search` (REST shape)."""
    client = client or RestClient()
    models, token = [], None
    while True:
        params = {"max_results": PAGE_SIZE, **({"page_token": token} if token else {}),
                  **({"filter": filter} if filter else {})}
        page = client.get("registered-models/search", params)
        models.extend(page.get("registered_models", []))
        token = page.get("next_page_token")
        if not token:
            return {"registered_models": models}


@click.command("list-registered-models")
def main():
    """Print the registered models of $MLFLOW_TRACKING_URI as JSON."""
    from mlflow_export_import.tools.tools_utils import tool_command
    with tool_command("list-registered-models", {}) as report:
        models = list_registered_models()
        click.echo(json.dumps(models, indent=2))
        report.facts["registered models"] = len(models["registered_models"])


if __name__ == "__main__":
    main()
