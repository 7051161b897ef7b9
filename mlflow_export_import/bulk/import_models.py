"""Import an export-models (or export-all) directory: the experiments first, then the models in parallel (the
versions of one model in order), each version pointing at the imported copy of its run."""
import os
import re
import time

import click

from mlflow_export_import.bulk.import_experiments import import_experiments
from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common import registry_rules
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_retry_failed,
    bool_option, opt_dst_notebook_dir, opt_experiment_rename_file, opt_import_permissions, opt_import_source_tags,
    opt_input_dir, opt_principal_map, opt_report, opt_use_src_user_id, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.iterators import MAX_RESULTS, list_if_cheaper
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.spark.options import opt_engine, opt_spark_master
from mlflow_export_import.spark.session import start_engine
from mlflow_export_import.model.import_model import BaseModelImporter, read_model
from mlflow_export_import.model.plan import plan_models, read_model_names
from mlflow_export_import.permissions.mapping import get_principal_map

_SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,56}$")

_logger = get_logger(__name__)


def import_models(input_dir, delete_model, import_permissions=False, import_source_tags=False, use_src_user_id=True,
                  experiment_renames=None, model_renames=None, verbose=False, use_threads=False, mlflow_client=None,
                  report=None, workers=None, id_map=None, dst_notebook_dir=None, principal_map=None, engine=None):
    """With import_permissions, the experiments' and models' exported Databricks permissions are granted
    (principals renamed by principal_map); with dst_notebook_dir, the runs' notebooks go into that folder.
    engine="spark": the runs are filled by Spark tasks."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else IdMap()
    principal_map = get_principal_map(principal_map)
    start = time.time()
    model_names = read_model_names(input_dir)
    registry_rules.check_model_names(client, [rename(n, get_renames(model_renames), "model") for n in model_names])
    exp_info, runs = _import_experiments(client, input_dir, import_permissions, import_source_tags, use_src_user_id,
                                   experiment_renames, use_threads, report, workers, id_map,
                                   dst_notebook_dir=dst_notebook_dir, principal_map=principal_map, engine=engine)
    importer = BaseModelImporter(client, import_permissions=import_permissions, import_source_tags=import_source_tags,
                                 principal_map=principal_map)
    models_info = _import_models(client, input_dir, model_names, delete_model, importer, model_renames,
                                 verbose, report, workers, id_map, runs)
    return {"duration": round(time.time() - start, 1), "experiments_import": exp_info, "models_import": models_info}


def _import_experiments(client, input_dir, import_permissions, import_source_tags, use_src_user_id,
                        experiment_renames, use_threads, report, workers, id_map, dst_notebook_dir=None,
                        principal_map=None, engine=None):
    start = time.time()
    results = import_experiments(os.path.join(input_dir, "experiments"), import_permissions, import_source_tags,
                                 use_src_user_id, experiment_renames, use_threads, mlflow_client=client,
                                 report=report, workers=workers, id_map=id_map, dst_notebook_dir=dst_notebook_dir,
                                 principal_map=principal_map, engine=engine)
    runs = _flatten_run_info_map(results)
    for src_run_id, run_info in runs.items():
        id_map.put(id_maps.RUNS, src_run_id, run_info.run_id)
    return {"experiments": len(results), "exceptions": sum(1 for _, m in results if m is None),
            "duration": round(time.time() - start, 1)}, runs


def _flatten_run_info_map(exp_run_info_map):
    flat = {}
    for _, run_info_map in exp_run_info_map:
        flat.update(run_info_map or {})
    return flat


def _import_models(client, input_dir, model_names, delete_model, importer, model_renames, verbose, report,
                   workers, id_map, runs):
    start = time.time()
    renames = get_renames(model_renames)

    def run_for(src_run_id):
        if src_run_id in runs:
            return runs[src_run_id]
        dst_run_id = id_map.get(id_maps.RUNS, src_run_id)
        return client.get_run(dst_run_id).info if dst_run_id else None

    model_names = [n for n in model_names if report.wants_parent("models", "model_versions", "/", n)]
    report.expect("models", len(model_names))
    missing = destination_models_missing(client, [rename(n, renames, "model") for n in model_names])

    def import_one(src_name):
        dst_name = rename(src_name, renames, "model")
        validate_model_name(dst_name)
        model_dir = os.path.join(input_dir, "models", src_name)
        model_dct = read_model(model_dir)
        versions = importer.import_versions(dst_name, model_dir, model_dct, run_for, delete_model, report, id_map,
                                            orphan_experiment=None, known_missing=dst_name in missing)
        if verbose:
            _logger.info(f"Model '{src_name}' -> '{dst_name}': versions {versions}")
        return dst_name

    ok = 0
    for src_name, _, ex in map_bounded(import_one, model_names, workers):
        if ex is None:
            ok += 1
            continue
        if not any(f["type"] == "models" and f["id"] == src_name for f in report.failures):
            report.failed("models", src_name, describe_error(ex))
        _logger.error(f"Model '{src_name}' failed to import: {describe_error(ex)}")
    return {"models": len(model_names), "ok_models": ok, "duration": round(time.time() - start, 1)}


def destination_models_missing(client, names):
    """The names that no destination model has, from one listing when that takes fewer requests than looking the
    names up one by one; else none (each is then looked up)."""
    found = list_if_cheaper(client.search_registered_models, len(names), max_results=MAX_RESULTS)
    return set() if found is None else set(names) - {m.name for m in found}


def validate_model_name(model_name):
    """SageMaker's naming rule, only warned about."""
    if not _SAGEMAKER_NAME.match(model_name):
        _logger.debug(f"Model name '{model_name}' does not follow the SageMaker naming rule")


def opt_model_rename_file(f):
    return click.option("--model-rename-file", type=str, default=None,
                        help="File of 'old,new' model name prefixes, one per line.")(f)


@click.command("import-models")
@opt_input_dir
@bool_option("--delete-model", "Replace destination models that exist (all their versions are deleted first).")
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
def main(input_dir, delete_model, import_permissions, principal_map, experiment_rename_file, model_rename_file,
         import_source_tags, use_src_user_id, dst_notebook_dir, use_threads, verbose, workers, engine, spark_master,
         retry_failed, dry_run, report_file):
    """Import registered models and their experiments exported by export-models or export-all."""
    with command("import-models", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_models(mk_client(read_only=True), input_dir, delete_model, experiment_rename_file,
                        model_rename_file, report)
            return
        start_engine(engine, spark_master)
        import_models(input_dir, delete_model, import_permissions, import_source_tags, use_src_user_id,
                      experiment_rename_file, model_rename_file, verbose, use_threads, mlflow_client=mk_client(),
                      report=report, workers=workers, dst_notebook_dir=dst_notebook_dir, principal_map=principal_map,
                      engine=engine)


if __name__ == "__main__":
    main()
