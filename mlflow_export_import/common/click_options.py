"""Options shared by the console scripts, named and typed as the reference tool has them.

Boolean options take the reference form (`--use-threads True`) and the bare flag (`--use-threads`).
"""
import os

import click

from mlflow_export_import import help_texts
from mlflow_export_import.cli import print_version


def bool_option(name, help, default=False):
    return click.option(name, type=click.BOOL, default=default, is_flag=False, flag_value=True,
                        show_default=True, help=help)


def _warn_if_not_empty(ctx, param, value):
    """An export into a used directory replaces the files it writes and leaves the others: the user should know
    before old and new exports are mixed."""
    if value and os.path.isdir(value) and os.listdir(value):
        click.echo(f"Warning: --output-dir '{value}' is not empty: files of an earlier export that this one does "
                   "not rewrite stay there (use an empty directory to keep exports apart)", err=True)
    return value


def opt_output_dir(f):
    return click.option("--output-dir", help="Output directory (use an empty one).", type=str, required=True,
                        callback=_warn_if_not_empty)(f)


def opt_input_dir(f):
    return click.option("--input-dir", help="Input directory.", type=str, required=True)(f)


def _check_notebook_formats(ctx, param, value):
    """The formats as a list (the reference hands the raw string on, which is then read letter by letter); an
    unknown format is a usage error before any work."""
    from mlflow_export_import.common import UsageError
    from mlflow_export_import.notebook.notebooks import check_formats
    try:
        return check_formats(value)
    except UsageError as ex:
        raise click.BadParameter(ex.message) from None


def opt_notebook_formats(f):
    return click.option("--notebook-formats", type=str, default="", show_default=True,
                        callback=_check_notebook_formats,
                        help="Databricks notebook formats: SOURCE, HTML, JUPYTER or DBC (comma separated).")(f)


def opt_run_id(f):
    return click.option("--run-id", help="Run ID.", type=str, required=True)(f)


def opt_experiment_name(f):
    return click.option("--experiment-name", help="Destination experiment name.", type=str, required=True)(f)


def opt_experiment(f):
    return click.option("--experiment", help="Experiment name or ID.", type=str, required=True)(f)


def opt_experiments(f):
    return click.option("--experiments", type=str, required=True,
                        help="Experiment names or IDs (comma separated), 'all', 'prefix*', "
                             "or a file ending in '.txt' with one per line.")(f)


def opt_run_ids(f):
    return click.option("--run-ids", type=str, default=None, help="Run IDs to export (comma separated).")(f)


def _check_utc_time(ctx, param, value):
    """A bad time is a usage error (exit 2) found before any work, not a failure of every experiment."""
    if value is not None:
        from mlflow_export_import.common.timestamp_utils import utc_str_to_seconds
        try:
            utc_str_to_seconds(value)
        except ValueError as ex:
            raise click.BadParameter(str(ex)) from None
    return value


def opt_run_start_time(f):
    return click.option("--run-start-time", type=str, default=None, callback=_check_utc_time,
                        help="Only export runs started at or after this UTC time (inclusive). "
                             "Format: YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.")(f)


def opt_until(f):
    return click.option("--runs-until", type=str, default=None, callback=_check_utc_time,
                        help="Only export runs started before this UTC time (exclusive). "
                             "Format: YYYY-MM-DD or YYYY-MM-DD HH:MM:SS.")(f)


opt_runs_until = opt_until


def opt_export_deleted_runs(f):
    return bool_option("--export-deleted-runs", "Export deleted runs.")(f)


def opt_check_nested_runs(f):
    return bool_option("--check-nested-runs", "With --run-ids: also export every descendant of the listed runs.")(f)


def opt_export_permissions(f):
    return bool_option("--export-permissions", "Export Databricks permissions.")(f)


def opt_import_permissions(f):
    return bool_option("--import-permissions", "Import Databricks permissions.")(f)


def opt_import_source_tags(f):
    return bool_option("--import-source-tags",
                       "Write the source object's fields as 'mlflow_exim.*' lineage tags.")(f)


def opt_use_src_user_id(f):
    return bool_option("--use-src-user-id",
                       "Keep the source run's user (default). False: the importing user owns the runs. "
                       "Databricks always takes the user from the access token.", default=True)(f)


def opt_dst_notebook_dir(f):
    return click.option("--dst-notebook-dir", type=str, default=None,
                        help="Databricks workspace folder to upload the run's exported notebook into.")(f)


def opt_use_threads(f):
    return bool_option("--use-threads", "Accepted for compatibility: work is always parallel, sized by --workers.")(f)


def opt_workers(f):
    return click.option("--workers", type=click.IntRange(1, 64), default=None,
                        help="Objects (runs, versions, ...) processed in parallel at the start (default 8); the "
                             "pool then adapts to the server, up to 4x that.")(f)


def opt_experiment_rename_file(f):
    return click.option("--experiment-rename-file", type=str, default=None,
                        help="File of 'old,new' experiment name prefixes, one per line.")(f)


def _store_in_context(ctx, param, value):
    ctx.meta[param.name] = value
    return value


def opt_report(f):
    """The options of every command's frame (cli_utils.command): --report, --quiet, --max-requests-per-second,
    --version; and the end of its --help: an example and the environment variables it reads."""
    f.__doc__ = help_texts.with_footer(f.__doc__, f.__module__)
    if help_texts.takes_version_flag(f.__module__):
        f = click.option("--version", is_flag=True, expose_value=False, is_eager=True,
                         callback=print_version,
                         help="Show the versions of this tool and of MLflow, and exit.")(f)
    f = click.option("--max-requests-per-second", type=click.FloatRange(min=0.1), default=None,
                     expose_value=False, callback=_store_in_context,
                     help="Cap the rate of MLflow API calls to each server (rate-limited servers).")(f)
    f = click.option("--quiet", is_flag=True, default=False, expose_value=False, callback=_store_in_context,
                     help="No live progress display.")(f)
    return click.option("--report", "report_file", type=str, default=None,
                        help="Also write the summary (counts and every failure) to this JSON file.")(f)


def opt_dry_run(f):
    return click.option("--dry-run", is_flag=True, default=False,
                        help="Only list what would be created, skipped as already present, or refused; write "
                             "nothing to the destination.")(f)


def opt_retry_failed(f):
    return click.option("--retry-failed", type=str, default=None, metavar="REPORT",
                        help="The --report file of an earlier run: retry only the objects it lists as failed.")(f)


def opt_tracking_uri(f):
    return click.option("--tracking-uri", type=str, default=None,
                        help="MLflow tracking URI. Default: $MLFLOW_TRACKING_URI.")(f)


def _read_principal_map(ctx, param, value):
    from mlflow_export_import.common import UsageError
    from mlflow_export_import.permissions.mapping import read_principal_map
    try:
        return read_principal_map(value) if value else None
    except UsageError as ex:
        raise click.BadParameter(ex.message) from None


def opt_principal_map(f):
    return click.option("--principal-map", type=str, default=None, callback=_read_principal_map,
                        help="File of 'old,new' user, group or service principal names, one per line: permissions "
                             "of 'old' in the source are granted to 'new' in the destination.")(f)
