"""sync: keep a destination server level with a live source. What is new is copied, what changed since the
last copy or sync is brought up to date, and with --delete what is gone or deleted in the source is deleted
(soft-deleted, as MLflow does) in the destination. Without --delete nothing is removed."""
import click

from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.copy.copy_utils import redact_options
from mlflow_export_import.engine import copy as engine
from mlflow_export_import.engine.options import clients, opt_check_artifacts, opt_common, opt_model_rename_file
from mlflow_export_import.common import UsageError
from mlflow_export_import.common.click_options import bool_option
from mlflow_export_import.copy import copy_utils


@click.command("sync")
@click.option("--src-uri", "src_uri", type=str, default=None, help="Source tracking server URI (or --src-mlflow-uri).")
@click.option("--dst-uri", "dst_uri", type=str, default=None,
              help="Destination tracking server URI (or --dst-mlflow-uri).")
@click.option("--dst-dir", type=str, default=None,
              help="Instead of --dst-uri: an export directory (export-all layout) to keep up to date, an incremental "
                   "backup that import-all restores.")
@click.option("--experiments", type=str, default="all", show_default=True,
              help="Experiments to keep level (names or ids, comma separated, 'all', or a '.txt' file).")
@click.option("--models", type=str, default="all", show_default=True,
              help="Registered models to keep level (names, 'all', 'prefix*', or a '.txt' file); 'none': none.")
@bool_option("--delete", "Delete from the destination what is gone or deleted in the source (soft delete).")
@opt_check_artifacts
@opt_model_rename_file
@opt_common
def main(src_uri, dst_uri, dst_dir, experiments, models, delete, check_artifacts, model_rename_file, src_mlflow_uri, dst_mlflow_uri,
         src_registry_uri, dst_registry_uri, experiment_rename_file, import_source_tags, use_src_user_id, workers,
         dry_run, report_file):
    """Bring a destination server up to date with a source server, copying only what changed."""
    with command("sync", redact_options(locals()), report_file, dry_run=dry_run) as report:
        if dst_dir:
            if dst_uri or dst_mlflow_uri:
                raise UsageError("give --dst-uri or --dst-dir, not both")
            if not (src_uri or src_mlflow_uri):
                raise UsageError("--src-uri is required")
            engine.sync_to_dir(copy_utils.mk_client(src_uri or src_mlflow_uri, src_registry_uri), dst_dir,
                               experiments, delete, workers, dry_run, report)
            return
        src, dst = clients(src_uri or src_mlflow_uri, dst_uri or dst_mlflow_uri, src_registry_uri,
                           dst_registry_uri, dry_run)
        engine.copy_all(src, dst, experiment_rename_file, model_rename_file, False, import_source_tags,
                        use_src_user_id, workers, dry_run, report, sync=True, delete=delete,
                        check_artifacts=check_artifacts, experiments=experiments, models=models)


if __name__ == "__main__":
    main()
