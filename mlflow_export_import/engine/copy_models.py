"""copy-models: registered models with their versions, and the runs of those versions, straight from one
tracking server into another (no export directory)."""
import click

from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.copy.copy_utils import redact_options
from mlflow_export_import.engine import copy as engine
from mlflow_export_import.engine.options import clients, opt_common, opt_model_rename_file


@click.command("copy-models")
@click.option("--models", type=str, required=True,
              help="Registered model names (comma separated), 'all', 'prefix*', or a '.txt' file with one per line.")
@opt_model_rename_file
@opt_common
def main(models, model_rename_file, src_mlflow_uri, dst_mlflow_uri, src_registry_uri, dst_registry_uri,
         experiment_rename_file, import_source_tags, use_src_user_id, workers, dry_run, report_file):
    """Copy registered models, their versions and the versions' runs from one server to another."""
    with command("copy-models", redact_options(locals()), report_file, dry_run=dry_run) as report:
        src, dst = clients(src_mlflow_uri, dst_mlflow_uri, src_registry_uri, dst_registry_uri, dry_run)
        engine.copy_models(models, src, dst, model_rename_file, experiment_rename_file, True, import_source_tags,
                           use_src_user_id, workers, dry_run, report)


if __name__ == "__main__":
    main()
