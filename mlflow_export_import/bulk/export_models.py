"""Export registered models (names, 'all', 'prefix*' or a .txt file) with the experiments of their versions'
runs: models/models.json, models/<name>/model.json, experiments/ (each run once) and manifest.json."""
import os
import time

import click

from mlflow_export_import.bulk.bulk_utils import get_model_names
from mlflow_export_import.bulk.export_experiments import export_experiments
from mlflow_export_import.bulk.model_utils import experiments_of_runs
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import io_utils
from mlflow_export_import.common.click_options import (
    bool_option, opt_export_deleted_runs, opt_export_permissions, opt_notebook_formats, opt_output_dir, opt_report,
    opt_run_start_time, opt_until, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.spark.options import opt_engine, opt_spark_master
from mlflow_export_import.spark.session import start_engine
from mlflow_export_import.common.utils import string_to_list
from mlflow_export_import.model.plan import MODELS_FILE
from mlflow_export_import.model.export_model import MODEL_FILE, check_stages_and_versions, export_model

MANIFEST_FILE = "manifest.json"

_logger = get_logger(__name__)


def export_models(model_names, output_dir, stages="", export_latest_versions=False, export_all_runs=False,
                  export_permissions=False, run_start_time=None, runs_until=None, export_deleted_runs=False,
                  export_version_model=False, notebook_formats=None, use_threads=False, mlflow_client=None,
                  report=None, workers=None, engine=None):
    """Returns the manifest info block. engine="spark": the runs are exported by Spark tasks."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    models_info = _export_models(client, model_names, os.path.join(output_dir, "models"), notebook_formats, stages,
                                 use_threads, export_latest_versions, export_version_model, export_permissions,
                                 export_deleted_runs, report=report, workers=workers)
    run_ids = version_run_ids(os.path.join(output_dir, "models"), models_info["model_names"])
    experiments = experiments_of_runs(client, run_ids)
    if export_all_runs:
        experiments = list(experiments)
    exps_info = export_experiments(experiments, os.path.join(output_dir, "experiments"), export_permissions,
                                   run_start_time, runs_until, export_deleted_runs, notebook_formats, use_threads,
                                   mlflow_client=client, report=report, workers=workers, engine=engine)
    info = {"model_names": model_names, "stages": stages, "export_all_runs": export_all_runs,
            "export_latest_versions": export_latest_versions, "export_permissions": export_permissions,
            "export_deleted_runs": export_deleted_runs, "notebook_formats": notebook_formats,
            "use_threads": use_threads, "output_dir": output_dir, "models": models_info, "experiments": exps_info}
    io_utils.write_export_file(output_dir, MANIFEST_FILE, __file__, {}, info, tracking_uri=client.tracking_uri)
    return info


def _export_models(mlflow_client, model_names, output_dir, notebook_formats=None, stages=None, use_threads=False,
                   export_latest_versions=False, export_version_model=False, export_permissions=False,
                   export_deleted_runs=False, report=None, workers=None):
    """Export the models (without runs) into output_dir/<name>/ in parallel; write models.json."""
    report = report if report is not None else Report()
    check_stages_and_versions(stages, None)
    start = time.time()
    names = get_model_names(mlflow_client, model_names)
    report.expect("models", len(names))

    def export_one(name):
        return export_model(name, os.path.join(output_dir, name), stages, None, export_latest_versions,
                            export_version_model, export_permissions, export_deleted_runs, notebook_formats,
                            mlflow_client=mlflow_client, report=report, export_runs=False)

    ok, failed = [], []
    for name, result, ex in map_bounded(export_one, names, workers):
        (ok if ex is None and result[0] else failed).append(name)
    ok = [n for n in names if n in ok]
    info = {"model_names": ok, "stages": stages, "export_latest_versions": export_latest_versions,
            "notebook_formats": notebook_formats, "use_threads": use_threads, "output_dir": output_dir,
            "num_total_models": len(names), "num_ok_models": len(ok), "num_failed_models": len(failed),
            "duration": round(time.time() - start, 1), "failed_models": failed}
    io_utils.write_export_file(output_dir, MODELS_FILE, __file__, {"models": ok}, info,
                               tracking_uri=mlflow_client.tracking_uri)
    return info


def version_run_ids(models_dir, model_names):
    """The run ids of the exported versions, from the model.json files."""
    run_ids = {}
    for name in model_names:
        model = io_utils.read_file_mlflow(os.path.join(models_dir, name, MODEL_FILE))["registered_model"]
        run_ids.update(dict.fromkeys(v["run_id"] for v in model.get("versions") or [] if v.get("run_id")))
    return list(run_ids)


@click.command("export-models")
@click.option("--models", type=str, required=True,
              help="Registered model names (comma separated), 'all', 'prefix*', or a '.txt' file with one per line.")
@opt_output_dir
@bool_option("--export-latest-versions", "Export only the latest version of each stage.")
@bool_option("--export-all-runs", "Export every run of the versions' experiments, not only the versions' runs.")
@click.option("--stages", type=str, default=None,
              help="Stages to export (comma separated): Production, Staging, Archived, None. Default: all.")
@opt_export_permissions
@opt_run_start_time
@opt_until
@opt_export_deleted_runs
@bool_option("--export-version-model", "Also export the registry's copy of each version's MLflow model.")
@opt_notebook_formats
@opt_use_threads
@opt_workers
@opt_engine
@opt_spark_master
@opt_report
def main(models, output_dir, export_latest_versions, export_all_runs, stages, export_permissions, run_start_time,
         runs_until, export_deleted_runs, export_version_model, notebook_formats, use_threads, workers, engine,
         spark_master, report_file):
    """Export registered models, their versions and the experiments of their runs."""
    with command("export-models", locals(), report_file) as report:
        start_engine(engine, spark_master)
        export_models(models, output_dir, stages, export_latest_versions, export_all_runs, export_permissions,
                      run_start_time, runs_until, export_deleted_runs, export_version_model,
                      string_to_list(notebook_formats), use_threads, mlflow_client=mk_client(), report=report,
                      workers=workers, engine=engine)


if __name__ == "__main__":
    main()
