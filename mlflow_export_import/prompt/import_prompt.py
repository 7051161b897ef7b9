"""Import prompt versions (our prompt.json or the reference's): versions in numeric order, keeping the source
version numbers where the destination allows it, never a second copy of a version already there (versions are
matched on their immutable content), then the prompt's description, tags, experiments and aliases."""
import json
import os

import click
from mlflow.exceptions import MlflowException
from mlflow.prompt.constants import PROMPT_EXPERIMENT_IDS_TAG_KEY

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.client.scope import scoped_object
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.registry_rules import registry_writer
from mlflow_export_import.common.click_options import opt_dry_run, bool_option, opt_input_dir, opt_report
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.prompt.export_prompt import (
    KIND, PROMPT_FILE, VERSION_KIND, check_prompts_supported, record_failure)
from mlflow_export_import.prompt.plan import find_same_version, list_dst_versions, plan_prompts, read_prompt_file

FILLER_TEMPLATE = "(placeholder written by mlflow-export-import to keep version numbers; deleted)"
MAX_FILLERS = 1000

_logger = get_logger(__name__)


def import_prompt(input_dir, prompt_name=None, delete_prompt=False, mlflow_client=None, report=None):
    """Import the prompt version of input_dir/prompt.json, as prompt_name if given.
    Returns (name, version) when created, (name, None) when the version was already there, None on failure."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    path = os.path.join(input_dir, PROMPT_FILE)
    try:
        src = read_prompt_file(path)
    except Exception as ex:
        record_failure(client, report, VERSION_KIND, path, ex, "import")
        return None
    name = prompt_name or src["name"]
    dst_version, created = import_prompt_versions(client, name, [src], delete_prompt, report).get(
        src["version"], (None, False))
    if dst_version is None:
        return None
    return name, (dst_version if created else None)


def import_prompt_versions(client, name, src_versions, delete_prompt=False, report=None, experiment_ids=None):
    """Import the versions (dicts of prompt.json) of one prompt, then its metadata. experiment_ids: {experiment
    name: destination id or None} of the names this import looked up already, shared by the prompts of an import.
    Returns {src version: (dst version, created)}; {} if the prompt failed."""
    report = report if report is not None else Report()
    experiment_ids = experiment_ids if experiment_ids is not None else {}
    src_versions = sorted(src_versions, key=lambda v: v["version"])
    try:
        check_prompts_supported(client)
        if delete_prompt:
            delete_prompt_if_exists(client, name)
        created_prompt = create_prompt_if_missing(client, name, src_versions, experiment_ids)
        dst_versions = [] if created_prompt is not None else list_dst_versions(client, name)
    except Exception as ex:
        record_failure(client, report, KIND, name, ex, "import")
        return {}
    result = {}
    for src in src_versions:
        obj_id = f"{name}/v{src['version']}"
        try:
            match = find_same_version(src, dst_versions, [v for v, _ in result.values()])
            if match is not None:
                sync_version_tags(client, name, match, src, dst_versions)
                result[src["version"]] = (match, False)
                report.skipped(VERSION_KIND, obj_id, f"already in the destination as version {match}")
                continue
            pv = create_version(client, name, src, dst_versions)
            dst_versions.append(pv)
            result[src["version"]] = (int(pv.version), True)
            report.copied(VERSION_KIND)
        except Exception as ex:
            record_failure(client, report, VERSION_KIND, obj_id, ex, "import")
    try:
        import_prompt_metadata(client, name, src_versions, {s: d for s, (d, _) in result.items()}, created_prompt,
                               experiment_ids)
    except Exception as ex:
        record_failure(client, report, KIND, name, ex, "import its description, tags and aliases")
        return result
    if any(created for _, created in result.values()):
        report.copied(KIND)
    else:
        report.skipped(KIND, name, "no new version")
    return result


def delete_prompt_if_exists(client, name):
    if client.get_prompt(name) is None:
        return
    for pv in list_dst_versions(client, name):  # a Unity Catalog prompt must be empty before it is deleted
        client.delete_prompt_version(name, str(pv.version))
    client.delete_prompt(name)


def create_prompt_if_missing(client, name, src_versions, experiment_ids=None):
    """The Prompt as created (linked to its experiments already), or None when it was there already.
    experiment_ids: as for import_prompt_versions."""
    if client.get_prompt(name) is not None:
        return None
    info = src_versions[0].get("prompt_info") or {}
    description = info.get("description") if "description" in info else src_versions[0].get("commit_message")
    tags = dict(info.get("tags") or {})
    links = experiment_links(client, src_versions[-1].get("prompt_info") or {},
                             tags.get(PROMPT_EXPERIMENT_IDS_TAG_KEY, ""), experiment_ids)
    if links:  # one request less than linking afterwards (import_prompt_metadata then finds it done)
        tags[PROMPT_EXPERIMENT_IDS_TAG_KEY] = links
    try:
        return client.create_prompt(name, description=description, tags=tags or None)
    except MlflowException as ex:
        if ex.error_code == "RESOURCE_ALREADY_EXISTS" and client.get_prompt(name) is None:
            raise MlflowExportImportException(
                ex, f"A registered model named '{name}' exists in the destination: it cannot also be a prompt")
        if ex.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        return None


def sync_version_tags(client, name, version, src, dst_versions):
    dst = next(pv for pv in dst_versions if int(pv.version) == version)
    for key, value in (src.get("tags") or {}).items():
        if (dst.tags or {}).get(key) != value:
            client.set_prompt_version_tag(name, str(version), key, value)


def create_version(client, name, src, dst_versions):
    """Create the version; when the destination's next number is below the source's (source versions were
    deleted), numbered placeholders are created and deleted first so that the version keeps its number."""
    next_number = max([int(pv.version) for pv in dst_versions], default=0) + 1
    for _ in range(min(src["version"] - next_number, MAX_FILLERS)):
        filler = client.create_prompt_version(name, FILLER_TEMPLATE, description="placeholder")
        client.delete_prompt_version(name, str(filler.version))
    template = src["template"]
    if src.get("prompt_type") == "chat" and isinstance(template, str):
        template = json.loads(template)
    pv = client.create_prompt_version(name, template, description=src.get("commit_message"),
                                      tags=src.get("tags") or None, response_format=src.get("response_format"),
                                      model_config=src.get("model_config"))
    if int(pv.version) != src["version"]:
        _logger.info(f"Prompt '{name}' version {src['version']} imported as version {pv.version}")
    return pv


def import_prompt_metadata(client, name, src_versions, version_map, created_prompt=None, experiment_ids=None):
    """Description, tags, experiments and aliases of the prompt. A reference export has none of them: as its
    importer (register_prompt) would, the version tags become prompt tags. created_prompt: the Prompt as this
    import created it (not read again); experiment_ids: as for import_prompt_versions."""
    info = src_versions[-1].get("prompt_info")
    if info is None:
        for src in src_versions:
            for key, value in (src.get("tags") or {}).items():
                client.set_prompt_tag(name, key, value)
        return
    prompt = created_prompt if created_prompt is not None else client.get_prompt(name)
    if "description" in info and (prompt.description or None) != (info["description"] or None):
        scoped_object(client, client._get_registry_client()).update_registered_model(name, info["description"] or "")
    for key, value in (info.get("tags") or {}).items():
        if prompt.tags.get(key) != value:
            client.set_prompt_tag(name, key, value)
    link_experiments(client, name, info, prompt.tags.get(PROMPT_EXPERIMENT_IDS_TAG_KEY, ""), experiment_ids)
    for alias, src_version in (info.get("aliases") or {}).items():
        dst_version = version_map.get(int(src_version))
        if dst_version is not None:  # the version was just matched or made: not checked again (two reads)
            registry_writer(client).set_prompt_alias(name, alias, int(dst_version))


def link_experiments(client, name, info, current, experiment_ids=None):
    """The prompt's experiment links, by experiment name (source ids mean nothing in the destination)."""
    value = experiment_links(client, info, current, experiment_ids)
    if value and value != current:
        client.set_prompt_tag(name, PROMPT_EXPERIMENT_IDS_TAG_KEY, value)


def experiment_links(client, info, current, experiment_ids=None):
    """The value of the prompt's experiment ids tag: its current ids, then those of the experiments the export
    names. experiment_ids: {name: id or None} of names looked up already, completed here."""
    experiment_ids = experiment_ids if experiment_ids is not None else {}
    ids = [x for x in current.split(",") if x]
    for exp_name in info.get("experiment_names") or []:
        if exp_name and exp_name not in experiment_ids:
            exp = client.get_experiment_by_name(exp_name)
            experiment_ids[exp_name] = exp.experiment_id if exp is not None else None
        exp_id = experiment_ids.get(exp_name) if exp_name else None
        if exp_id is not None and exp_id not in ids:
            ids.append(exp_id)
    return f",{','.join(ids)}," if ids else ""


@click.command("import-prompt")
@opt_input_dir
@click.option("--prompt-name", type=str, default=None, help="Destination prompt name. Default: the source name.")
@bool_option("--delete-prompt", "Delete the destination prompt (all its versions) first if it exists.")
@opt_dry_run
@opt_report
def main(input_dir, prompt_name, delete_prompt, dry_run, report_file):
    """Import one prompt version exported by export-prompt."""
    with command("import-prompt", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_prompts(mk_client(read_only=True), [input_dir], delete_prompt, report, prompt_name)
            return
        import_prompt(input_dir, prompt_name, delete_prompt, mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
