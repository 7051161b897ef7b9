"""Import one exported experiment: its tags and description, then its runs in parallel, parents before
children so that every mlflow.parentRunId points at the destination parent. Runs that an earlier
import already finished are skipped; one it left half-done is finished."""
import os

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    opt_dst_notebook_dir, opt_experiment_name, opt_import_permissions, opt_import_source_tags, opt_input_dir,
    opt_principal_map, opt_report, opt_use_src_user_id, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common import mlflow_utils
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import (
    ExportTags, fmt_timestamps, mk_source_tags_mlflow_tag, set_source_tags_for_field)
from mlflow_export_import.experiment.plan import (
    ALREADY_PRESENT, EMPTY_DEFAULT, _is_empty_default_into_workspace, check_experiment_importable, plan_experiment,
    read_experiment, run_dirs_of)
from mlflow_export_import.experiment.nested_runs_utils import MLFLOW_PARENT_RUN_ID, depth_levels
from mlflow_export_import.logged_model.import_logged_model import import_logged_models_dir, link_runs_to_models
from mlflow_export_import.permissions.mapping import get_principal_map
from mlflow_export_import.permissions.transfer import import_experiment_permissions
from mlflow_export_import.run.import_run import RunImporter
from mlflow_export_import.run.plan import SKIP, imported_runs, is_deleted, read_run, run_action
from mlflow_export_import.trace.import_trace import import_traces_dir

ALREADY_IMPORTED, COPIED, RETRY_LEFT_OUT = "already imported", "copied", "not in the --retry-failed list"

_logger = get_logger(__name__)


def import_experiment(experiment_name, input_dir, import_source_tags=False, import_permissions=False,
                      use_src_user_id=True, dst_notebook_dir=None, mlflow_client=None, report=None, workers=None,
                      id_map=None, principal_map=None, dst_experiments=None):
    """Returns {source run id: destination RunInfo} for every run now in the destination. The runs, logged
    models and traces imported are recorded in id_map when one is given. With import_permissions, the
    experiment's exported Databricks permissions are granted (principals renamed by principal_map: a dict or a
    file of 'old,new' lines); with dst_notebook_dir, the runs' exported notebooks go into that workspace folder.
    dst_experiments: {name: Experiment} of a listing of the destination made by the caller (None: look it up)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    mlflow_attr = read_experiment(input_dir)
    src_exp = mlflow_attr["experiment"]
    if _is_empty_default_into_workspace(client, experiment_name, src_exp, input_dir, mlflow_attr.get("runs")):
        report.skipped("experiments", experiment_name, EMPTY_DEFAULT)
        return {}
    experiment_id, created = _create_or_update_experiment(client, experiment_name, src_exp, import_source_tags,
                                                          dst_experiments)
    if id_map is not None and src_exp.get("experiment_id") is not None:
        id_map.put(id_maps.EXPERIMENTS, str(src_exp["experiment_id"]), experiment_id)
    run_dirs = run_dirs_of(input_dir, mlflow_attr.get("runs"))
    importer = RunImporter(client, import_source_tags, use_src_user_id, dst_notebook_dir=dst_notebook_dir,
                           report=report)
    retry_all = report.retry is None or report.retry.wants("experiments", str(src_exp.get("experiment_id")),
                                                           experiment_name)
    wanted = None if retry_all else report.wanted
    run_info_map = _import_runs(client, importer, experiment_id, experiment_name, run_dirs, report, workers,
                                wanted, new_experiment=created,
                                experiment_deleted=src_exp.get("lifecycle_stage") == "deleted")
    # in an experiment this import created, every run is new: its RunInfo is what the import left
    _import_mlflow3_objects(client, experiment_id, input_dir, run_dirs, run_info_map, report, workers, id_map,
                            wanted, new_runs={i.run_id: i for i in run_info_map.values()} if created else None)
    if import_permissions:
        import_experiment_permissions(client, experiment_id, experiment_name, mlflow_attr.get("permissions"),
                                      get_principal_map(principal_map), report)
    if src_exp.get("lifecycle_stage") == "deleted":
        client.delete_experiment(experiment_id)
    if created:
        report.copied("experiments")
    else:
        report.skipped("experiments", experiment_name, ALREADY_PRESENT)
    return run_info_map


def _import_mlflow3_objects(client, experiment_id, input_dir, run_dirs, run_info_map, report, workers, id_map,
                            wanted, new_runs=None):
    """Logged models (linked to the imported runs as source, inputs and outputs), then traces (linked to their
    imported runs). wanted(kind, id), when given, says which objects to import (--retry-failed). new_runs:
    {destination run id: RunInfo} of the runs this import created, which need not be read again."""
    id_map = id_map if id_map is not None else IdMap()
    run_id_map = {src: info.run_id for src, info in run_info_map.items()}
    for src, dst in run_id_map.items():
        id_map.put(id_maps.RUNS, src, dst)
    models_dir = os.path.join(input_dir, "logged_models")
    if os.path.isdir(models_dir):
        import_logged_models_dir(client, models_dir, experiment_id, run_id_map, report, id_map, workers=workers,
                                 model_ids=retried(models_dir, "logged_models", wanted), new_runs=new_runs)
    link_runs_to_models(client, {src: run_dirs[src] for src in run_id_map}, run_id_map,
                        id_map.items(id_maps.LOGGED_MODELS), report, new_runs)
    traces_dir = os.path.join(input_dir, "traces")
    if os.path.isdir(traces_dir):
        import_traces_dir(client, traces_dir, experiment_id, run_id_map, report, id_map, workers,
                          trace_ids=retried(traces_dir, "traces", wanted))


def retried(input_dir, kind, wanted, ids=None):
    """The ids of the objects to import (ids, or the directory names of input_dir when None): unchanged when
    wanted is None, else those wanted(kind, id) keeps (--retry-failed)."""
    if wanted is None:
        return ids
    return [i for i in (ids if ids is not None else sorted(os.listdir(input_dir))) if wanted(kind, i)]


def _create_or_update_experiment(client, name, src_exp, import_source_tags, dst_experiments=None):
    """Returns (experiment id, whether it was created). dst_experiments: as for import_experiment."""
    tags = dict(src_exp.get("tags") or {})
    if import_source_tags:
        tags.update(mk_source_tags_mlflow_tag(tags))
        fields = {k: v for k, v in src_exp.items() if k not in ("creation_time", "last_update_time")}
        set_source_tags_for_field(fields, tags)
        for key in ("creation_time", "last_update_time"):
            fmt_timestamps(key, src_exp, tags)
        tags = {k: v for k, v in tags.items() if not k.startswith(f"{ExportTags.PREFIX_FIELD}.tags")}
    exp = check_experiment_importable(client, name, src_exp, dst_experiments)
    if exp is None:
        try:
            return mlflow_utils.create_experiment(client, name, tags), True
        except MlflowException as ex:
            if ex.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            exp = check_experiment_importable(client, name, src_exp)  # created since it was looked up
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)  # resuming the import of a deleted experiment
    for key, value in tags.items():
        if exp.tags.get(key) != value:
            client.set_experiment_tag(exp.experiment_id, key, value)
    return exp.experiment_id, False


def destination_experiments(client, experiments, id_map, report):
    """For each exported experiment entry ({id, name, ...}): (entry, destination experiment id created if
    missing, {source run id: destination run id} of the runs imported there before). Entries that fail are
    reported and left out."""
    for exp in experiments:
        try:
            experiment_id, _ = set_experiment(client, exp["name"])
            run_id_map = {**{src: run.info.run_id for src, run in imported_runs(client, experiment_id).items()},
                          **id_map.items(id_maps.RUNS)}
        except Exception as ex:
            report.failed("experiments", exp.get("id"), describe_error(ex), name=exp.get("name"))
            continue
        yield exp, experiment_id, run_id_map


def _import_runs(client, importer, experiment_id, experiment_name, run_dirs, report, workers, wanted=None,
                 new_experiment=False, experiment_deleted=False):
    """Parents first. A run whose parent failed to import fails too, so that a re-run imports both with their
    link (a parent whose export is unreadable is not waited for: its children keep its id as a lineage tag).
    An experiment this import just created holds no earlier imports: no search for them. In a deleted
    experiment, deleting the experiment at the end deletes the runs (and resuming restores them with it): a
    finished run left active there is not half-done."""
    parent_of, deleted, outcomes = {}, set(), {COPIED: 0, ALREADY_IMPORTED: 0, "failed": 0}
    for src_id, run_dir in run_dirs.items():
        try:
            run_dct = read_run(run_dir)
            parent_of[src_id] = run_dct["tags"].get(MLFLOW_PARENT_RUN_ID)
            if is_deleted(run_dct) and not experiment_deleted:
                deleted.add(src_id)
        except MlflowExportImportException as ex:
            if wanted is None or wanted("runs", src_id):
                report.failed("runs", src_id, ex.message, name=experiment_name)
                outcomes["failed"] += 1
    existing = {} if new_experiment else imported_runs(client, experiment_id)
    report.expect("runs", sum(1 for src_id in run_dirs if wanted is None or wanted("runs", src_id)))
    run_info_map = {}

    def import_one(src_id):
        earlier = existing.get(src_id)
        if run_action(earlier, src_id in deleted) == SKIP:
            return earlier.info, (RETRY_LEFT_OUT if wanted and not wanted("runs", src_id) else ALREADY_IMPORTED)
        if wanted and not wanted("runs", src_id):
            return None, RETRY_LEFT_OUT
        src_parent = parent_of[src_id]
        if src_parent in parent_of and src_parent not in run_info_map:
            raise MlflowExportImportException(f"its parent run '{src_parent}' was not imported", http_status_code=424)
        run_dct = read_run(run_dirs[src_id])
        dst_parent = run_info_map.get(src_parent)
        run_info = importer.import_run_info(experiment_id, run_dirs[src_id], run_dct,
                                            dst_parent.run_id if dst_parent else None, reuse_run=earlier)
        return run_info, COPIED

    for level in depth_levels(parent_of):
        for src_id, result, ex in map_bounded(import_one, level, workers):
            if ex is not None:
                outcomes["failed"] += 1
                report.failed("runs", src_id, describe_error(ex), name=experiment_name)
                _logger.error(f"Run '{src_id}' failed to import into '{experiment_name}': {describe_error(ex)}")
                continue
            run_info, outcome = result
            if run_info is not None:
                run_info_map[src_id] = run_info
            if outcome == ALREADY_IMPORTED:
                report.skipped("runs", src_id, ALREADY_IMPORTED)
            elif outcome == COPIED:
                report.copied("runs")
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # a re-run that only skips must not read as if it imported everything again
    _logger.info(f"Experiment '{experiment_name}': {outcomes[COPIED]} runs imported, "
                 f"{outcomes[ALREADY_IMPORTED]} already imported, {outcomes['failed']} failed")
    return run_info_map


@click.command("import-experiment")
@opt_experiment_name
@opt_input_dir
@opt_import_permissions
@opt_principal_map
@opt_import_source_tags
@opt_use_src_user_id
@opt_dst_notebook_dir
@opt_workers
@opt_retry_failed
@opt_dry_run
@opt_report
def main(experiment_name, input_dir, import_permissions, principal_map, import_source_tags, use_src_user_id,
         dst_notebook_dir, workers, retry_failed, dry_run, report_file):
    """Import an experiment exported by export-experiment."""
    with command("import-experiment", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_experiment(mk_client(read_only=True), experiment_name, input_dir, report)
            return
        import_experiment(experiment_name, input_dir, import_source_tags, import_permissions, use_src_user_id,
                          dst_notebook_dir, mlflow_client=mk_client(), report=report, workers=workers,
                          principal_map=principal_map)


if __name__ == "__main__":
    main()
