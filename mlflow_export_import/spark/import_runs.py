"""import-experiments (and import-all, import-models) with the runs filled by Spark tasks.

On the driver, experiment by experiment: the experiment is created or updated, and so are the destination runs
themselves, parents before children, each matched to an earlier import by its lineage tag (the lookup the local
engine uses): a run an earlier import finished is skipped, one it left half-done is reopened, any other is created.
MLflow has no unique key for runs, so no task ever creates one: a retried or speculative task can only fill a run
the driver made, and filling twice writes the same params, tags, metric points and files again. One Spark job then
fills every run; the driver finishes each experiment (logged models, traces, permissions) as the local engine does.
"""
import os
from dataclasses import dataclass, field
from functools import partial

from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.experiment.destination import create_or_update_experiment
from mlflow_export_import.experiment.import_experiment import _import_mlflow3_objects
from mlflow_export_import.experiment.plan import (
    ALREADY_PRESENT, EMPTY_DEFAULT, _is_empty_default_into_workspace, read_experiment, run_dirs_of)
from mlflow_export_import.experiment.nested_runs_utils import MLFLOW_PARENT_RUN_ID, depth_levels
from mlflow_export_import.permissions.mapping import get_principal_map
from mlflow_export_import.permissions.transfer import import_experiment_permissions
from mlflow_export_import.run.import_run import RunImporter, check_importable
from mlflow_export_import.run.plan import (
    ALREADY_IMPORTED, RETRY_LEFT_OUT, SKIP, imported_runs, is_deleted, read_run, run_action)
from mlflow_export_import.spark.clients import client_uris, task_client
from mlflow_export_import.spark.faults import faults_dir, with_faults
from mlflow_export_import.spark.partitioned import replay, report_events, run_partitioned

TO_FILL = "to fill"

_logger = get_logger(__name__)


@dataclass
class _Experiment:
    """An experiment on the driver: where it came from and went, and its runs (RunInfo by source run id)."""
    src_id: str
    name: str
    input_dir: str
    experiment_id: str = None
    created: bool = False
    src_exp: dict = None
    permissions: list = None
    run_dirs: dict = field(default_factory=dict)
    wanted: object = None
    run_infos: dict = field(default_factory=dict)


def import_experiments_spark(spark, client, input_dir, experiments, import_permissions=False, import_source_tags=False,
                             use_src_user_id=True, experiment_renames=None, report=None, workers=None, id_map=None,
                             dst_notebook_dir=None, principal_map=None):
    """What import_experiments does, the runs filled on Spark, for the experiments listed in input_dir's
    experiments.json (experiments, as read by the caller). Returns [(source experiment id, {source run id:
    destination RunInfo} or None if the experiment failed)]; a RunInfo is the run's as created (its id, experiment
    and artifact location; not its final status)."""
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else IdMap()
    input_dir = os.path.abspath(input_dir)
    renames, principal_map = get_renames(experiment_renames), get_principal_map(principal_map)
    options = {"import_source_tags": import_source_tags, "use_src_user_id": use_src_user_id,
               "dst_notebook_dir": dst_notebook_dir}
    importer = RunImporter(client, report=report, **options)
    report.expect("experiments", len(experiments))
    prepared, results = [], {}
    for entry in experiments:
        exp = _Experiment(entry["id"], rename(entry["name"], renames, "experiment"),
                          os.path.join(input_dir, entry["id"]))
        try:
            items = _prepare(client, importer, exp, report, workers, id_map)
        except Exception as ex:
            _experiment_failed(exp, ex, report, results)
            continue
        if items is not None:
            prepared.append((exp, items))
        else:
            results[exp.src_id] = {}
    builder = partial(_fill_task, client_uris(client), options, faults_dir())
    outcomes = run_partitioned(spark, [i for _, items in prepared for i in items], builder, workers,
                               description="import runs")
    by_experiment = {}
    for item, result, error in outcomes:
        by_experiment.setdefault(item["src_experiment"], []).append((item, result, error))
    for exp, _ in prepared:
        try:
            _finish(client, exp, by_experiment.get(exp.src_id, []), import_permissions, principal_map, report,
                    workers, id_map)
            results[exp.src_id] = exp.run_infos
        except Exception as ex:
            _experiment_failed(exp, ex, report, results)
    return [(entry["id"], results.get(entry["id"])) for entry in experiments]


def _experiment_failed(exp, ex, report, results):
    report.failed("experiments", exp.src_id, describe_error(ex), name=exp.name)
    _logger.error(f"Experiment '{exp.name}' failed to import: {describe_error(ex)}")
    results[exp.src_id] = None


def _prepare(client, importer, exp, report, workers, id_map):
    """The experiment and its runs in the destination; returns the items of the runs to fill, or None when the
    experiment is skipped."""
    mlflow_attr = read_experiment(exp.input_dir)
    exp.src_exp, exp.permissions = mlflow_attr["experiment"], mlflow_attr.get("permissions")
    if _is_empty_default_into_workspace(client, exp.name, exp.src_exp, exp.input_dir, mlflow_attr.get("runs")):
        report.skipped("experiments", exp.name, EMPTY_DEFAULT)
        return None
    exp.experiment_id, exp.created = create_or_update_experiment(client, exp.name, exp.src_exp,
                                                                  importer.import_source_tags)
    if exp.src_exp.get("experiment_id") is not None:
        id_map.put(id_maps.EXPERIMENTS, str(exp.src_exp["experiment_id"]), exp.experiment_id)
    exp.run_dirs = run_dirs_of(exp.input_dir, mlflow_attr.get("runs"))
    retry_all = report.retry is None or report.retry.wants("experiments", str(exp.src_exp.get("experiment_id")),
                                                           exp.name)
    exp.wanted = None if retry_all else report.wanted
    return _start_runs(client, importer, exp, report, workers)


def _start_runs(client, importer, exp, report, workers):
    """Every run of the experiment made or found in the destination, parents first; returns the items to fill."""
    heads = _read_heads(exp, report)
    parent_of = {src_id: head["tags"].get(MLFLOW_PARENT_RUN_ID) for src_id, head in heads.items()}
    existing = imported_runs(client, exp.experiment_id)
    wanted = exp.wanted
    report.expect("runs", sum(1 for src_id in exp.run_dirs if wanted is None or wanted("runs", src_id)))
    started, items, counts = {}, [], {TO_FILL: 0, ALREADY_IMPORTED: 0, "failed": 0}

    def start_one(src_id):
        """(RunInfo or None, what to do, destination parent id, whether an earlier import made the run)"""
        head, earlier = heads[src_id], existing.get(src_id)
        if run_action(earlier, is_deleted(head)) == SKIP:
            left_out = wanted and not wanted("runs", src_id)
            return earlier.info, RETRY_LEFT_OUT if left_out else ALREADY_IMPORTED, None, False
        if wanted and not wanted("runs", src_id):
            return None, RETRY_LEFT_OUT, None, False
        if head.get("problem"):
            raise MlflowExportImportException(head["problem"], http_status_code=400)
        src_parent = parent_of[src_id]
        if src_parent in parent_of and src_parent not in started:
            raise MlflowExportImportException(f"its parent run '{src_parent}' was not imported", http_status_code=424)
        dst_parent = started[src_parent].run_id if src_parent in started else None
        if earlier is not None:  # left half-done by an earlier import: filled again, its creation tags too
            return importer.reopen(earlier), TO_FILL, dst_parent, True
        return importer.create(exp.experiment_id, head, dst_parent), TO_FILL, dst_parent, False

    for level in depth_levels(parent_of):
        for src_id, result, ex in map_bounded(start_one, level, workers):
            if ex is not None:
                counts["failed"] += 1
                report.failed("runs", src_id, describe_error(ex), name=exp.name)
                continue
            run_info, outcome, dst_parent, resumed = result
            counts[outcome] = counts.get(outcome, 0) + 1
            if run_info is not None:
                started[src_id] = run_info
            if outcome == ALREADY_IMPORTED:
                exp.run_infos[src_id] = run_info
                report.skipped("runs", src_id, ALREADY_IMPORTED)
            elif outcome == TO_FILL:
                items.append({"src": src_id, "dir": exp.run_dirs[src_id], "run_info": run_info,
                              "src_experiment": exp.src_id, "dst_parent": dst_parent, "resumed": resumed})
    _logger.info(f"Experiment '{exp.name}': {counts[TO_FILL]} runs to fill on Spark, {counts[ALREADY_IMPORTED]} "
                 f"already imported, {counts['failed']} failed")
    return items


def _read_heads(exp, report):
    """{source run id: the run's info and tags} (what creating it takes; not its metrics, to keep the driver
    small), with 'problem' when the run cannot be imported as exported. Unreadable runs are reported, left out."""
    heads = {}
    for src_id, run_dir in exp.run_dirs.items():
        try:
            run_dct = read_run(run_dir)
        except MlflowExportImportException as ex:
            if exp.wanted is None or exp.wanted("runs", src_id):
                report.failed("runs", src_id, ex.message, name=exp.name)
            continue
        head = {"info": run_dct["info"], "tags": run_dct["tags"]}
        try:
            check_importable(run_dir, run_dct)
        except MlflowExportImportException as ex:
            head["problem"] = ex.message
        heads[src_id] = head
    return heads


def _finish(client, exp, outcomes, import_permissions, principal_map, report, workers, id_map):
    """After the runs: their outcomes into the report, then the experiment's other objects, as import_experiment
    does them."""
    for item, result, error in outcomes:
        if error is not None:
            report.failed("runs", item["src"], error, name=exp.name)
            continue
        replay(report, result)
        exp.run_infos[item["src"]] = item["run_info"]
    _import_mlflow3_objects(client, exp.experiment_id, exp.input_dir, exp.run_dirs, exp.run_infos, report, workers,
                            id_map, exp.wanted)
    if import_permissions:
        import_experiment_permissions(client, exp.experiment_id, exp.name, exp.permissions, principal_map, report)
    if exp.src_exp.get("lifecycle_stage") == "deleted":
        client.delete_experiment(exp.experiment_id)
    if exp.created:
        report.copied("experiments")
    else:
        report.skipped("experiments", exp.name, ALREADY_PRESENT)


# ------------------------------------------------------------------------------------------------ on the executors
def _fill_task(uris, options, faults):
    """Made once per task attempt, on the executor: the function that fills one run the driver made."""
    return partial(_fill_one, task_client(uris), options, faults)


def _fill_one(client, options, faults, item):
    """Fill the run; returns the events of its Report. A run found done was finished by a twin attempt of this task
    (retried or speculative): the driver sends only runs that were not done."""
    report = Report()
    run_id = item["run_info"].run_id
    run = client.get_run(run_id)
    if not _is_done(run):
        importer = _TaskRunImporter(with_faults(client, faults, item["src"]), report=report, **options)
        run_info, resumed = item["run_info"], item["resumed"]
        if run.info.lifecycle_stage == "deleted":  # a failed attempt discarded it; this one fills it again
            run_info, resumed = importer.reopen(run), True
        run_dct = without_logged_points(client, run, read_run(item["dir"]))
        try:
            importer.fill(run_info, item["dir"], run_dct, item["dst_parent"], resumed)
        except Exception:
            if not _is_done(client.get_run(run_id)):
                raise
    report.copied("runs")
    return report_events(report)


class _TaskRunImporter(RunImporter):
    def _discard(self, run_id):
        """A failed fill marks the run FAILED and deletes it, unless a twin attempt finished it meanwhile: a run
        that is whole stays as it is."""
        try:
            done = _is_done(self.client.get_run(run_id))
        except Exception:
            done = False
        if not done:
            super()._discard(run_id)


def _is_done(run):
    return run.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE


def without_logged_points(client, run, run_dct):
    """run_dct without the metric points `run` holds already (an attempt that died half-way logged them). A SQL
    store keeps an identical point once anyway; this keeps stores that would not from doubling a history."""
    for key in [k for k in run.data.metrics if k in run_dct["metrics"]]:
        have = {(m.timestamp, m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)}
        run_dct["metrics"][key] = [p for p in run_dct["metrics"][key]
                                   if (p["timestamp"], p.get("step", 0), p["value"]) not in have]
    return run_dct
