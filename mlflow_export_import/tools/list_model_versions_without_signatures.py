"""List the registered model versions that have no signature (Unity Catalog requires one), checking the versions in
parallel. One request per version on a tracking server (its MLmodel file), plus one per run or logged model that
versions are registered from."""
import threading
from contextlib import nullcontext

import click
import pandas as pd

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error
from mlflow_export_import.common.cli_utils import mk_client
from mlflow_export_import.common.click_options import opt_report, opt_workers
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.tools.click_options import opt_filter, opt_use_get_model_info
from mlflow_export_import.tools.signature_utils import get_model_signature, read_mlmodel, resolve_model_uri
from mlflow_export_import.tools.tools_utils import (
    global_mlflow_uris, is_databricks_registry, iter_model_versions, tool_command)

COLUMNS = ["model", "version", "run_id", "error"]

_logger = get_logger(__name__)


def as_pandas_df(filter, use_get_model_info=False, mlflow_client=None, workers=None, report=None):
    """A DataFrame of the versions matching `filter` (None: all) that have no signature, with columns
    model, version, run_id, error (why the signature could not be read, else ""), sorted by model, then
    newest version first."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report("list-model-versions-without-signatures")
    facts = getattr(report, "facts", {})
    counts = {"checked": 0, "with": 0, "without": 0, "unreadable": 0}
    lock = threading.Lock()
    cache = {}

    def check(vr):
        model_uri = f"models:/{vr.name}/{vr.version}"
        if use_get_model_info:
            return get_model_signature(model_uri, True, mlflow_client=client) is not None
        if is_databricks_registry(client):  # versions keep their own copy of the files: check that one
            location = resolve_model_uri(client, model_uri, cache=cache)
        else:  # a tracking server reads a version's files at its source: no lookup of the version needed
            location = resolve_model_uri(client, vr.source, cache=cache)
            location.model_uri = model_uri
        return read_mlmodel(client, model_uri, location).get("signature") is not None

    rows = []
    scope = global_mlflow_uris(client) if use_get_model_info else nullcontext()
    with scope:
        for vr, has_signature, ex in map_bounded(check, iter_model_versions(client, filter), workers):
            with lock:
                counts["checked"] += 1
                if ex is not None:
                    counts["unreadable"] += 1
                    rows.append({"model": vr.name, "version": str(vr.version), "run_id": vr.run_id or "",
                                 "error": describe_error(ex)})
                elif has_signature:
                    counts["with"] += 1
                else:
                    counts["without"] += 1
                    rows.append({"model": vr.name, "version": str(vr.version), "run_id": vr.run_id or "",
                                 "error": ""})
            if ex is not None:
                report.failed("model_version", f"{vr.name}/{vr.version}", describe_error(ex))
            else:
                report.copied("model_versions")
    facts["model versions checked"] = counts["checked"]
    facts["with a signature"] = counts["with"]
    facts["without a signature"] = counts["without"]
    if counts["unreadable"]:
        facts["signature unreadable"] = counts["unreadable"]
    rows.sort(key=lambda r: (r["model"], -_version_number(r["version"])))
    return pd.DataFrame(rows, columns=COLUMNS)


def _version_number(version):
    try:
        return int(version)
    except (TypeError, ValueError):
        return 0


def show(filter=None, output_file=None, use_get_model_info=False, mlflow_client=None, workers=None, report=None):
    """Print the table of as_pandas_df (and write it as CSV to output_file). Returns the DataFrame."""
    df = as_pandas_df(filter, use_get_model_info, mlflow_client=mlflow_client, workers=workers, report=report)
    if df.empty:
        print("No model versions without a signature")
    else:
        print(df.to_string(index=False))
    if output_file:
        df.to_csv(output_file, index=False)
    return df


@click.command("list-model-versions-without-signatures")
@opt_filter
@click.option("--output-file", type=str, default=None, help="Also write the table to this CSV file.")
@opt_use_get_model_info
@opt_workers
@opt_report
def main(filter, output_file, use_get_model_info, workers, report_file):
    """List the registered model versions that have no signature."""
    with tool_command("list-model-versions-without-signatures", locals(), report_file) as report:
        show(filter, output_file, use_get_model_info, mlflow_client=mk_client(), workers=workers, report=report)
        if output_file:
            report.facts["written to"] = output_file


if __name__ == "__main__":
    main()
