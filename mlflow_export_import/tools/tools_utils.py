"""Helpers shared by the tools: model version search, a scope for MLflow's global URIs, and the command frame
with a summary of what a tool found (rather than what it copied)."""
import json
import types
from contextlib import contextmanager


from mlflow_export_import.client import scope, uris
from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.common.iterators import SearchModelVersionsIterator, SearchRegisteredModelsIterator
from mlflow_export_import.common.model_utils import quote


registry_uri_of = uris.registry_uri_of


def is_databricks_registry(client):
    """A Databricks workspace registry or Unity Catalog: versions keep their own copy of the model files."""
    return str(registry_uri_of(client)).startswith("databricks")


def is_unity_catalog_registry(client):
    return str(registry_uri_of(client)).startswith("databricks-uc")


def iter_model_versions(client, filter=None):
    """Model versions matching `filter`, one page at a time. On a tracking server the filter is a
    search_model_versions filter; on Databricks (where versions can only be searched by model name) it is a
    search_registered_models filter, and every version of each model found is returned."""
    if is_databricks_registry(client):
        for model in SearchRegisteredModelsIterator(client, filter=filter):
            yield from SearchModelVersionsIterator(client, filter=f"name='{quote(model.name)}'")
    else:
        yield from SearchModelVersionsIterator(client, filter=filter)


def search_model_versions(client, filter):
    """Reference API: the list of model versions matching `filter` (see iter_model_versions)."""
    return list(iter_model_versions(client, filter))


def global_mlflow_uris(client):
    """MLflow's global tracking and registry URIs (and their environment variables) set to the client's for the
    duration of the block, then restored: for the few MLflow functions that take no client. One lock with every
    other platform setting (client/scope.py)."""
    return scope.global_uris_scope(client)


@contextmanager
def tool_command(name, options, report_file=None):
    """cli_utils.command, with a summary of findings: `report.facts` (an ordered dict of label -> value)
    replaces the copied/skipped/failed counts; skips, failures and notes are listed as usual."""
    with command(name, options, report_file) as report:
        report.facts = {}
        report.summary_lines = types.MethodType(_summary_lines, report)
        base_to_dict = report.to_dict
        report.to_dict = lambda: {**base_to_dict(), "facts": json.loads(json.dumps(report.facts, default=str))}
        yield report


def _summary_lines(report):
    lines = [f"Summary of {report.command}:"]
    width = max([len(k) for k in report.facts] + [20]) + 1
    lines.extend(f"  {k + ':':{width}s} {v}" for k, v in report.facts.items())
    lines.extend(f"  skipped {s['type']} {s['id']}: {s['reason']}" for s in report.skips[:50])
    if len(report.skips) > 50:
        lines.append(f"  ... and {len(report.skips) - 50} more skipped (see --report)")
    for f in report.failures:
        if f["type"] != "command":  # said once, by the console frame's "Error:" line
            lines.append(f"  FAILED {f['type']} {f['id']}: {f['reason']}")
    lines.extend(f"  note: {n}" for n in report.notes)
    return lines
