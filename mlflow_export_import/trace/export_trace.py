"""Export one trace: trace.json with the trace info (tags, metadata, previews, assessments), one summary per
span (the reference's `data`) and the full spans (`spans`), wherever the server keeps them (tracking store or
artifacts), so that import never depends on the trace artifact file."""
import enum
import json

import click
from mlflow.entities import Trace, TraceData
from mlflow.exceptions import MlflowNotImplementedException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracing.constant import SpansLocation, TraceTagKey
from mlflow.tracing.utils.artifact_utils import get_artifact_uri_for_trace

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.client.scope import scoped_object, side_scope
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.capabilities import is_unsupported, unsupported_reason
from mlflow_export_import.common.click_options import opt_output_dir, opt_report
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ExportFields

TRACE_FILE = "trace.json"
KIND = "traces"
SOURCE_RUN = "mlflow.sourceRun"
_STORE_LOCATIONS = (SpansLocation.TRACKING_STORE.value, SpansLocation.ARCHIVE_REPO.value)

_logger = get_logger(__name__)


def export_trace(request_id, output_dir, mlflow_client=None, report=None):
    """Export the trace into output_dir. Returns the Trace, or None if it failed."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        return export_trace_entity(client, request_id, output_dir, report)
    except Exception as ex:
        if is_unsupported(ex):
            report.skipped(KIND, request_id, unsupported_reason(client))
        else:
            report.failed(KIND, request_id, f"Trace '{request_id}' failed to export: {describe_error(ex)}")
        return None


def export_trace_entity(client, trace_id, output_dir, report=None, trace_info=None):
    """trace_info: the trace's info when a search returned it already (not asked again)."""
    trace = get_full_trace(client, trace_id, trace_info)
    io_utils.write_export_file(output_dir, TRACE_FILE, __file__, trace_to_dict(trace), tracking_uri=client.tracking_uri)
    if report is not None:
        report.copied(KIND)
    return trace


def get_full_trace(client, trace_id, info=None):
    """The trace with all its spans, read through this client's server only (MLflow's own artifact path
    would resolve `mlflow-artifacts:` URIs against the global tracking URI). info: the trace's info from a
    search, which only says where the spans are: the full info is read with them."""
    store = scoped_object(client, client._tracing_client.store)
    if info is None or info.tags.get(TraceTagKey.SPANS_LOCATION) not in _STORE_LOCATIONS:
        info = store.get_trace_info(trace_id)
    if info.tags.get(TraceTagKey.SPANS_LOCATION) in _STORE_LOCATIONS:
        try:
            return store.get_trace(trace_id)
        except MlflowNotImplementedException:  # servers before GetTrace: the batch endpoint
            return store.batch_get_traces([trace_id])[0]
    with side_scope(client):
        repo = get_artifact_repository(get_artifact_uri_for_trace(info), tracking_uri=client.tracking_uri)
        return Trace(info, TraceData.from_dict(repo.download_trace_data()))


def trace_to_dict(trace):
    info = to_json(trace.info)
    for src, dct in zip(trace.info.assessments or [], info.get("assessments") or []):
        dct["assessment_type"] = type(src).__name__.lower()
    spans = trace.data.spans if trace.data else []
    return {
        "info": info,
        "data": [{"name": s.name, "trace_id": s.trace_id, "span_id": s.span_id, "parent_id": s.parent_id}
                 for s in spans],
        ExportFields.SPANS: [s.to_dict() for s in spans],
    }


def to_json(obj):
    """An MLflow entity as plain JSON: public attribute names, enums as their values."""
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {k: to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if hasattr(obj, "__dict__"):
        return {k.lstrip("_"): to_json(v) for k, v in vars(obj).items()}
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    return json.loads(json.dumps(obj, default=str))


@click.command("export-trace")
@click.option("--request-id", help="Trace ID (request ID).", type=str, required=True)
@opt_output_dir
@opt_report
def main(request_id, output_dir, report_file):
    """Export a trace (info, spans, assessments) to a directory."""
    with command("export-trace", locals(), report_file) as report:
        export_trace(request_id, output_dir, mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
