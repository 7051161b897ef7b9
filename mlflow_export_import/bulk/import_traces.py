"""Import the traces of an export-traces directory into the experiments of the same names."""
import os

import click

from mlflow_export_import.bulk.export_traces import TRACES_FILE
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import io_utils
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_input_dir, opt_report, opt_retry_failed, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.report import Report
from mlflow_export_import.experiment.import_experiment import destination_experiments, retried
from mlflow_export_import.experiment.plan import plan_exported_experiments
from mlflow_export_import.trace.export_trace import KIND
from mlflow_export_import.trace.import_trace import import_traces_dir
from mlflow_export_import.trace.plan import plan_traces_dir


def import_traces(input_dir, mlflow_client=None, report=None, id_map=None, workers=None):
    """Each trace goes into the experiment of its source name, linked to the destination copy of its run when
    an earlier import made one. Returns {source trace id: destination trace id}."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else id_maps.IdMap()
    experiments = io_utils.read_file_mlflow(os.path.join(input_dir, TRACES_FILE)).get("experiments") or []
    # an experiment listed with no traces has nothing to receive: do not create it empty
    experiments = [e for e in experiments if e.get("traces") != []]
    for exp, experiment_id, run_id_map in destination_experiments(client, experiments, id_map, report):
        import_traces_dir(client, input_dir, experiment_id, run_id_map, report, id_map, workers,
                          trace_ids=retried(input_dir, KIND, report.wanted, exp.get("traces")))
    return id_map.items(id_maps.TRACES)


@click.command("import-traces")
@opt_input_dir
@opt_workers
@opt_retry_failed
@opt_dry_run
@opt_report
def main(input_dir, workers, retry_failed, dry_run, report_file):
    """Import the traces exported by export-traces."""
    with command("import-traces", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_exported_experiments(mk_client(read_only=True), input_dir, TRACES_FILE, "traces",
                                      plan_traces_dir, report)
            return
        import_traces(input_dir, mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
