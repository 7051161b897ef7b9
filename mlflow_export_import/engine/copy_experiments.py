"""copy-experiments: experiments, with their runs, logged models and traces, straight from one tracking server
into another (no export directory)."""
import click

from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.common.click_options import opt_run_start_time, opt_until
from mlflow_export_import.copy.copy_utils import redact_options
from mlflow_export_import.engine import copy as engine
from mlflow_export_import.engine.options import clients, opt_common, opt_export_deleted_runs


@click.command("copy-experiments")
@click.option("--experiments", type=str, default="all", show_default=True,
              help="Experiment names or ids (comma separated), 'all', or a '.txt' file with one per line.")
@opt_run_start_time
@opt_until
@opt_export_deleted_runs
@opt_common
def main(experiments, run_start_time, runs_until, export_deleted_runs, src_mlflow_uri, dst_mlflow_uri,
         src_registry_uri, dst_registry_uri, experiment_rename_file, import_source_tags, use_src_user_id, workers,
         dry_run, report_file):
    """Copy experiments and their runs from one tracking server to another, without an export directory."""
    with command("copy-experiments", redact_options(locals()), report_file, dry_run=dry_run) as report:
        src, dst = clients(src_mlflow_uri, dst_mlflow_uri, src_registry_uri, dst_registry_uri, dry_run)
        engine.copy_experiments(experiments, src, dst, experiment_rename_file, export_deleted_runs, run_start_time,
                                runs_until, import_source_tags, use_src_user_id, workers, dry_run, report)


if __name__ == "__main__":
    main()
