"""Import an export-prompts directory (ours or the reference's): each prompt's versions in numeric order,
prompts in parallel. Nothing is written into the input directory."""
import os

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    bool_option, opt_input_dir, opt_report, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.io_utils import subdirs
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.prompt.export_prompt import (
    KIND, PROMPT_FILE, VERSION_KIND, PromptsUnsupported, check_prompts_supported, record_failure, unsupported_reason)
from mlflow_export_import.prompt.import_prompt import experiment_links, import_prompt_versions, read_prompt_file
from mlflow_export_import.prompt.plan import plan_prompts


def import_prompts(input_dir, delete_prompt=False, use_threads=False, mlflow_client=None, report=None, workers=None):
    """Returns {"total_prompts", "successful_imports", "skipped_imports", "failed_imports"} counted in prompt
    versions (skipped: already in the destination), or {"unsupported": True, "reason"}."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        check_prompts_supported(client)
    except PromptsUnsupported:
        report.skipped(KIND, "all", unsupported_reason(client))
        return {"unsupported": True, "reason": unsupported_reason(client)}
    by_name, unreadable = read_prompt_dirs(client, input_dir, report)
    by_name = {n: v for n, v in by_name.items() if report.wants_parent(KIND, VERSION_KIND, "/v", n)}
    report.expect(KIND, len(by_name))
    counts = {"total_prompts": unreadable + sum(len(v) for v in by_name.values()), "successful_imports": 0,
              "skipped_imports": 0, "failed_imports": unreadable}

    experiment_ids = {}
    for versions in by_name.values():  # each experiment the prompts link to looked up once, before they go in parallel
        experiment_links(client, max(versions, key=lambda v: v["version"]).get("prompt_info") or {}, "",
                         experiment_ids)

    def import_one(name):
        return import_prompt_versions(client, name, by_name[name], delete_prompt, report, experiment_ids)

    for name, result, ex in map_bounded(import_one, sorted(by_name), workers):
        if ex is not None:
            record_failure(client, report, KIND, name, ex, "import")
        result = result or {}
        created = sum(1 for _, is_new in result.values() if is_new)
        counts["successful_imports"] += created
        counts["skipped_imports"] += len(result) - created
        counts["failed_imports"] += len(by_name[name]) - len(result)
    return counts


def read_prompt_dirs(client, input_dir, report):
    """{prompt name: [version dicts]} of every <dir>/prompt.json; unreadable files are reported.
    Returns (that dict, number of unreadable files)."""
    if not os.path.isdir(input_dir):
        raise MlflowExportImportException(f"Input directory '{input_dir}' does not exist", http_status_code=404)
    by_name, unreadable = {}, 0
    for entry in sorted(os.listdir(input_dir)):
        path = os.path.join(input_dir, entry, PROMPT_FILE)
        if not os.path.isfile(path):
            continue
        try:
            src = read_prompt_file(path)
        except Exception as ex:
            unreadable += 1
            record_failure(client, report, VERSION_KIND, path, ex, "import")
            continue
        by_name.setdefault(src["name"], []).append(src)
    return by_name, unreadable


@click.command("import-prompts")
@opt_input_dir
@bool_option("--delete-prompt", "Delete destination prompts (all their versions) that exist first.")
@opt_use_threads
@opt_workers
@opt_retry_failed
@opt_dry_run
@opt_report
def main(input_dir, delete_prompt, use_threads, workers, retry_failed, dry_run, report_file):
    """Import the prompts exported by export-prompts."""
    with command("import-prompts", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_prompts(mk_client(read_only=True), subdirs(input_dir), delete_prompt, report)
            return
        import_prompts(input_dir, delete_prompt, use_threads, mlflow_client=mk_client(), report=report,
                       workers=workers)


if __name__ == "__main__":
    main()
