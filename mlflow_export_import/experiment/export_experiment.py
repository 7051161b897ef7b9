"""Export one experiment: experiment.json and runs/<run_id>/ for each selected run, in parallel."""
import os

import click
from mlflow.entities import Experiment, ViewType

from mlflow_export_import.bulk.export_logged_models import export_experiment_logged_models
from mlflow_export_import.bulk.export_traces import export_experiment_traces
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.click_options import (
    opt_check_nested_runs, opt_experiment, opt_export_deleted_runs, opt_export_permissions, opt_notebook_formats,
    opt_output_dir, opt_report, opt_run_ids, opt_run_start_time, opt_until, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import SearchRunsIterator
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import get_experiment
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import adjust_timestamps, utc_str_to_millis
from mlflow_export_import.common.utils import string_to_list, strip_underscores
from mlflow_export_import.experiment.nested_runs_utils import get_descendant_run_ids
from mlflow_export_import.notebook.notebooks import check_formats
from mlflow_export_import.permissions.transfer import export_experiment_permissions
from mlflow_export_import.run import metric_history
from mlflow_export_import.run.export_run import export_run_entity

EXPERIMENT_FILE = "experiment.json"

_logger = get_logger(__name__)


def export_experiment(experiment_id_or_name, output_dir, run_ids=None, export_permissions=False,
                      run_start_time=None, runs_until=None, export_deleted_runs=False, check_nested_runs=False,
                      notebook_formats=None, logged_models_filter=None, mlflow_client=None, report=None,
                      workers=None):
    """Export the experiment (a name, an id, or an Experiment already read) and its runs (all, the listed
    run_ids, or those started in [run_start_time, runs_until), UTC). Returns (num_ok_runs, num_failed_runs)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    exp = experiment_id_or_name if isinstance(experiment_id_or_name, Experiment) \
        else get_experiment(client, experiment_id_or_name)
    start_ms = utc_str_to_millis(run_start_time) if run_start_time else None
    until_ms = utc_str_to_millis(runs_until) if runs_until else None
    runs = _select_runs(client, exp.experiment_id, string_to_list(run_ids), check_nested_runs,
                        start_ms, until_ms, export_deleted_runs)
    ok_runs, failed_runs = [], []
    window = (start_ms, until_ms)
    for batch in metric_history.history_batches(runs):
        _export_batch(client, exp, batch, output_dir, window, export_deleted_runs, notebook_formats, report, workers,
                      (ok_runs, failed_runs))
    mlflow3_objects = _export_mlflow3_objects(client, exp, output_dir, ok_runs, report, workers,
                                              filtered=bool(run_ids or start_ms or until_ms),
                                              logged_models_filter=logged_models_filter)
    permissions = export_experiment_permissions(client, exp.experiment_id, exp.name, report) \
        if export_permissions else None
    _write_experiment_file(client, exp, output_dir, ok_runs, failed_runs, mlflow3_objects, permissions)
    report.copied("experiments")
    _logger.info(f"Exported experiment '{exp.name}': {len(ok_runs)} runs, {len(failed_runs)} failed")
    return len(ok_runs), len(failed_runs)


def _select_runs(client, experiment_id, run_ids, check_nested_runs, start_ms, until_ms, export_deleted_runs):
    """The runs to export: listed run ids (fetched by the workers), or a lazy paged search."""
    if run_ids:
        if check_nested_runs:
            run_ids = run_ids + [r for r in get_descendant_run_ids(client, experiment_id, run_ids)
                                 if r not in run_ids]
        return run_ids
    clauses = []
    if start_ms is not None:
        clauses.append(f"attributes.start_time >= {start_ms}")
    if until_ms is not None:
        clauses.append(f"attributes.start_time < {until_ms}")
    view_type = ViewType.ALL if export_deleted_runs else ViewType.ACTIVE_ONLY
    return iter(SearchRunsIterator(client, experiment_id, filter=" AND ".join(clauses) or None, view_type=view_type))


def _export_batch(client, exp, batch, output_dir, window, export_deleted_runs, notebook_formats, report, workers,
                  outcome):
    """Export a batch of runs: complete the runs in parallel, read their metric histories in bulk, then write
    each run in parallel. outcome: (ok run ids, failed runs) to append to."""
    runs = []
    for item, run, ex in map_bounded(lambda r: _full_run(client, r), batch, workers):
        if ex is not None:
            _failed(exp, item if isinstance(item, str) else item.info.run_id, ex, report, outcome[1])
        elif _in_window(run, *window):
            runs.append(run)
    exported = [r for r in runs if export_deleted_runs or r.info.lifecycle_stage != "deleted"]
    histories = metric_history.read_metric_histories(client, exported, workers)

    def export_one(run):
        return export_run_entity(client, run, os.path.join(output_dir, "runs", run.info.run_id), export_deleted_runs,
                                 report=report, notebook_formats=notebook_formats,
                                 metric_histories=histories.get(run.info.run_id))

    for run, result, ex in map_bounded(export_one, runs, workers):
        if ex is not None:
            _failed(exp, run.info.run_id, ex, report, outcome[1])
        elif result is not None:
            outcome[0].append(run.info.run_id)


def _full_run(client, run_or_id):
    """The run with everything run.json needs. A listed id is fetched; a search result lacks only the run's
    logged-model inputs, which servers that know logged models (they return run outputs) may have."""
    if isinstance(run_or_id, str):
        return client.get_run(run_or_id)
    if getattr(run_or_id, "outputs", None) is not None:
        return client.get_run(run_or_id.info.run_id)
    return run_or_id


def _failed(exp, run_id, ex, report, failed_runs):
    failed_runs.append({"run_id": run_id, "reason": describe_error(ex)})
    report.failed("runs", run_id, describe_error(ex), name=exp.name)
    _logger.error(f"Run '{run_id}' of experiment '{exp.name}' failed to export: {describe_error(ex)}")


def _in_window(run, start_ms, until_ms):
    start = run.info.start_time or 0
    return (start_ms is None or start >= start_ms) and (until_ms is None or start < until_ms)


def experiment_to_dict(exp):
    dct = strip_underscores(exp)
    dct["tags"] = dict(sorted(exp.tags.items()))
    adjust_timestamps(dct, ["creation_time", "last_update_time"])
    return dct


def _export_mlflow3_objects(client, exp, output_dir, ok_runs, report, workers, filtered, logged_models_filter):
    """Logged models and traces under logged_models/ and traces/: with a run filter, only those of the exported
    runs (and those of no run). Returns {kind: (ok ids, failed ids)} for the kinds the server has."""
    run_ids = ok_runs if filtered else (logged_models_filter or {}).get(exp.experiment_id)
    objects = {}
    for kind, export_fn in (("logged_models", export_experiment_logged_models), ("traces", export_experiment_traces)):
        try:
            ok, failed = export_fn(client, exp.experiment_id, os.path.join(output_dir, kind), run_ids, report, workers,
                                   experiment_name=exp.name)
        except Exception as ex:
            report.failed(kind, f"experiment {exp.experiment_id}", describe_error(ex), name=exp.name)
            ok, failed = [], [f"experiment {exp.experiment_id}"]
        if ok is not None:
            objects[kind] = (ok, failed)
    return objects


def _write_experiment_file(client, exp, output_dir, ok_runs, failed_runs, mlflow3_objects=None, permissions=None):
    info = {"num_total_runs": len(ok_runs) + len(failed_runs), "num_ok_runs": len(ok_runs),
            "num_failed_runs": len(failed_runs), "failed_runs": failed_runs}
    mlflow_attr = {"experiment": experiment_to_dict(exp), "runs": ok_runs}
    for kind, (ok, failed) in (mlflow3_objects or {}).items():
        info[f"ok_{kind}"] = len(ok)
        info[f"failed_{kind}"] = len(failed)
        mlflow_attr[kind] = ok
    if permissions is not None:
        mlflow_attr["permissions"] = permissions
    io_utils.write_export_file(output_dir, EXPERIMENT_FILE, __file__, mlflow_attr, info,
                               tracking_uri=client.tracking_uri)


@click.command("export-experiment")
@opt_experiment
@opt_output_dir
@opt_run_ids
@opt_export_permissions
@opt_run_start_time
@opt_until
@opt_export_deleted_runs
@opt_check_nested_runs
@opt_notebook_formats
@opt_workers
@opt_report
def main(experiment, output_dir, run_ids, export_permissions, run_start_time, runs_until, export_deleted_runs,
         check_nested_runs, notebook_formats, workers, report_file):
    """Export an experiment and its runs to a directory."""
    with command("export-experiment", locals(), report_file) as report:
        export_experiment(experiment, output_dir, run_ids, export_permissions, run_start_time, runs_until,
                          export_deleted_runs, check_nested_runs, check_formats(notebook_formats),
                          mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
