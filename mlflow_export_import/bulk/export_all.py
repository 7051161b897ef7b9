"""Export a whole tracking server: every registered model (models/) and every experiment with all its runs
(experiments/, each run written once), then the prompts and evaluation datasets; manifest.json last."""
import os
import time

import click

from mlflow_export_import.bulk.export_evaluation_datasets import export_evaluation_datasets
from mlflow_export_import.bulk.export_experiments import export_experiments
from mlflow_export_import.bulk.export_models import MANIFEST_FILE, _export_models
from mlflow_export_import.bulk.export_prompts import export_prompts
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import io_utils
from mlflow_export_import.common.click_options import (
    bool_option, opt_export_deleted_runs, opt_export_permissions, opt_notebook_formats, opt_output_dir, opt_report,
    opt_run_start_time, opt_until, opt_use_threads, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.report import Report
from mlflow_export_import.spark.options import opt_engine, opt_spark_master
from mlflow_export_import.spark.session import start_engine
from mlflow_export_import.common.utils import string_to_list

ALL_STAGES = "Production,Staging,Archived,None"


def export_all(output_dir, run_start_time=None, runs_until=None, stages="", export_latest_versions=False,
               export_deleted_runs=False, export_version_model=False, export_permissions=False, notebook_formats=None,
               use_threads=False, mlflow_client=None, report=None, workers=None, engine=None):
    """Returns the manifest info block. engine="spark": the runs are exported by Spark tasks."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    start = time.time()
    models_info = _export_models(client, "all", os.path.join(output_dir, "models"), notebook_formats, stages,
                                 use_threads, export_latest_versions, export_version_model, export_permissions,
                                 export_deleted_runs, report=report, workers=workers)
    exps_info = export_experiments("all", os.path.join(output_dir, "experiments"), export_permissions,
                                   run_start_time, runs_until, export_deleted_runs, notebook_formats, use_threads,
                                   mlflow_client=client, report=report, workers=workers, engine=engine)
    status = {"models": models_info, "experiments": exps_info}
    status["prompts"] = export_prompts(os.path.join(output_dir, "prompts"), mlflow_client=client, report=report,
                                       workers=workers)
    status["evaluation_datasets"] = export_evaluation_datasets(
        os.path.join(output_dir, "evaluation_datasets"), mlflow_client=client, report=report, workers=workers)
    status["duration"] = round(time.time() - start, 1)
    info = {"options": {"stages": stages or ALL_STAGES, "export_latest_versions": export_latest_versions,
                        "export_permissions": export_permissions, "export_deleted_runs": export_deleted_runs,
                        "run_start_time": run_start_time, "runs_until": runs_until,
                        "notebook_formats": notebook_formats, "use_threads": use_threads, "output_dir": output_dir},
            "status": status}
    io_utils.write_export_file(output_dir, MANIFEST_FILE, __file__, {}, info, tracking_uri=client.tracking_uri)
    return info


@click.command("export-all")
@opt_output_dir
@bool_option("--export-latest-versions", "Export only the latest version of each stage.")
@click.option("--stages", type=str, default=None,
              help="Stages to export (comma separated): Production, Staging, Archived, None. Default: all.")
@opt_run_start_time
@opt_until
@opt_export_deleted_runs
@bool_option("--export-version-model", "Also export the registry's copy of each version's MLflow model.")
@opt_export_permissions
@opt_notebook_formats
@opt_use_threads
@opt_workers
@opt_engine
@opt_spark_master
@opt_report
def main(output_dir, export_latest_versions, stages, run_start_time, runs_until, export_deleted_runs,
         export_version_model, export_permissions, notebook_formats, use_threads, workers, engine, spark_master,
         report_file):
    """Export every registered model and experiment of the tracking server."""
    with command("export-all", locals(), report_file) as report:
        start_engine(engine, spark_master)
        export_all(output_dir, run_start_time, runs_until, stages, export_latest_versions, export_deleted_runs,
                   export_version_model, export_permissions, string_to_list(notebook_formats), use_threads,
                   mlflow_client=mk_client(), report=report, workers=workers, engine=engine)


if __name__ == "__main__":
    main()
