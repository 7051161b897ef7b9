"""Export prompts with every version: <name>_v<version>/prompt.json for each, and prompts_summary.json."""
import os

import click

from mlflow_export_import.bulk.bulk_utils import _selector_items
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import io_utils
from mlflow_export_import.common.capabilities import is_unsupported
from mlflow_export_import.common.click_options import opt_output_dir, opt_report, opt_use_threads, opt_workers
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import BaseIterator
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.prompt.export_prompt import (
    KIND, PromptsUnsupported, VERSION_KIND, check_prompts_supported, get_prompt_info, list_prompt_versions,
    record_failure, unsupported_reason, write_prompt_version)

SUMMARY_FILE = "prompts_summary.json"


def export_prompts(output_dir, prompt_names=None, use_threads=False, mlflow_client=None, report=None, workers=None):
    """Export all versions of the prompts (None or 'all': every prompt; names, comma string or .txt file).
    Returns {"total_prompts", "successful_exports", "failed_exports"} counted in prompt versions (as the
    reference does), plus "prompts": [{"name", "versions"}], or {"unsupported": True, "reason"}."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        check_prompts_supported(client)
        names = get_prompt_names(client, prompt_names)
    except Exception as ex:
        if not (isinstance(ex, PromptsUnsupported) or is_unsupported(ex)):
            raise
        report.skipped(KIND, "all", unsupported_reason(client))
        return {"unsupported": True, "reason": unsupported_reason(client)}
    report.expect(KIND, len(names))
    exported, failed = [], 0
    for name, result, ex in map_bounded(lambda n: export_one_prompt(client, n, output_dir, report), names, workers):
        if ex is not None:
            record_failure(client, report, KIND, name, ex, "export")
            continue
        ok_versions, n_failed = result
        failed += n_failed
        exported.append({"name": name, "versions": ok_versions})
    ok = sum(len(p["versions"]) for p in exported)
    summary = {"total_prompts": ok + failed, "successful_exports": ok, "failed_exports": failed,
               "prompts": sorted(exported, key=lambda p: p["name"])}
    io_utils.write_export_file(output_dir, SUMMARY_FILE, __file__, summary, tracking_uri=client.tracking_uri)
    return summary


def get_prompt_names(client, prompt_names):
    items = ["all"] if prompt_names is None else _selector_items(prompt_names)
    if items in (["all"], ["*"]):
        return sorted(p.name for p in BaseIterator(client.search_prompts, 1000))
    return items


def export_one_prompt(client, name, output_dir, report):
    """All versions of one prompt. Returns (exported version numbers, number of failed versions)."""
    info = get_prompt_info(client, name)
    versions = list_prompt_versions(client, name)
    aliases = {alias: int(pv.version) for pv in versions for alias in pv.aliases or []}
    ok, failed = [], 0
    for pv in versions:
        try:
            write_prompt_version(client, pv, info, os.path.join(output_dir, f"{name}_v{pv.version}"), aliases)
            ok.append(int(pv.version))
            report.copied(VERSION_KIND)
        except Exception as ex:
            failed += 1
            record_failure(client, report, VERSION_KIND, f"{name}/v{pv.version}", ex, "export")
    report.copied(KIND)
    return ok, failed


@click.command("export-prompts")
@opt_output_dir
@click.option("--prompts", type=str, required=True,
              help="Prompt names (comma separated), 'all', or a file ending in '.txt' with one per line.")
@opt_use_threads
@opt_workers
@opt_report
def main(output_dir, prompts, use_threads, workers, report_file):
    """Export prompts, with all their versions, aliases and tags, to a directory."""
    with command("export-prompts", locals(), report_file) as report:
        export_prompts(output_dir, prompts, use_threads, mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
