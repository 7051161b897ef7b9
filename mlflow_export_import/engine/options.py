"""The options of the direct copy commands and sync: two servers, and the selectors, renames and flags of the
matching export and import commands."""
import click

from mlflow_export_import.common import UsageError, cli_utils
from mlflow_export_import.common.click_options import (
    bool_option, opt_dry_run, opt_experiment_rename_file, opt_export_deleted_runs, opt_import_source_tags,
    opt_report, opt_use_src_user_id, opt_workers)
from mlflow_export_import.copy import copy_utils


def opt_servers(f):
    for name, default_help in (("--src-mlflow-uri", "Source tracking server URI."),
                               ("--dst-mlflow-uri", "Destination tracking server URI."),
                               ("--src-registry-uri", "Source model registry URI. Default: the tracking server's."),
                               ("--dst-registry-uri", "Destination model registry URI. Default: the tracking "
                                                      "server's.")):
        f = click.option(name, type=str, default=None, help=default_help)(f)
    return f


def opt_common(f):
    """What every copy command takes besides its selector."""
    for opt in (opt_report, opt_dry_run, opt_workers, opt_use_src_user_id, opt_import_source_tags,
                opt_experiment_rename_file, opt_servers):
        f = opt(f)
    return f


def opt_model_rename_file(f):
    return click.option("--model-rename-file", type=str, default=None,
                        help="File of 'old,new' model name prefixes, one per line.")(f)


def opt_check_artifacts(f):
    return bool_option("--check-artifacts", "Compare the artifact listings of every copied run, not only of runs "
                                            "whose listing changed (one listing per directory and side).")(f)


def clients(src_mlflow_uri, dst_mlflow_uri, src_registry_uri=None, dst_registry_uri=None, dry_run=False):
    """The two sides, checked to answer; the same server on both sides is refused (exit 2). A dry run's
    destination client refuses writes (a write reaching it is a bug)."""
    if not src_mlflow_uri or not dst_mlflow_uri:
        raise UsageError("both --src-mlflow-uri and --dst-mlflow-uri are required")
    if src_mlflow_uri.rstrip("/") == dst_mlflow_uri.rstrip("/") and src_registry_uri == dst_registry_uri:
        raise UsageError(f"source and destination are the same server ({src_mlflow_uri}): nothing to copy")
    dst = cli_utils.mk_client(dst_mlflow_uri, dst_registry_uri, read_only=True) if dry_run else \
        copy_utils.mk_client(dst_mlflow_uri, dst_registry_uri)
    return copy_utils.mk_client(src_mlflow_uri, src_registry_uri), dst


__all__ = ["opt_servers", "opt_common", "opt_export_deleted_runs", "opt_model_rename_file", "opt_check_artifacts",
           "clients"]
