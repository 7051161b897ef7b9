"""Import the logged models of an export-logged-models directory into the experiments of the same names."""
import os

import click

from mlflow_export_import.bulk.export_logged_models import LOGGED_MODELS_FILE
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import io_utils
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.click_options import (
    opt_dry_run, opt_input_dir, opt_report, opt_retry_failed, opt_workers)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.report import Report
from mlflow_export_import.experiment.import_experiment import destination_experiments, retried
from mlflow_export_import.experiment.plan import plan_exported_experiments
from mlflow_export_import.logged_model.export_logged_model import KIND
from mlflow_export_import.logged_model.import_logged_model import import_logged_models_dir
from mlflow_export_import.logged_model.plan import plan_logged_models_dir


def import_logged_models(input_dir, mlflow_client=None, report=None, id_map=None, mlmodel_fix=True, workers=None):
    """Each model goes into the experiment of its source name, linked to the destination copy of its source run
    when an earlier import made one. Returns {source model id: destination model id}."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else id_maps.IdMap()
    experiments = io_utils.read_file_mlflow(os.path.join(input_dir, LOGGED_MODELS_FILE)).get("experiments") or []
    # an experiment listed with no models has nothing to receive: do not create it empty
    experiments = [e for e in experiments if e.get("logged_models") != []]
    for exp, experiment_id, run_id_map in destination_experiments(client, experiments, id_map, report):
        import_logged_models_dir(client, input_dir, experiment_id, run_id_map, report, id_map, mlmodel_fix, workers,
                                 model_ids=retried(input_dir, KIND, report.wanted, exp.get("logged_models")))
    return id_map.items(id_maps.LOGGED_MODELS)


@click.command("import-logged-models")
@opt_input_dir
@opt_workers
@opt_retry_failed
@opt_dry_run
@opt_report
def main(input_dir, workers, retry_failed, dry_run, report_file):
    """Import the logged models exported by export-logged-models."""
    with command("import-logged-models", locals(), report_file,
                 dry_run=dry_run, retry_failed=retry_failed) as report:
        if dry_run:
            plan_exported_experiments(mk_client(read_only=True), input_dir, LOGGED_MODELS_FILE, "logged_models",
                                      plan_logged_models_dir, report)
            return
        import_logged_models(input_dir, mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
