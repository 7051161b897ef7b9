"""Export evaluation datasets: <name>_<dataset_id>/evaluation_dataset.json for each, and
evaluation_datasets_summary.json."""
import os

import click

from mlflow_export_import.bulk.bulk_utils import _selector_items, get_experiment_ids
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import io_utils
from mlflow_export_import.common.capabilities import is_unsupported, unsupported_reason
from mlflow_export_import.common.click_options import opt_output_dir, opt_report, opt_use_threads, opt_workers
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import (
    KIND, DatasetsUnsupported, check_datasets_supported, get_dataset_by_name, record_failure, search_datasets,
    write_dataset)

SUMMARY_FILE = "evaluation_datasets_summary.json"


def export_evaluation_datasets(output_dir, dataset_names=None, experiment_ids=None, use_threads=False,
                               mlflow_client=None, report=None, workers=None):
    """Export the datasets (None or 'all': every one; names, comma string or .txt file), optionally only those
    of experiment_ids. Returns {"total_datasets", "successful_exports", "failed_exports", "datasets":
    [{"name", "dataset_id"}]}, or {"unsupported": True, "reason"}."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        check_datasets_supported(client)
        datasets, missing = select_datasets(client, dataset_names, experiment_ids, report)
    except Exception as ex:
        if not (isinstance(ex, DatasetsUnsupported) or is_unsupported(ex)):
            raise
        report.skipped(KIND, "all", unsupported_reason(client))
        return {"unsupported": True, "reason": unsupported_reason(client)}
    report.expect(KIND, len(datasets))
    ok, failed = [], []

    def export_one(dataset):
        write_dataset(client, dataset, os.path.join(output_dir, f"{dataset.name}_{dataset.dataset_id}"))

    for dataset, _, ex in map_bounded(export_one, datasets, workers):
        if ex is None:
            ok.append({"name": dataset.name, "dataset_id": dataset.dataset_id})
            report.copied(KIND)
        else:
            failed.append(dataset.dataset_id)
            record_failure(client, report, dataset.name, ex, "export")
    summary = {"total_datasets": len(ok) + len(failed) + missing, "successful_exports": len(ok),
               "failed_exports": len(failed) + missing,
               "datasets": sorted(ok, key=lambda d: (d["name"], d["dataset_id"]))}
    io_utils.write_export_file(output_dir, SUMMARY_FILE, __file__, summary, tracking_uri=client.tracking_uri)
    return summary


def select_datasets(client, dataset_names, experiment_ids, report):
    """Returns (datasets, number of names not found). experiment_ids only filters 'all' (as the reference
    documents it): datasets asked for by name are exported whatever their experiments."""
    items = ["all"] if dataset_names is None else _selector_items(dataset_names)
    if items in (["all"], ["*"]):
        exp_ids = get_experiment_ids(client, experiment_ids) if experiment_ids else None
        return sorted(search_datasets(client, exp_ids), key=lambda d: (d.name, d.dataset_id)), 0
    if experiment_ids:
        report.note("--experiment-ids is ignored when datasets are named: it only filters "
                    "'--evaluation-datasets all'")
    selected, missing = [], 0
    for name in items:
        try:
            dataset = get_dataset_by_name(client, name)
        except Exception as ex:
            if is_unsupported(ex):
                raise
            record_failure(client, report, name, ex, "export")
            missing += 1
            continue
        selected.append(dataset)
    return selected, missing


@click.command("export-evaluation-datasets")
@opt_output_dir
@click.option("--evaluation-datasets", type=str, required=True,
              help="Dataset names (comma separated), 'all', or a file ending in '.txt' with one per line.")
@click.option("--experiment-ids", type=str, default=None,
              help="With '--evaluation-datasets all': only the datasets of these experiments (ids or names, comma "
                   "separated). Ignored when datasets are named.")
@opt_use_threads
@opt_workers
@opt_report
def main(output_dir, evaluation_datasets, experiment_ids, use_threads, workers, report_file):
    """Export GenAI evaluation datasets with their records to a directory."""
    with command("export-evaluation-datasets", locals(), report_file) as report:
        export_evaluation_datasets(output_dir, evaluation_datasets, experiment_ids, use_threads,
                                   mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
