"""Export one prompt version: prompt.json in the reference's shape, plus what the reference loses (prompt type,
response format, model configuration, the version's aliases and the prompt's own description, tags, aliases
and experiments under `prompt_info`)."""
import click
from mlflow.exceptions import MlflowException
from mlflow.prompt.constants import PROMPT_EXPERIMENT_IDS_TAG_KEY
from mlflow.prompt.registry_utils import is_prompt_supported_registry

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common import capabilities
from mlflow_export_import.common.click_options import opt_output_dir, opt_report
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import BaseIterator
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import fmt_ts_millis

PROMPT_FILE = "prompt.json"
KIND = "prompts"
VERSION_KIND = "prompt_versions"


class PromptsUnsupported(capabilities.Unsupported):
    """The registry of this client has no prompts."""


def export_prompt(prompt_name, prompt_version, output_dir, mlflow_client=None, report=None):
    """Export one version of a prompt into output_dir/prompt.json. Returns the PromptVersion, or None."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    obj_id = f"{prompt_name}/v{prompt_version}"
    try:
        check_prompts_supported(client)
        info = get_prompt_info(client, prompt_name)
        pv = get_prompt_version(client, prompt_name, prompt_version)
        write_prompt_version(client, pv, info, output_dir)
    except Exception as ex:
        record_failure(client, report, VERSION_KIND, obj_id, ex, "export")
        return None
    report.copied(VERSION_KIND)
    return pv


def record_failure(client, report, kind, obj_id, ex, action):
    capabilities.record_failure(report, kind, obj_id, ex, unsupported_reason(client),
                                f"Prompt '{obj_id}' failed to {action}")


def unsupported_reason(client):
    return f"not supported by {io_utils.redact_uri(client._registry_uri)}"


def check_prompts_supported(client):
    if not is_prompt_supported_registry(client._registry_uri):
        raise PromptsUnsupported(unsupported_reason(client))


def get_prompt_info(client, name):
    """Prompt-level metadata: {"name", "description", "tags", "experiment_ids"}; a clear error if missing."""
    prompt = client.get_prompt(name)
    if prompt is None:
        raise MlflowExportImportException(f"Prompt '{name}' not found in {io_utils.redact_uri(client._registry_uri)}",
                                          http_status_code=404)
    tags = dict(prompt.tags or {})
    experiment_ids = [x for x in tags.pop(PROMPT_EXPERIMENT_IDS_TAG_KEY, "").split(",") if x]
    return {"name": prompt.name, "description": prompt.description, "tags": tags,
            "experiment_ids": experiment_ids,
            "experiment_names": [experiment_name(client, x) for x in experiment_ids]}


def experiment_name(client, experiment_id):
    try:
        return client.get_experiment(experiment_id).name
    except MlflowException:
        return None


def get_prompt_version(client, name, version):
    try:
        pv = client.get_prompt_version(name, str(version))
    except MlflowException as ex:
        if ex.get_http_status_code() != 404 and ex.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        pv = None
    if pv is None:
        raise MlflowExportImportException(
            f"Prompt '{name}' has no version {version} in {io_utils.redact_uri(client._registry_uri)}",
            http_status_code=404)
    return pv


def _get_prompt_safe(prompt_name, prompt_version, mlflow_client=None):
    """The prompt version, or None when it does not exist (reference API; the reference tries three fluent
    calls against the global tracking URI, this asks mlflow_client, default: a client for
    $MLFLOW_TRACKING_URI)."""
    client = use_client(mlflow_client)
    try:
        return get_prompt_version(client, prompt_name, prompt_version)
    except MlflowExportImportException as ex:
        if ex.http_status_code == 404:
            return None
        raise


def list_prompt_versions(client, name):
    """Every version of the prompt, full (with aliases), in numeric order."""
    numbers = sorted(int(pv.version) for pv in BaseIterator(client.search_prompt_versions, 1000, name=name))
    return [get_prompt_version(client, name, n) for n in numbers]


def write_prompt_version(client, pv, info, output_dir, aliases=None):
    """aliases: the prompt's {alias: version}; by default those of this version only."""
    aliases = aliases if aliases is not None else {a: int(pv.version) for a in pv.aliases or []}
    io_utils.write_export_file(output_dir, PROMPT_FILE, __file__, {"prompt": prompt_version_to_dict(pv, info, aliases)},
                               tracking_uri=client.tracking_uri)


def prompt_version_to_dict(pv, info, aliases):
    dct = {
        "name": pv.name,
        "version": int(pv.version),
        "template": pv.template,
        "tags": dict(pv.tags or {}),
        "creation_timestamp": pv.creation_timestamp,
        "last_updated_timestamp": pv.last_updated_timestamp,
        "user_id": pv.user_id,
        "description": pv.commit_message,
        "commit_message": pv.commit_message,
        "variables": sorted(pv.variables),
        "uri": pv.uri,
        "prompt_type": "text" if pv.is_text_prompt else "chat",
        "response_format": pv.response_format,
        "model_config": pv.model_config,
        "aliases": sorted(pv.aliases or []),
        "prompt_info": {**info, "aliases": dict(sorted(aliases.items()))},
    }
    for key in ("creation_timestamp", "last_updated_timestamp"):
        if dct[key]:
            dct[f"_{key}"] = fmt_ts_millis(int(dct[key]))
    return dct


@click.command("export-prompt")
@click.option("--prompt-name", help="Prompt name.", type=str, required=True)
@click.option("--prompt-version", help="Prompt version.", type=str, required=True)
@opt_output_dir
@opt_report
def main(prompt_name, prompt_version, output_dir, report_file):
    """Export one version of a prompt to a directory."""
    with command("export-prompt", locals(), report_file) as report:
        export_prompt(prompt_name, prompt_version, output_dir, mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
