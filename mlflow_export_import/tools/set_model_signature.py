"""Set a model's signature, inferred from a table of example inputs and a table of the model's outputs for them,
in the MLmodel file of the model's artifacts. A registered version gets it in its source: the run artifacts or
logged model it was registered from."""
import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common.cli_utils import mk_client
from mlflow_export_import.common.click_options import bool_option, opt_report
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.tools.click_options import opt_model_uri
from mlflow_export_import.tools.get_model_signature import describe_signature
from mlflow_export_import.tools.signature_utils import (
    infer_signature_from_files, registry_copy_differs, set_model_signature, to_json_signature)
from mlflow_export_import.tools.tools_utils import tool_command

_logger = get_logger(__name__)

NO_OUTPUTS_NOTE = ("no --output-file: the signature has inputs only, and Unity Catalog requires both inputs and "
                   "outputs")


def set_signature(model_uri, input_file, output_file, overwrite_signature, mlflow_client=None, report=None):
    """Infer a signature from input_file (and output_file: the model's outputs for those inputs) and write it
    into the model's MLmodel file. A model that already has a signature keeps it unless overwrite_signature.
    Returns the signature written (dict), or None when the existing one was kept."""
    signature = infer_signature_from_files(input_file, output_file)
    return apply_signature(model_uri, signature, overwrite_signature, mlflow_client, report,
                           has_outputs=bool(output_file))


def apply_signature(model_uri, signature, overwrite_signature=False, mlflow_client=None, report=None,
                    has_outputs=True):
    client = use_client(mlflow_client)
    location, previous, written = set_model_signature(client, model_uri, signature, overwrite_signature)
    facts = getattr(report, "facts", {})
    facts["model"] = model_uri
    if location.display != str(model_uri):
        facts["files at"] = location.display
    facts["previous signature"] = describe_signature(previous)
    if not written:
        reason = "it already has a signature (use --overwrite-signature True to replace it)"
        _logger.warning(f"Signature of model '{model_uri}' not changed: {reason}")
        if report is not None:
            report.skipped("signature", model_uri, reason)
        return None
    new = to_json_signature(signature)
    facts["signature set"] = describe_signature(new)
    _logger.info(f"Signature of model '{model_uri}' set in {location.display}")
    notes = [] if has_outputs else [NO_OUTPUTS_NOTE]
    registry_copy = registry_copy_differs(client, location)
    if registry_copy:
        notes.append(f"the registry keeps its own copy of version {location.version.version} of "
                     f"'{location.version.name}' ({registry_copy}); that copy is unchanged: register a new version "
                     f"from {location.display} to get one with the signature")
    for note in notes:
        _logger.warning(note)
        if report is not None:
            report.note(note)
    return new


@click.command("set-model-signature")
@opt_model_uri
@click.option("--input-file", type=str, required=True,
              help="Example inputs of the model: a CSV file with a header row (or .json / .jsonl).")
@click.option("--output-file", type=str, default=None,
              help="The model's outputs for those inputs (predictions): CSV (or .json / .jsonl). Without it the "
                   "signature has inputs only.")
@bool_option("--overwrite-signature", "Replace a signature the model already has.")
@opt_report
def main(model_uri, input_file, output_file, overwrite_signature, report_file):
    """Set the signature of a model, inferred from example input and output files."""
    options = dict(locals())
    try:
        signature = infer_signature_from_files(input_file, output_file)
    except ValueError as ex:  # checked before anything is read or written: a usage error
        raise click.BadParameter(str(ex), param_hint="--input-file / --output-file")
    with tool_command("set-model-signature", options, report_file) as report:
        apply_signature(model_uri, signature, overwrite_signature, mk_client(), report, has_outputs=bool(output_file))


if __name__ == "__main__":
    main()
