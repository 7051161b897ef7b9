"""Export the MLflow 3 logged models of experiments: logged_models.json and <model_id>/ for each model."""
import os

import click

from mlflow_export_import.bulk.bulk_utils import get_experiment_ids
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.capabilities import is_unsupported, unsupported_reason
from mlflow_export_import.common.click_options import opt_output_dir, opt_report, opt_workers
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import SearchLoggedModelsIterator
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.logged_model.export_logged_model import KIND, export_logged_model_entity

LOGGED_MODELS_FILE = "logged_models.json"

_logger = get_logger(__name__)


def export_logged_models(experiment_ids, output_dir, logged_models_filter=None, mlflow_client=None, report=None,
                         workers=None):
    """Export the logged models of the experiments ('all', ids or names). `logged_models_filter`
    ({experiment id: [run id, ...]}) keeps, in the listed experiments, only the models of those runs and
    the models with no source run. Returns (ok model ids, failed model ids)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    experiments = [client.get_experiment(i) for i in get_experiment_ids(client, experiment_ids)]
    ok, failed, exp_entries = [], [], []
    for exp in experiments:
        run_ids = (logged_models_filter or {}).get(exp.experiment_id)
        exp_ok, exp_failed = export_experiment_logged_models(client, exp.experiment_id, output_dir, run_ids, report,
                                                             workers, write_list=False)
        if exp_ok is None:
            continue
        ok += exp_ok
        failed += exp_failed
        exp_entries.append({"id": exp.experiment_id, "name": exp.name, "logged_models": exp_ok})
    write_logged_models_file(client, output_dir, exp_entries, ok, failed)
    return ok, failed


def export_experiment_logged_models(client, experiment_id, output_dir, run_ids=None, report=None, workers=None,
                                    write_list=True, experiment_name=None):
    """Export one experiment's logged models (those of `run_ids` and those without a source run, when
    run_ids is given) into output_dir/<model_id>/. Returns (ok ids, failed ids), or (None, None) when the
    server has no logged models. experiment_name: the experiment's, when the caller knows it."""
    report = report if report is not None else Report()
    try:
        models = list(SearchLoggedModelsIterator(client, [experiment_id]))
    except Exception as ex:
        if not is_unsupported(ex):
            raise
        report.skipped(KIND, f"experiment {experiment_id}", unsupported_reason(client))
        return None, None
    if run_ids is not None:
        keep = set(run_ids)
        models = [m for m in models if not m.source_run_id or m.source_run_id in keep]
    ok, failed = [], []

    def export_one(model):
        return export_logged_model_entity(client, model, os.path.join(output_dir, model.model_id), report)

    for model, _, ex in map_bounded(export_one, models, workers):
        if ex is None:
            ok.append(model.model_id)
        else:
            failed.append(model.model_id)
            report.failed(KIND, model.model_id, f"Logged model failed to export: {describe_error(ex)}")
    if write_list and (ok or failed):
        name = experiment_name or client.get_experiment(experiment_id).name
        write_logged_models_file(client, output_dir, [{"id": experiment_id, "name": name, "logged_models": ok}],
                                 ok, failed)
    return ok, failed


def write_logged_models_file(client, output_dir, exp_entries, ok, failed):
    if not ok and not failed:
        return
    info = {"num_total_logged_models": len(ok) + len(failed), "num_ok_logged_models": len(ok),
            "num_failed_logged_models": len(failed), "failed_logged_models": failed}
    io_utils.write_export_file(output_dir, LOGGED_MODELS_FILE, __file__, {"experiments": exp_entries}, info,
                               tracking_uri=client.tracking_uri)


@click.command("export-logged-models")
@click.option("--experiment-ids", type=str, required=True,
              help="Experiment ids or names (comma separated), or 'all'.")
@opt_output_dir
@opt_workers
@opt_report
def main(experiment_ids, output_dir, workers, report_file):
    """Export the MLflow 3 logged models of experiments to a directory."""
    with command("export-logged-models", locals(), report_file) as report:
        export_logged_models(experiment_ids, output_dir, mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
