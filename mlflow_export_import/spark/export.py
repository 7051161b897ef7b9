"""export-experiments (and export-all, export-models) with the runs exported by Spark tasks.

The driver resolves the experiments and lists their runs; each task exports its runs, each into a temporary folder
beside the run's final folder, renamed into place once whole, so that a retried or speculative twin attempt is
harmless (the folder is either absent, or a whole copy). The driver then writes each experiment's logged models,
traces, permissions and experiment.json, and experiments.json, as the local engine does."""
import os
import shutil
import tempfile
import time
from functools import partial

from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import get_experiment
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import utc_str_to_millis
from mlflow_export_import.common.utils import string_to_list
from mlflow_export_import.experiment.export_experiment import (
    _export_mlflow3_objects, _in_window, _select_runs, _write_experiment_file)
from mlflow_export_import.permissions.transfer import export_experiment_permissions
from mlflow_export_import.run.export_run import export_run_entity
from mlflow_export_import.run.metric_history import MAX_RUNS, history_batches, read_metric_histories
from mlflow_export_import.spark.clients import client_uris, task_client
from mlflow_export_import.spark.partitioned import replay, report_events, run_partitioned

TMP_PREFIX = ".tmp-"  # a run folder being written; left over only by an attempt that died

_logger = get_logger(__name__)


def export_experiments_spark(spark, client, experiments, experiment_ids, output_dir, experiments_file,
                             export_permissions=False, run_start_time=None, runs_until=None, export_deleted_runs=False,
                             notebook_formats=None, use_threads=False, logged_models_filter=None, report=None,
                             workers=None):
    """What export_experiments does, the runs on Spark: experiments (as given) resolved to experiment_ids by the
    caller, who names the file (experiments_file) that lists them. Returns the same info block."""
    report = report if report is not None else Report()
    start = time.time()
    output_dir = os.path.abspath(output_dir)
    window = tuple(utc_str_to_millis(t) if t else None for t in (run_start_time, runs_until))
    listed, failed_experiments = _list_runs(client, experiments, experiment_ids, export_deleted_runs, window, report)
    items = [(exp.experiment_id, run_id) for exp, run_ids, _ in listed for run_id in run_ids]
    _remove_earlier_copies(output_dir, items)
    report.expect("runs", len(items))
    builder = partial(_export_task, client_uris(client), output_dir, export_deleted_runs, notebook_formats, window)
    outcomes = _by_experiment(run_partitioned(spark, items, builder, workers, description="export runs"))
    exported, total_ok, total_failed = [], 0, 0
    for exp, _, filtered in listed:
        exp_start = time.time()
        try:
            ok, failed = _finish_experiment(client, exp, os.path.join(output_dir, exp.experiment_id),
                                            outcomes.get(exp.experiment_id, []), filtered, export_permissions,
                                            logged_models_filter, report, workers)
        except Exception as ex:
            failed_experiments.append({"id": exp.experiment_id, "reason": describe_error(ex)})
            report.failed("experiments", exp.experiment_id, describe_error(ex), name=exp.name)
            continue
        total_ok, total_failed = total_ok + ok, total_failed + failed
        exported.append({"id": exp.experiment_id, "name": exp.name, "ok_runs": ok, "failed_runs": failed,
                         "duration": round(time.time() - exp_start, 1)})
    info = {
        "experiment_names": [e["name"] for e in exported],
        "options": {"experiments": experiments if not isinstance(experiments, dict) else dict(experiments),
                    "output_dir": output_dir, "export_permissions": export_permissions,
                    "run_start_time": run_start_time, "runs_until": runs_until,
                    "export_deleted_runs": export_deleted_runs, "notebook_formats": notebook_formats,
                    "use_threads": use_threads, "engine": "spark"},
        "status": {"duration": round(time.time() - start, 1), "experiments": len(listed) + len(failed_experiments),
                   "total_runs": total_ok + total_failed, "ok_runs": total_ok, "failed_runs": total_failed},
        "failed_experiments": failed_experiments,
    }
    io_utils.write_export_file(output_dir, experiments_file, __file__, {"experiments": exported}, info,
                               tracking_uri=client.tracking_uri)
    return info


def _list_runs(client, experiments, experiment_ids, export_deleted_runs, window, report):
    """[(experiment, [run id], whether its runs are a selection)] of the selected experiments, and the
    experiments that could not be listed."""
    runs_by_experiment = experiments if isinstance(experiments, dict) else None
    report.expect("experiments", len(experiment_ids))
    listed, failed = [], []
    for experiment_id in experiment_ids:
        try:
            exp = get_experiment(client, experiment_id)
            run_ids = string_to_list(runs_by_experiment[experiment_id]) if runs_by_experiment else None
            runs = _select_runs(client, exp.experiment_id, run_ids, False, *window, export_deleted_runs)
            run_ids = [r if isinstance(r, str) else r.info.run_id for r in runs]
            listed.append((exp, run_ids, bool(runs_by_experiment or any(window))))
        except Exception as ex:
            failed.append({"id": experiment_id, "reason": describe_error(ex)})
            report.failed("experiments", experiment_id, describe_error(ex))
            _logger.error(f"Experiment '{experiment_id}' failed to export: {describe_error(ex)}")
    return listed, failed


def _by_experiment(outcomes):
    grouped = {}
    for (experiment_id, run_id), result, error in outcomes:
        grouped.setdefault(experiment_id, []).append((run_id, result, error))
    return grouped


def _finish_experiment(client, exp, exp_dir, outcomes, filtered, export_permissions, logged_models_filter, report,
                       workers):
    """On the driver, after the runs: the experiment's other objects and experiment.json, as export_experiment
    writes them. Returns (ok runs, failed runs)."""
    ok_runs, failed_runs = [], []
    for run_id, result, error in outcomes:
        if error is not None:
            failed_runs.append({"run_id": run_id, "reason": error})
            report.failed("runs", run_id, error, name=exp.name)
            continue
        replay(report, result["events"])
        if result["exported"]:
            ok_runs.append(run_id)
    _remove_leftovers(os.path.join(exp_dir, "runs"))
    mlflow3_objects = _export_mlflow3_objects(client, exp, exp_dir, ok_runs, report, workers,
                                              filtered=filtered, logged_models_filter=logged_models_filter)
    permissions = export_experiment_permissions(client, exp.experiment_id, exp.name, report) \
        if export_permissions else None
    _write_experiment_file(client, exp, exp_dir, ok_runs, failed_runs, mlflow3_objects, permissions)
    report.copied("experiments")
    _logger.info(f"Exported experiment '{exp.name}': {len(ok_runs)} runs, {len(failed_runs)} failed")
    return len(ok_runs), len(failed_runs)


# ------------------------------------------------------------------------------------------------ on the executors
def _export_task(uris, output_dir, export_deleted_runs, notebook_formats, window):
    """Made once per task attempt, on the executor: the function that exports one (experiment id, run id)."""
    return RunExporter(task_client(uris), output_dir, export_deleted_runs, notebook_formats, window)


class RunExporter:
    """Exports one (experiment id, run id) per call. The partition runner first hands it each chunk of its items
    (prepare): their runs are read, and their metric histories in bulk, a chunk at a time, instead of one
    get-history per run and key."""
    chunk_size = MAX_RUNS

    def __init__(self, client, output_dir, export_deleted_runs, notebook_formats, window):
        self.client, self.output_dir = client, output_dir
        self.export_deleted_runs, self.notebook_formats, self.window = export_deleted_runs, notebook_formats, window
        self._runs, self._histories = {}, {}

    def prepare(self, items):
        self._runs, self._histories = {}, {}
        run_ids = [run_id for experiment_id, run_id in items if not self._published(experiment_id, run_id)]
        for run_id, run, ex in map_bounded(self.client.get_run, run_ids):
            if ex is None:
                self._runs[run_id] = run
        for batch in history_batches([self._runs[r] for r in run_ids if r in self._runs]):
            self._histories.update(read_metric_histories(self.client, batch))

    def __call__(self, item):
        experiment_id, run_id = item
        report = Report()
        if self._published(experiment_id, run_id):
            # a twin attempt (retried or speculative) exported it: the driver removed every earlier copy first
            report.copied("runs")
            return {"exported": True, "events": report_events(report)}
        run = self._runs.pop(run_id, None) or self.client.get_run(run_id)
        exported = None
        if _in_window(run, *self.window):
            exported = export_atomically(self.client, run, self._run_dir(experiment_id, run_id),
                                         self.export_deleted_runs, self.notebook_formats, report,
                                         self._histories.pop(run_id, None))
        return {"exported": exported is not None, "events": report_events(report)}

    def _published(self, experiment_id, run_id):
        return os.path.isdir(self._run_dir(experiment_id, run_id))

    def _run_dir(self, experiment_id, run_id):
        return os.path.join(self.output_dir, experiment_id, "runs", run_id)


def export_atomically(client, run, run_dir, export_deleted_runs, notebook_formats, report, metric_histories=None):
    """export_run_entity into a temporary folder beside run_dir, then renamed to run_dir: a reader (or a twin
    attempt) sees no folder or a whole one. Returns what export_run_entity returns."""
    parent = os.path.dirname(run_dir)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{os.path.basename(run_dir)}-", dir=parent)
    try:
        exported = export_run_entity(client, run, tmp, export_deleted_runs, report=report,
                                     notebook_formats=notebook_formats, metric_histories=metric_histories)
        if exported is not None:
            _publish(tmp, run_dir)
        return exported
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _publish(tmp, run_dir):
    """Rename tmp to run_dir. A twin attempt that put its copy there first wins: its copy is as whole as ours.
    (Copies of earlier exports were removed before the job: replacing one here would leave a moment without
    any, and an attempt killed then would lose the run.)"""
    try:
        os.rename(tmp, run_dir)
    except OSError:
        if not os.path.isdir(run_dir):
            raise


def _remove_earlier_copies(output_dir, items):
    """Run folders an earlier export left where this one writes: removed on the driver, before any task."""
    for experiment_id, run_id in items:
        run_dir = os.path.join(output_dir, experiment_id, "runs", run_id)
        if os.path.isdir(run_dir):
            shutil.rmtree(run_dir)


def _remove_leftovers(runs_dir):
    """Temporary folders of attempts that died before renaming theirs."""
    if os.path.isdir(runs_dir):
        for name in os.listdir(runs_dir):
            if name.startswith(TMP_PREFIX):
                shutil.rmtree(os.path.join(runs_dir, name), ignore_errors=True)
