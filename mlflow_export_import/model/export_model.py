"""Export a registered model: model.json (the model in its REST shape plus its versions in numeric order) and
the run of each version (once per run). A version whose run no longer exists keeps the registry's copy of its
files (version_models/<version>/)."""
import os
from dataclasses import dataclass, field

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, UsageError, describe_error, io_utils
from mlflow_export_import.common import model_utils
from mlflow_export_import.common.click_options import (
    bool_option, opt_export_deleted_runs, opt_export_permissions, opt_notebook_formats, opt_output_dir, opt_report)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.utils import string_to_list
from mlflow_export_import.logged_model.export_logged_model import export_logged_model_entity
from mlflow_export_import.model.plan import logged_model_id_of
from mlflow_export_import.model_version.export_model_version import get_run_or_none
from mlflow_export_import.permissions.transfer import export_model_permissions
from mlflow_export_import.run.export_run import export_run_entity

MODEL_FILE = "model.json"
VERSION_MODELS_DIR = "version_models"
ALL_STAGES = ["production", "staging", "archived", "none"]

_logger = get_logger(__name__)


@dataclass
class Options:
    stages: list = field(default_factory=list)
    versions: list = field(default_factory=list)
    export_latest_versions: bool = False
    export_deleted_runs: bool = False
    export_version_model: bool = False
    export_permissions: bool = False
    notebook_formats: list = None


def export_model(model_name, output_dir, stages=None, versions=None, export_latest_versions=False,
                 export_version_model=False, export_permissions=False, export_deleted_runs=False,
                 notebook_formats=None, mlflow_client=None, report=None, export_runs=True):
    """Export the model and (unless export_runs is False: bulk exports write runs under experiments/) the
    runs of its versions. Returns (True, model_name), or (False, model_name) if the model failed."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    opts = Options(_normalize_stages(stages), [str(v) for v in string_to_list(versions)], export_latest_versions,
                   export_deleted_runs, export_version_model, export_permissions, notebook_formats)
    check_stages_and_versions(opts.stages, opts.versions)
    try:
        _export_model(client, model_name, output_dir, opts, export_runs, report)
        report.copied("models")
        return True, model_name
    except Exception as ex:
        report.failed("models", model_name, describe_error(ex))
        _logger.error(f"Model '{model_name}' failed to export: {describe_error(ex)}")
        return False, model_name


def check_stages_and_versions(stages, versions):
    if stages and versions:
        raise UsageError("Both stages and versions given: choose one of --stages and --versions")


def _normalize_stages(stages):
    stages = [s.lower() for s in string_to_list(stages)]
    for stage in stages:
        if stage not in ALL_STAGES:
            _logger.warning(f"Unknown stage '{stage}': known stages are {ALL_STAGES}")
    return stages


def _export_model(client, model_name, output_dir, opts, export_runs, report):
    model_dct = model_utils.get_registered_model(client, model_name)
    if model_utils.PROMPT_TAG in {t["key"] for t in model_dct["tags"]}:
        raise MlflowExportImportException(f"Registered model '{model_name}' is a prompt: export it with the prompt "
                                          "commands", http_status_code=400)
    all_versions = model_utils.list_model_versions(client, model_name, opts.export_latest_versions)
    selected = [vr for vr in all_versions if _selected(vr, opts)]
    if opts.versions:
        missing = sorted(set(opts.versions) - {vr.version for vr in all_versions}, key=int)
        if missing:
            raise MlflowExportImportException(
                f"Version(s) {', '.join(missing)} of registered model '{model_name}' not found", http_status_code=404)
    exported, failed = [], []
    exported_ids = set()
    experiment_names = {}
    for vr in selected:
        try:
            vr_dct = _export_version(client, vr, output_dir, opts, export_runs, exported_ids, experiment_names,
                                     report)
        except Exception as ex:
            failed.append({"version": model_utils.model_version_to_dict(vr), "message": describe_error(ex)})
            report.failed("model_versions", f"{model_name}/{vr.version}", describe_error(ex))
            continue
        if vr_dct is None:
            failed.append({"message": "deleted run", "version": model_utils.model_version_to_dict(vr)})
            report.skipped("model_versions", f"{model_name}/{vr.version}",
                           f"run '{vr.run_id}' is deleted (use --export-deleted-runs)")
            continue
        exported.append(vr_dct)
        report.copied("model_versions")
    model_dct["versions"] = exported
    if opts.export_permissions:
        model_dct["permissions"] = export_model_permissions(client, model_name, report)
    info = {"num_target_stages": len(opts.stages), "num_target_versions": len(opts.versions),
            "num_src_versions": len(all_versions), "num_dst_versions": len(exported), "failed_versions": failed,
            "export_latest_versions": opts.export_latest_versions, "export_permissions": opts.export_permissions}
    io_utils.write_export_file(output_dir, MODEL_FILE, __file__, {"registered_model": model_dct}, info,
                               tracking_uri=client.tracking_uri)
    _logger.info(f"Exported model '{model_name}': {len(exported)} of {len(selected)} versions")


def _selected(vr, opts):
    if opts.versions:
        return vr.version in opts.versions
    if opts.stages:
        return (vr.current_stage or "None").lower() in opts.stages
    return True


def _export_version(client, vr, output_dir, opts, export_runs, exported_ids, experiment_names, report=None):
    """The version dict; None when its run is deleted and deleted runs are not exported."""
    vr_dct = model_utils.model_version_to_dict(vr)
    run = get_run_or_none(client, vr.run_id)
    if run is not None and run.info.lifecycle_stage == "deleted" and not opts.export_deleted_runs:
        return None
    if run is not None:
        vr_dct["_run_artifact_uri"] = run.info.artifact_uri
        exp_id = run.info.experiment_id
        if exp_id not in experiment_names:
            experiment_names[exp_id] = client.get_experiment(exp_id).name
        vr_dct["_experiment_name"] = experiment_names[exp_id]
        if export_runs and run.info.run_id not in exported_ids:
            export_run_entity(client, run, os.path.join(output_dir, run.info.run_id), export_deleted_runs=True,
                              report=report, notebook_formats=opts.notebook_formats)
            exported_ids.add(run.info.run_id)
    model_id = logged_model_id_of(vr_dct)
    if export_runs and model_id and model_id not in exported_ids:
        export_logged_model_entity(client, client.get_logged_model(model_id), os.path.join(output_dir, model_id))
        exported_ids.add(model_id)
    if opts.export_version_model or run is None:
        dst = os.path.join(output_dir, VERSION_MODELS_DIR, str(vr.version))
        vr_dct["_download_uri"] = model_utils.export_version_model(client, vr, dst)
    return vr_dct


@click.command("export-model")
@click.option("--model", help="Registered model name.", type=str, required=True)
@opt_output_dir
@click.option("--stages", type=str, default=None,
              help="Stages to export (comma separated): Production, Staging, Archived, None. Default: all.")
@click.option("--versions", type=str, default=None, help="Version numbers to export (comma separated).")
@bool_option("--export-latest-versions", "Export only the latest version of each stage.")
@bool_option("--export-version-model", "Also export the registry's copy of each version's MLflow model.")
@opt_export_deleted_runs
@opt_export_permissions
@opt_notebook_formats
@opt_report
def main(model, output_dir, stages, versions, export_latest_versions, export_version_model, export_deleted_runs,
         export_permissions, notebook_formats, report_file):
    """Export a registered model, its versions and their runs to a directory."""
    with command("export-model", locals(), report_file) as report:
        check_stages_and_versions(stages, versions)  # before the server is asked anything
        export_model(model, output_dir, stages, versions, export_latest_versions, export_version_model,
                     export_permissions, export_deleted_runs, string_to_list(notebook_formats),
                     mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
