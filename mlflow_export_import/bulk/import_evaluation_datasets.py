"""Import an export-evaluation-datasets directory (ours or the reference's). Nothing is written into the input
directory."""
import os

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.capabilities import unsupported_reason
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    bool_option, opt_input_dir, opt_report, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.io_utils import subdirs
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import (
    DATASET_FILE, KIND, DatasetsUnsupported, check_datasets_supported)
from mlflow_export_import.evaluation_dataset.import_evaluation_dataset import import_evaluation_dataset
from mlflow_export_import.evaluation_dataset.plan import plan_datasets, sibling_experiment_names


def import_evaluation_datasets(input_dir, delete_dataset=False, use_threads=False, mlflow_client=None, report=None,
                               id_map=None, workers=None):
    """Returns {"total_datasets", "successful_imports", "skipped_imports", "failed_imports"} (skipped: already
    in the destination), or {"unsupported": True, "reason"}. id_map (kind EXPERIMENTS) maps the experiment
    links of a reference export; failing that, the experiments.json of a sibling experiments/ directory
    (export-all layout) names them."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    if not os.path.isdir(input_dir):
        raise MlflowExportImportException(f"Input directory '{input_dir}' does not exist", http_status_code=404)
    try:
        check_datasets_supported(client)
    except DatasetsUnsupported:
        report.skipped(KIND, "all", unsupported_reason(client))
        return {"unsupported": True, "reason": unsupported_reason(client)}
    dirs = [os.path.join(input_dir, d) for d in sorted(os.listdir(input_dir))
            if os.path.isfile(os.path.join(input_dir, d, DATASET_FILE))]
    experiment_names = sibling_experiment_names(input_dir)
    report.expect(KIND, len(dirs))
    before = {k: report.count(KIND, k) for k in ("copied", "skipped", "failed")}

    def import_one(path):
        return import_evaluation_dataset(path, None, delete_dataset, client, report, id_map, experiment_names)

    for _ in map_bounded(import_one, dirs, workers):
        pass
    done = {k: report.count(KIND, k) - before[k] for k in before}
    return {"total_datasets": len(dirs), "successful_imports": done["copied"], "skipped_imports": done["skipped"],
            "failed_imports": done["failed"]}


@click.command("import-evaluation-datasets")
@opt_input_dir
@bool_option("--delete-evaluation-dataset", "Delete destination datasets of the same names first.")
@opt_use_threads
@opt_workers
@opt_retry_failed
@opt_dry_run
@opt_report
def main(input_dir, delete_evaluation_dataset, use_threads, workers, retry_failed, dry_run, report_file):
    """Import the evaluation datasets exported by export-evaluation-datasets."""
    with command("import-evaluation-datasets", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_datasets(mk_client(read_only=True), subdirs(input_dir), delete_evaluation_dataset, report,
                          experiment_names=sibling_experiment_names(input_dir))
            return
        import_evaluation_datasets(input_dir, delete_evaluation_dataset, use_threads, mlflow_client=mk_client(),
                                   report=report, workers=workers)


if __name__ == "__main__":
    main()
