"""Import one exported experiment: its tags and description, then its runs in parallel, parents before
children so that every mlflow.parentRunId points at the destination parent. Runs that an earlier
import already finished are skipped; one it left half-done is finished. The runs go through the copy engine
(engine/experiments.py), the export directory being its source side; logged models and traces are imported
from the directory by their own importers."""
import os

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    opt_dst_notebook_dir, opt_experiment_name, opt_import_permissions, opt_import_source_tags, opt_input_dir,
    opt_principal_map, opt_report, opt_use_src_user_id, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.common.report import Report
from mlflow_export_import.engine.experiments import ExperimentCopier
from mlflow_export_import.engine.runs import Options, RunWriter
from mlflow_export_import.engine.source_dir import DirSource
from mlflow_export_import.experiment.destination import create_or_update_experiment
from mlflow_export_import.experiment.plan import (
    ALREADY_PRESENT, EMPTY_DEFAULT, _is_empty_default_into_workspace, plan_experiment, read_experiment, run_dirs_of)
from mlflow_export_import.logged_model.import_logged_model import import_logged_models_dir, link_runs_to_models
from mlflow_export_import.permissions.mapping import get_principal_map
from mlflow_export_import.permissions.transfer import import_experiment_permissions
from mlflow_export_import.run.import_run import RunImporter
from mlflow_export_import.run.plan import ALREADY_IMPORTED, imported_runs
from mlflow_export_import.trace.import_trace import import_traces_dir

# an export directory is imported, never synced: copies are created or finished, deleted runs included
IMPORT_OPTIONS = Options(sync=False, delete=False, include_deleted=True, check_artifacts=False)

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
    experiment_id, created = create_or_update_experiment(client, experiment_name, src_exp, import_source_tags,
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
    """The runs, through the copy engine with the export directory as its source side (engine/source_dir.py):
    parents first; a run whose parent failed fails too, so that a re-run imports both with their link (a parent
    whose run.json is unreadable is not waited for: its children keep its id as a lineage tag). An experiment
    this import just created holds no earlier imports: no search for them. Returns {source run id: destination
    RunInfo}."""
    source = DirSource(run_dirs)
    writer = RunWriter(source, client, importer, IMPORT_OPTIONS)
    # the caller records the runs in its id map, with the logged models and traces (_import_mlflow3_objects)
    copier = ExperimentCopier(source, client, writer, IMPORT_OPTIONS, report, IdMap(), workers, wanted=wanted)
    existing = {} if new_experiment else imported_runs(client, experiment_id)
    report.expect("runs", sum(1 for src_id in run_dirs if wanted is None or wanted("runs", src_id)))
    runs = copier.copy_runs(None, experiment_name, experiment_id, existing, experiment_deleted=experiment_deleted)
    # a re-run that only skips must not read as if it imported everything again
    _logger.info(f"Experiment '{experiment_name}': {runs.tally['copied']} runs imported, "
                 f"{runs.tally['skipped']} {ALREADY_IMPORTED}, {runs.tally['failed']} failed")
    return runs.infos


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
