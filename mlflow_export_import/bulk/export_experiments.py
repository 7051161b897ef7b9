"""Export several experiments (names, ids, 'all', 'prefix*', a .txt file, or {experiment_id: [run_ids]})."""
import os
import time
from dataclasses import dataclass

import click

from mlflow_export_import.bulk.bulk_utils import get_experiment_ids
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.click_options import (
    opt_experiments, opt_export_deleted_runs, opt_export_permissions, opt_notebook_formats, opt_output_dir,
    opt_report, opt_run_start_time, opt_until, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import GROUP_WIDTH, map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.utils import string_to_list
from mlflow_export_import.spark import is_spark
from mlflow_export_import.spark.options import opt_engine, opt_spark_master
from mlflow_export_import.spark.session import get_spark, start_engine
from mlflow_export_import.experiment.export_experiment import export_experiment

EXPERIMENTS_FILE = "experiments.json"

_logger = get_logger(__name__)


@dataclass
class Result:
    """What the export of one experiment gave (reference API)."""
    name: str = None
    ok_runs: int = 0
    failed_runs: int = 0


def export_experiments(experiments, output_dir, export_permissions=False, run_start_time=None, runs_until=None,
                       export_deleted_runs=False, notebook_formats=None, use_threads=False,
                       logged_models_filter=None, mlflow_client=None, report=None, workers=None, engine=None):
    """Export the selected experiments into output_dir/<experiment_id>/; write experiments.json.
    Returns its info block. With export_deleted_runs, 'all' includes deleted experiments. engine="spark": the
    runs are exported by Spark tasks (mlflow_export_import/spark/)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    if is_spark(engine):
        # loaded only with the spark engine
        from mlflow_export_import.spark.export import export_experiments_spark
        experiment_ids = list(experiments) if isinstance(experiments, dict) else \
            _resolve(client, experiments, export_deleted_runs, report)
        return export_experiments_spark(get_spark(), client, experiments, experiment_ids, output_dir,
                                        EXPERIMENTS_FILE, export_permissions, run_start_time, runs_until,
                                        export_deleted_runs, notebook_formats, use_threads, logged_models_filter,
                                        report, workers)
    start = time.time()
    runs_by_experiment = experiments if isinstance(experiments, dict) else None
    experiment_ids = list(experiments) if runs_by_experiment else _resolve(client, experiments, export_deleted_runs,
                                                                              report)
    exported, failed_experiments, total_ok, total_failed = [], [], 0, 0
    report.expect("experiments", len(experiment_ids))

    def export_one(experiment_id):
        exp_start = time.time()
        exp = client.get_experiment(experiment_id)  # an id here, never a name: asked once, by id
        ok, failed = export_experiment(
            exp, os.path.join(output_dir, experiment_id),
            run_ids=runs_by_experiment[experiment_id] if runs_by_experiment else None,
            export_permissions=export_permissions, run_start_time=run_start_time, runs_until=runs_until,
            export_deleted_runs=export_deleted_runs, notebook_formats=notebook_formats,
            logged_models_filter=logged_models_filter, mlflow_client=client, report=report, workers=workers)
        return {"id": experiment_id, "name": exp.name, "ok_runs": ok, "failed_runs": failed,
                "duration": round(time.time() - exp_start, 1)}

    # a few experiments at once, their runs within the one limit of parallel tasks (common/parallel.py): one's
    # last runs and serial steps overlap the next one's work
    for experiment_id, result, ex in map_bounded(export_one, experiment_ids, workers, width=GROUP_WIDTH):
        if ex is not None:
            failed_experiments.append({"id": experiment_id, "reason": describe_error(ex)})
            report.failed("experiments", experiment_id, describe_error(ex))
            _logger.error(f"Experiment '{experiment_id}' failed to export: {describe_error(ex)}")
            continue
        total_ok += result["ok_runs"]
        total_failed += result["failed_runs"]
        exported.append(result)
    position = {experiment_id: i for i, experiment_id in enumerate(experiment_ids)}
    exported.sort(key=lambda e: position[e["id"]])  # the order asked for, not the order done in
    info = {
        "experiment_names": [e["name"] for e in exported],
        "options": {"experiments": experiments if not isinstance(experiments, dict) else dict(experiments),
                    "output_dir": output_dir, "export_permissions": export_permissions,
                    "run_start_time": run_start_time, "runs_until": runs_until,
                    "export_deleted_runs": export_deleted_runs, "notebook_formats": notebook_formats,
                    "use_threads": use_threads},
        "status": {"duration": round(time.time() - start, 1), "experiments": len(experiment_ids),
                   "total_runs": total_ok + total_failed, "ok_runs": total_ok, "failed_runs": total_failed},
        "failed_experiments": failed_experiments,
    }
    io_utils.write_export_file(output_dir, EXPERIMENTS_FILE, __file__, {"experiments": exported}, info,
                               tracking_uri=client.tracking_uri)
    return info


def _resolve(client, experiments, include_deleted, report):
    """Ids of the selected experiments; names that resolve to nothing are reported, the rest go on."""
    if isinstance(experiments, str) and "," in experiments and not experiments.strip().endswith(".txt"):
        ids = []
        for item in string_to_list(experiments):
            try:
                ids.extend(get_experiment_ids(client, item, include_deleted))
            except Exception as ex:
                report.failed("experiments", item, describe_error(ex))
        return list(dict.fromkeys(ids))
    return get_experiment_ids(client, experiments, include_deleted)


@click.command("export-experiments")
@opt_experiments
@opt_output_dir
@opt_export_permissions
@opt_run_start_time
@opt_until
@opt_export_deleted_runs
@opt_notebook_formats
@opt_use_threads
@opt_workers
@opt_engine
@opt_spark_master
@opt_report
def main(experiments, output_dir, export_permissions, run_start_time, runs_until, export_deleted_runs,
         notebook_formats, use_threads, workers, engine, spark_master, report_file):
    """Export several (or all) experiments to a directory."""
    with command("export-experiments", locals(), report_file) as report:
        start_engine(engine, spark_master)
        export_experiments(experiments, output_dir, export_permissions, run_start_time, runs_until,
                           export_deleted_runs, string_to_list(notebook_formats), use_threads,
                           mlflow_client=mk_client(), report=report, workers=workers, engine=engine)


if __name__ == "__main__":
    main()
