"""Import an export-all directory: experiments, registered models (one IdMap through every step), then the
prompts and evaluation datasets."""
import os
import time

import click

from mlflow_export_import.bulk.import_evaluation_datasets import import_evaluation_datasets
from mlflow_export_import.bulk.import_models import import_models, opt_model_rename_file
from mlflow_export_import.bulk.import_prompts import import_prompts
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    bool_option, opt_dst_notebook_dir, opt_experiment_rename_file, opt_import_permissions, opt_import_source_tags,
    opt_input_dir, opt_principal_map, opt_report, opt_use_src_user_id, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.report import Report
from mlflow_export_import.dry_run import plan_all
from mlflow_export_import.spark.options import opt_engine, opt_spark_master
from mlflow_export_import.spark.session import start_engine


def import_all(input_dir, delete_model, delete_prompt=False, delete_dataset=False, import_permissions=False,
               import_source_tags=False, use_src_user_id=True, experiment_renames=None, model_renames=None,
               verbose=False, use_threads=False, mlflow_client=None, report=None, workers=None, id_map=None,
               dst_notebook_dir=None, principal_map=None, engine=None):
    """Returns {"duration", "models": <import_models result>, ...prompt and dataset step results}. With
    import_permissions, Databricks permissions are granted (principals renamed by principal_map); with
    dst_notebook_dir, the runs' notebooks go into that workspace folder. engine="spark": the runs are filled by
    Spark tasks."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else IdMap()
    start = time.time()
    result = {"models": import_models(input_dir, delete_model, import_permissions, import_source_tags,
                                      use_src_user_id, experiment_renames, model_renames, verbose, use_threads,
                                      mlflow_client=client, report=report, workers=workers, id_map=id_map,
                                      dst_notebook_dir=dst_notebook_dir, principal_map=principal_map,
                                      engine=engine)}
    prompts_dir = os.path.join(input_dir, "prompts")
    if os.path.isdir(prompts_dir):
        result["prompts"] = import_prompts(prompts_dir, delete_prompt, mlflow_client=client, report=report,
                                           workers=workers)
    datasets_dir = os.path.join(input_dir, "evaluation_datasets")
    if os.path.isdir(datasets_dir):
        result["evaluation_datasets"] = import_evaluation_datasets(
            datasets_dir, delete_dataset, mlflow_client=client, report=report, id_map=id_map, workers=workers)
    result["duration"] = round(time.time() - start, 1)
    return result


@click.command("import-all")
@opt_input_dir
@bool_option("--delete-model", "Replace destination models that exist (all their versions are deleted first).")
@bool_option("--delete-prompt", "Replace destination prompts that exist.")
@bool_option("--delete-evaluation-dataset", "Replace destination evaluation datasets that exist.")
@opt_import_permissions
@opt_principal_map
@opt_experiment_rename_file
@opt_model_rename_file
@opt_import_source_tags
@opt_use_src_user_id
@opt_dst_notebook_dir
@opt_use_threads
@bool_option("--verbose", "Log the source -> destination version numbers.")
@opt_workers
@opt_engine
@opt_spark_master
@opt_retry_failed
@opt_dry_run
@opt_report
def main(input_dir, delete_model, delete_prompt, delete_evaluation_dataset, import_permissions, principal_map,
         experiment_rename_file, model_rename_file, import_source_tags, use_src_user_id, dst_notebook_dir, use_threads,
         verbose, workers, engine, spark_master, retry_failed, dry_run, report_file):
    """Import everything exported by export-all."""
    with command("import-all", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_all(mk_client(read_only=True), input_dir, delete_model, delete_prompt, delete_evaluation_dataset,
                     experiment_rename_file, model_rename_file, report)
            return
        start_engine(engine, spark_master)
        import_all(input_dir, delete_model, delete_prompt, delete_evaluation_dataset, import_permissions,
                   import_source_tags, use_src_user_id, experiment_rename_file, model_rename_file, verbose,
                   use_threads, mlflow_client=mk_client(), report=report, workers=workers,
                   dst_notebook_dir=dst_notebook_dir, principal_map=principal_map, engine=engine)


if __name__ == "__main__":
    main()
