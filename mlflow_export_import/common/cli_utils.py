"""The frame every console script runs in: options logged, servers checked, one clear line per error,
a summary at the end, an optional JSON report, and a non-zero exit when anything failed."""
import os
import sys
from contextlib import contextmanager

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import ReadOnlyClient, check_server, create_mlflow_client
from mlflow_export_import.common import MlflowExportImportException, UsageError, describe_error
from mlflow_export_import.common.logging_utils import configure_logging, get_logger
from mlflow_export_import.common.progress import Progress
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
    client = create_mlflow_client(tracking_uri, registry_uri)
    check_server(client)
    rps = _context_option("max_requests_per_second")
    client = RateLimitedClient(client, rps) if rps else client
    return ReadOnlyClient(client) if read_only else client


@contextmanager
def command(name, options, report_file=None, dry_run=False, retry_failed=None):
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    configure_logging()
    _logger.info("Options:")
    for k, v in options.items():
        _logger.info(f"  {k}: {v}")
    progress = Progress(enabled=False) if _context_option("quiet") else Progress()
    report = Report(name, progress, dry_run=dry_run)
    try:
        if retry_failed:
            if dry_run:
                raise MlflowExportImportException("--dry-run and --retry-failed cannot be combined",
                                                  http_status_code=400)
            report.retry = RetryList.read(retry_failed)
        yield report
    except UsageError as ex:
        progress.close()
        click.echo(f"Error: {ex.message}", err=True)
        sys.exit(2)
    except (MlflowExportImportException, MlflowException, OSError, ValueError, KeyError) as ex:
        report.failed("command", name, describe_error(ex))
    except KeyboardInterrupt:
        report.failed("command", name, "interrupted")
    finally:
        progress.close()
        for line in report.summary_lines():
            click.echo(line)
        if report_file:
            report.write(report_file)
    if report.has_failures:
        for f in report.failures:
            if f["type"] == "command":
                click.echo(f"Error: {f['reason']}", err=True)
        sys.exit(1)
