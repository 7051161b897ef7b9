"""The frame every console script runs in: options logged, servers checked, one clear line per error,
a summary at the end, an optional JSON report, and a non-zero exit when anything failed."""
import os
import shutil
import sys
import tempfile
import warnings
from contextlib import contextmanager

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.client import uris
from mlflow_export_import.client.client_utils import (
    ReadOnlyClient, check_server, create_mlflow_client, resolve_tracking_uri, sqlite_path)
from mlflow_export_import.common import MlflowExportImportException, UsageError, describe_error
from mlflow_export_import.common import parallel
from mlflow_export_import.common.logging_utils import configure_logging, get_logger
from mlflow_export_import.common.progress import Progress, attach_to_logger
from mlflow_export_import.common.absent_modules import remember_absent
from mlflow_export_import.common.rate_limit import RateLimitedClient
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.retry_list import RetryList

_logger = get_logger("mlflow_export_import")


def _context_option(name):
    ctx = click.get_current_context(silent=True)
    return ctx.meta.get(name) if ctx else None


def mk_client(tracking_uri=None, registry_uri=None, read_only=False):
    """A client for a console script, checked to answer before any work starts, rate-limited when
    --max-requests-per-second is given, and refusing writes when read_only (--dry-run)."""
    if read_only or _context_option("dry_run"):
        tracking_uri, registry_uri = _no_new_database(tracking_uri, registry_uri)
    client = create_mlflow_client(tracking_uri, registry_uri)
    check_server(client)
    rps = _context_option("max_requests_per_second")
    client = RateLimitedClient(client, rps) if rps else client
    return ReadOnlyClient(client) if read_only else client


def _no_new_database(tracking_uri, registry_uri):
    """MLflow creates a missing SQLite file (and its tables) on first use: a dry run, which writes nothing,
    reads an empty throwaway store instead, removed when the command ends. Other URIs are returned as given."""
    if tracking_uri is None and registry_uri is not None:  # the registry names the server (copy commands)
        uri = uris.tracking_uri_of_registry(registry_uri)
    else:  # MLflow's default store is named once, here, and then passed on
        tracking_uri = uri = resolve_tracking_uri(tracking_uri)
    path = sqlite_path(uri)
    if path is None or os.path.exists(path):
        return tracking_uri, registry_uri
    tmp = tempfile.mkdtemp(prefix="mlflow-dry-run-")
    ctx = click.get_current_context(silent=True)
    if ctx:
        ctx.call_on_close(lambda: shutil.rmtree(tmp, ignore_errors=True))
    _logger.info(f"{uri}: {os.path.abspath(path)} does not exist yet; the dry run plans against an empty store "
                 "and does not create it")
    empty = f"sqlite:///{tmp}/empty.db"
    same_registry = (registry_uri or os.environ.get("MLFLOW_REGISTRY_URI") or uri) == uri
    return empty, empty if same_registry else registry_uri


EXIT_INTERRUPTED = 130  # what a shell reports for a process ended by SIGINT
RERUN_HINT = "Interrupted: what the summary counts is done; re-run the same command to finish."


def quiet_mlflow():
    """MLflow's own output would bury the summary: its artifact download bars, its run URLs, and a
    FutureWarning for every stage it is asked to copy (stages are deprecated; copying them is the job).
    A user who set the variables keeps them."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    warnings.filterwarnings("ignore", message=".*stage", category=FutureWarning)


@contextmanager
def command(name, options, report_file=None, dry_run=False, retry_failed=None):
    quiet_mlflow()
    configure_logging()
    _logger.info("Options:")
    for k, v in options.items():
        _logger.info(f"  {k}: {v}")
    progress = Progress(enabled=False) if _context_option("quiet") else Progress()
    attach_to_logger(progress, _logger)
    ctx = click.get_current_context(silent=True)
    if ctx:
        ctx.meta["dry_run"] = dry_run  # no client of a dry run creates a database
    report = Report(name, progress, dry_run=dry_run)
    usage_error = interrupted = False
    try:
        if retry_failed:
            if dry_run:
                raise UsageError("--dry-run and --retry-failed cannot be combined")
            report.retry = RetryList.read(retry_failed)
        remember_absent()  # MLflow looks for them before every request
        with parallel.session():  # the command's pools share one concurrency limit, learned as they go
            yield report
    except UsageError as ex:  # bad options: nothing was done, so no summary; the error once
        usage_error = True
        progress.close()
        click.echo(f"Error: {ex.message}", err=True)
        sys.exit(2)
    except (MlflowExportImportException, MlflowException, OSError, ValueError, KeyError) as ex:
        report.failed("command", name, describe_error(ex))
    except KeyboardInterrupt:
        interrupted = True
        report.failed("command", name, "interrupted")  # a --retry-failed of this report retries everything
    finally:
        if not usage_error:
            progress.close()
            for line in report.summary_lines():
                click.echo(line)
            if report_file:
                report.write(report_file)
    if interrupted:
        click.echo(RERUN_HINT, err=True)
        sys.exit(EXIT_INTERRUPTED)
    if report.has_failures:
        for f in report.failures:
            if f["type"] == "command":
                click.echo(f"Error: {f['reason']}", err=True)
        sys.exit(1)
