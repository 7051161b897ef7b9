"""Import the experiments of an export-experiments (or export-all) directory."""
import os

import click
from mlflow.entities import ViewType

from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    opt_dst_notebook_dir, opt_experiment_rename_file, opt_import_permissions, opt_import_source_tags, opt_input_dir,
    opt_principal_map, opt_report, opt_use_src_user_id, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import MAX_RESULTS, list_if_cheaper
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import GROUP_WIDTH, map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.spark import is_spark
from mlflow_export_import.spark.options import opt_engine, opt_spark_master
from mlflow_export_import.spark.session import get_spark, start_engine
from mlflow_export_import.experiment.import_experiment import import_experiment
from mlflow_export_import.experiment.plan import plan_experiments, read_experiments_list
from mlflow_export_import.permissions.mapping import get_principal_map

_logger = get_logger(__name__)


def import_experiments(input_dir, import_permissions=False, import_source_tags=False, use_src_user_id=True,
                       experiment_renames=None, use_threads=False, mlflow_client=None, report=None, workers=None,
                       id_map=None, dst_notebook_dir=None, principal_map=None, engine=None):
    """Returns [(source experiment id, {source run id: destination RunInfo} or None if it failed)].
    engine="spark": the runs are filled by Spark tasks (mlflow_export_import/spark/)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    if is_spark(engine):
        # loaded only with the spark engine
        from mlflow_export_import.spark.import_runs import import_experiments_spark
        return import_experiments_spark(get_spark(), client, input_dir, read_experiments_list(input_dir),
                                        import_permissions, import_source_tags, use_src_user_id,
                                        experiment_renames, report, workers, id_map, dst_notebook_dir, principal_map)
    renames = get_renames(experiment_renames)
    principal_map = get_principal_map(principal_map)
    results = []
    experiments = read_experiments_list(input_dir)
    report.expect("experiments", len(experiments))
    groups = {}  # experiments renamed into one destination experiment are imported one after the other
    for exp in experiments:
        groups.setdefault(rename(exp["name"], renames, "experiment"), []).append(exp)

    dst_experiments = destination_experiments_listed(client, len(groups))

    def import_group(group):
        name, exps = group
        # the listing is older than the group's first import, which may create the experiment
        return [(exp["id"], _import_one(exp, name, dst_experiments if i == 0 else None))
                for i, exp in enumerate(exps)]

    def _import_one(exp, name, listed):
        try:
            return import_experiment(name, os.path.join(input_dir, exp["id"]), import_source_tags,
                                     import_permissions, use_src_user_id, dst_notebook_dir, mlflow_client=client,
                                     report=report, workers=workers, id_map=id_map, principal_map=principal_map,
                                     dst_experiments=listed)
        except Exception as ex:
            report.failed("experiments", exp["id"], describe_error(ex), name=name)
            _logger.error(f"Experiment '{name}' failed to import: {describe_error(ex)}")
            return None

    # a few experiments at once, their runs within the one limit of parallel tasks (common/parallel.py)
    for (_, exps), group_results, ex in map_bounded(import_group, list(groups.items()), workers, width=GROUP_WIDTH):
        results.extend(group_results if ex is None else [(exp["id"], None) for exp in exps])
    position = {exp["id"]: i for i, exp in enumerate(experiments)}
    results.sort(key=lambda r: position[r[0]])
    return results


def destination_experiments_listed(client, n_names):
    """{name: Experiment} of every destination experiment, deleted ones too, from one listing when that takes
    fewer requests than looking the n_names up one by one; else None."""
    found = list_if_cheaper(client.search_experiments, n_names, view_type=ViewType.ALL, max_results=MAX_RESULTS)
    return None if found is None else {e.name: e for e in found}


@click.command("import-experiments")
@opt_input_dir
@opt_import_permissions
@opt_principal_map
@opt_import_source_tags
@opt_use_src_user_id
@opt_experiment_rename_file
@opt_dst_notebook_dir
@opt_use_threads
@opt_workers
@opt_engine
@opt_spark_master
@opt_retry_failed
@opt_dry_run
@opt_report
def main(input_dir, import_permissions, principal_map, import_source_tags, use_src_user_id, experiment_rename_file,
         dst_notebook_dir, use_threads, workers, engine, spark_master, retry_failed, dry_run, report_file):
    """Import experiments exported by export-experiments."""
    with command("import-experiments", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_experiments(mk_client(read_only=True), input_dir, experiment_rename_file, report)
            return
        start_engine(engine, spark_master)
        import_experiments(input_dir, import_permissions, import_source_tags, use_src_user_id,
                           experiment_rename_file, use_threads, mlflow_client=mk_client(), report=report,
                           workers=workers, dst_notebook_dir=dst_notebook_dir, principal_map=principal_map,
                           engine=engine)


if __name__ == "__main__":
    main()
