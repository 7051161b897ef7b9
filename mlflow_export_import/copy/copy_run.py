"""Copy a run into an experiment of the same or another tracking server: the export side's run JSON is built
in memory and handed to the import side; only the artifacts pass through a temporary directory."""
import os
import tempfile

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import ReadOnlyClient, use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common.click_options import opt_dry_run, opt_report
from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import SKIPPED, Report
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.copy import copy_utils
from mlflow_export_import.run.export_run import download_run_artifacts, run_to_dict
from mlflow_export_import.run.import_run import MLFLOW_PARENT_RUN_ID, RunImporter
from mlflow_export_import.run.plan import FINISH, SKIP, find_earlier_import, run_action

_logger = get_logger(__name__)


def copy(src_run_id, dst_experiment_name, src_mlflow_uri=None, dst_mlflow_uri=None, report=None):
    """Copy the run into dst_experiment_name (created if missing). Returns the destination Run."""
    return _copy(src_run_id, dst_experiment_name, copy_utils.mk_client(src_mlflow_uri),
                 copy_utils.mk_client(dst_mlflow_uri), report)


def _copy(src_run_id, dst_experiment_name, src_client=None, dst_client=None, report=None):
    src_client = use_client(src_client)
    dst_client = use_client(dst_client)
    report = report if report is not None else Report()
    src_run = get_run(src_client, src_run_id)
    experiment_id = copy_utils.create_experiment(dst_client, dst_experiment_name)
    earlier = find_earlier_import(dst_client, experiment_id, src_run_id)
    if run_action(earlier) == SKIP:
        _logger.info(f"Run '{src_run_id}' was already copied to '{dst_experiment_name}' as run "
                     f"'{earlier.info.run_id}'")
        report.skipped("runs", src_run_id, f"already copied as run '{earlier.info.run_id}'")
        return earlier
    try:
        dst_run_id = _copy_run(src_client, src_run, dst_client, experiment_id, earlier)
    except (MlflowException, OSError) as ex:
        raise MlflowExportImportException(
            ex, f"Run '{src_run_id}' could not be copied to experiment '{dst_experiment_name}' in "
                f"{redact_uri(dst_client.tracking_uri)}: {describe_error(ex)}")
    report.copied("runs")
    _logger.info(f"Copied run '{src_run_id}' to run '{dst_run_id}' of experiment '{dst_experiment_name}' "
                 f"in {redact_uri(dst_client.tracking_uri)}")
    dst_run = dst_client.get_run(dst_run_id)
    _note_missing_parent(src_run, dst_run, dst_experiment_name, report)
    return dst_run


def _note_missing_parent(src_run, dst_run, dst_experiment_name, report):
    """A nested run is linked to its parent only when the parent was copied into that experiment before: the
    user is told, rather than finding a run that silently lost its place in the tree."""
    src_parent = src_run.data.tags.get(MLFLOW_PARENT_RUN_ID)
    if src_parent and not dst_run.data.tags.get(MLFLOW_PARENT_RUN_ID):
        report.note(f"run {src_run.info.run_id}: its parent run '{src_parent}' was not copied to experiment "
                    f"'{dst_experiment_name}' before, so the copy is not linked to a parent (to keep the link, copy a "
                    f"parent before its children; the parent's id is kept in the tag {ImportTags.SRC_PARENT_RUN_ID})")


def plan_copy(src_run_id, dst_experiment_name, src_client, dst_client, report):
    """--dry-run: the run is copied, or finished when an earlier copy left it half-done, or skipped."""
    get_run(src_client, src_run_id)
    exp = dst_client.get_experiment_by_name(dst_experiment_name)
    earlier = find_earlier_import(dst_client, exp.experiment_id, src_run_id) if exp else None
    action = run_action(earlier)
    if action == SKIP:
        report.skipped("runs", src_run_id, f"already copied as run '{earlier.info.run_id}'")
    else:
        verb = "finish the half-copied" if action == FINISH else "copy"
        report.would("runs", src_run_id, f"{verb} run {src_run_id} into experiment '{dst_experiment_name}'")


def get_run(client, run_id):
    """The run, or one clear error naming it and the server."""
    try:
        return client.get_run(run_id)
    except MlflowException as ex:
        reason = "not found" if ex.error_code == "RESOURCE_DOES_NOT_EXIST" else describe_error(ex)
        raise MlflowExportImportException(
            ex, f"Run '{run_id}' {reason} in {redact_uri(client.tracking_uri)}",
            http_status_code=ex.get_http_status_code())


def _copy_run(src_client, src_run, dst_client, experiment_id, earlier):
    run_dct = run_to_dict(src_client, src_run)
    src_parent_id = run_dct["tags"].get(MLFLOW_PARENT_RUN_ID)
    dst_parent = find_earlier_import(dst_client, experiment_id, src_parent_id) if src_parent_id else None
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-run-") as tmp:
        download_run_artifacts(src_client, src_run.info.run_id, os.path.join(tmp, "artifacts"),
                               src_run.info.artifact_uri)
        return RunImporter(dst_client).import_run(experiment_id, tmp, run_dct,
                                                  dst_parent.info.run_id if dst_parent else None,
                                                  reuse_run=earlier)


@click.command("copy-run")
@click.option("--run-id", help="Run ID.", type=str, required=True)
@click.option("--experiment-name", help="Destination experiment name.", type=str, required=True)
@click.option("--src-mlflow-uri", help="Source MLflow tracking server URI. Default: $MLFLOW_TRACKING_URI.",
              type=str, default=None)
@click.option("--dst-mlflow-uri", help="Destination MLflow tracking server URI. Default: $MLFLOW_TRACKING_URI.",
              type=str, default=None)
@opt_dry_run
@opt_report
def main(run_id, experiment_name, src_mlflow_uri, dst_mlflow_uri, dry_run, report_file):
    """Copy a run to an experiment of the same or another tracking server."""
    with command("copy-run", copy_utils.redact_options(locals()), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_copy(run_id, experiment_name, copy_utils.mk_client(src_mlflow_uri),
                      ReadOnlyClient(copy_utils.mk_client(dst_mlflow_uri)), report)
            return
        dst_run = _copy(run_id, experiment_name, copy_utils.mk_client(src_mlflow_uri),
                        copy_utils.mk_client(dst_mlflow_uri), report)
        verb = "was already copied" if report.count("runs", SKIPPED) else "copied"
        click.echo(f"Run '{run_id}' {verb} as run '{dst_run.info.run_id}' of experiment '{experiment_name}'")


if __name__ == "__main__":
    main()
