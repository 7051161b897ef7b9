"""Show the signature of a model: its MLmodel file's `signature`, each field JSON-decoded."""
import json

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common.cli_utils import mk_client
from mlflow_export_import.common.click_options import opt_report
from mlflow_export_import.tools.click_options import opt_model_uri, opt_use_get_model_info
from mlflow_export_import.tools.signature_utils import get_model_signature
from mlflow_export_import.tools.tools_utils import tool_command


def get_signature(model_uri, output_file=None, use_get_model_info=False, mlflow_client=None):
    """The signature of the model (dict, or None when it has none), also written as JSON to output_file."""
    client = use_client(mlflow_client)
    signature = get_model_signature(model_uri, use_get_model_info, mlflow_client=client)
    if output_file:
        with open(output_file, "w") as f:
            json.dump(signature, f, indent=2)
            f.write("\n")
    return signature


def describe_signature(signature):
    if signature is None:
        return "none"
    parts = [f"{len(signature.get(k) or [])} {k}" for k in ("inputs", "outputs") if signature.get(k) is not None]
    if signature.get("params"):
        parts.append(f"{len(signature['params'])} params")
    return ", ".join(parts) or "empty"


@click.command("get-model-signature")
@opt_model_uri
@click.option("--output-file", type=str, default=None, help="Also write the signature to this JSON file.")
@opt_use_get_model_info
@opt_report
def main(model_uri, output_file, use_get_model_info, report_file):
    """Show the signature of a model (JSON on stdout); 'null' when it has none."""
    with tool_command("get-model-signature", locals(), report_file) as report:
        signature = get_signature(model_uri, output_file, use_get_model_info, mlflow_client=mk_client())
        click.echo(json.dumps(signature, indent=2))
        report.facts["model"] = model_uri
        report.facts["signature"] = describe_signature(signature)
        if output_file:
            report.facts["written to"] = output_file


if __name__ == "__main__":
    main()
