"""What an import does with exported prompt versions, decided before anything is written: the export read, the
destination versions of the same content found, and the decision for each. import-prompt(s), copy-prompts and
their --dry-run take it from here; this module imports no importer."""
import json
import os

from mlflow_export_import.common import MlflowExportImportException, io_utils, model_utils
from mlflow_export_import.common.capabilities import unsupported_reason
from mlflow_export_import.common.iterators import BaseIterator
from mlflow_export_import.prompt import export_prompt as prompts


def read_prompt_file(path):
    dct = io_utils.read_file_mlflow(path).get("prompt")
    if not isinstance(dct, dict) or not dct.get("name") or dct.get("version") is None or "template" not in dct:
        raise MlflowExportImportException(f"Corrupt export file '{path}': no prompt name, version and template",
                                          http_status_code=400)
    try:
        return {**dct, "version": int(dct["version"])}
    except (TypeError, ValueError):
        raise MlflowExportImportException(f"Corrupt export file '{path}': version '{dct['version']}' is not a number",
                                          http_status_code=400)


def list_dst_versions(client, name):
    return sorted(BaseIterator(client.search_prompt_versions, 1000, name=name), key=lambda pv: int(pv.version))


def content_key(dct):
    """What never changes in a prompt version: its template, commit message, response format and model config."""
    return (json.dumps(dct.get("template"), sort_keys=True), dct.get("commit_message") or "",
            json.dumps(dct.get("response_format"), sort_keys=True),
            json.dumps(dct.get("model_config"), sort_keys=True))


def pv_content(pv):
    return {"template": pv.template, "commit_message": pv.commit_message, "response_format": pv.response_format,
            "model_config": pv.model_config}


def find_same_version(src, dst_versions, taken):
    """The destination version with the source's content (the same number first), not yet matched."""
    key, taken = content_key(src), set(taken)
    same = [int(pv.version) for pv in dst_versions
            if int(pv.version) not in taken and content_key(pv_content(pv)) == key]
    if not same:
        return None
    return src["version"] if src["version"] in same else same[0]


def plan_prompts(client, prompt_dirs, delete_prompt, report, prompt_name=None):
    """Prompt versions whose content is already in the destination prompt are skipped."""
    try:
        prompts.check_prompts_supported(client)
    except prompts.PromptsUnsupported:
        report.skipped(prompts.KIND, "all", unsupported_reason(client))
        return
    by_name = {}
    for path in prompt_dirs:
        try:
            src = read_prompt_file(os.path.join(path, prompts.PROMPT_FILE))
        except Exception as ex:
            prompts.record_failure(client, report, prompts.VERSION_KIND, os.path.join(path, prompts.PROMPT_FILE),
                                   ex, "import")
            continue
        by_name.setdefault(prompt_name or src["name"], []).append(src)
    for name, versions in sorted(by_name.items()):
        try:
            _plan_prompt(client, name, sorted(versions, key=lambda v: v["version"]), delete_prompt, report)
        except Exception as ex:
            prompts.record_failure(client, report, prompts.KIND, name, ex, "import")


def _plan_prompt(client, name, src_versions, delete_prompt, report):
    exists = client.get_prompt(name) is not None
    if not exists and model_utils.model_exists(client, name):
        raise MlflowExportImportException(
            f"A registered model named '{name}' exists in the destination: it cannot also be a prompt")
    dst_versions = list_dst_versions(client, name) if exists and not delete_prompt else []
    taken, new = [], 0
    for src in src_versions:
        obj_id = f"{name}/v{src['version']}"
        match = find_same_version(src, dst_versions, taken)
        if match is not None:
            taken.append(match)
            report.skipped(prompts.VERSION_KIND, obj_id, f"already in the destination as version {match}")
        else:
            new += 1
            report.would(prompts.VERSION_KIND, obj_id, f"create version {src['version']} of prompt '{name}'")
    if new:
        report.would(prompts.KIND, name, f"{'update' if exists else 'create'} prompt '{name}'")
    else:
        report.skipped(prompts.KIND, name, "no new version")
