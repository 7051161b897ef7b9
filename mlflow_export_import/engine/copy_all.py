"""copy-all: a whole tracking server into another, straight (no export directory)."""
import click

from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.copy.copy_utils import redact_options
from mlflow_export_import.engine import copy as engine
from mlflow_export_import.engine.options import (
    clients, opt_common, opt_export_deleted_runs, opt_model_rename_file)


@click.command("copy-all")
@opt_export_deleted_runs
@opt_model_rename_file
@opt_common
def main(export_deleted_runs, model_rename_file, src_mlflow_uri, dst_mlflow_uri, src_registry_uri, dst_registry_uri,
         experiment_rename_file, import_source_tags, use_src_user_id, workers, dry_run, report_file):
    """Copy every experiment, registered model, prompt and evaluation dataset from one server to another."""
    with command("copy-all", redact_options(locals()), report_file, dry_run=dry_run) as report:
        src, dst = clients(src_mlflow_uri, dst_mlflow_uri, src_registry_uri, dst_registry_uri, dry_run)
        engine.copy_all(src, dst, experiment_rename_file, model_rename_file, export_deleted_runs, import_source_tags,
                        use_src_user_id, workers, dry_run, report)


if __name__ == "__main__":
    main()
