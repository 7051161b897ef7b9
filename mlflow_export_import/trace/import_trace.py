"""Import one exported trace with its original span ids, parents, times, attributes, events and statuses, its
info (state, previews, tags, metadata, times) and its assessments, under a new trace id.

Spans go to the tracking store through the OTLP span endpoint when the server has one (MLflow >= 3.4, SQL
store), else to the trace artifact; the info (with the assessments) through StartTraceV3. Both are called
on the destination client's own store. A trace imported earlier (tag `mlflow_exim.import.src_trace_id`)
is not imported again."""
import copy
import json
import os
import uuid

import click
from mlflow.entities import (
    AssessmentError, AssessmentSource, Expectation, Feedback, Span, TraceInfo, TraceLocation, TraceState)
from mlflow.entities.assessment import Assessment
from mlflow.entities.span import _encode_bytes_to_base64, _encode_span_id_to_byte, _encode_trace_id_to_byte
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
from mlflow.tracing.constant import SpansLocation, TraceTagKey
from mlflow.tracing.utils.artifact_utils import get_artifact_uri_for_trace

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.client import uris
from mlflow_export_import.client.scope import scoped_object, side_scope
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.capabilities import is_unsupported
from mlflow_export_import.common.click_options import opt_dry_run, opt_experiment_name, opt_input_dir, opt_report
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ExportFields
from mlflow_export_import.trace.export_trace import KIND, SOURCE_RUN, TRACE_FILE
from mlflow_export_import.trace.plan import (
    SRC_TRACE_ID_TAG, imported_traces, plan_trace, read_trace, record_failure, src_trace_id)

REQUEST_ID_ATTR = "mlflow.traceRequestId"
MODEL_ID_METADATA = "mlflow.modelId"
SERVER_SET_TAGS = (TraceTagKey.SPANS_LOCATION, "mlflow.artifactLocation")

_TRACE_ID_NAMESPACE = uuid.UUID("5b0f9a52-1d8e-4f63-9c1e-6a2f1b7c4d90")  # this tool's, for copy_otel_id
_logger = get_logger(__name__)


def import_trace(input_dir, experiment_name, run_id=None, mlflow_client=None, report=None, id_map=None,
                 run_id_map=None):
    """Import the trace exported in input_dir into experiment_name (created if missing), linked to the
    destination run `run_id`, or to the destination copy of its source run found in `run_id_map`.
    Returns the destination TraceInfo (None if it failed; the reason is in the report)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    try:
        read_trace(input_dir)  # an unreadable export fails before the experiment is created
        experiment_id, _ = set_experiment(client, experiment_name)
        return TraceImporter(client, report, id_map).import_trace(experiment_id, input_dir, run_id_map or {},
                                                                   run_id=run_id)
    except Exception as ex:
        record_failure(client, report, input_dir, ex)
        return None


def set_trace_metadata(request_id, trace_metadata):
    """Add metadata to a trace being written in this process (between its start and its end, as the reference's
    importer does). A finished trace's metadata cannot be changed: MLflow has no API for it."""
    from mlflow.tracing.trace_manager import InMemoryTraceManager
    manager = InMemoryTraceManager.get_instance()
    with manager.get_trace(request_id) as trace:
        if trace is None:
            raise MlflowExportImportException(
                f"Trace '{request_id}' is not being written in this process: the metadata of a finished trace "
                "cannot be changed", http_status_code=400)
    for key, value in trace_metadata.items():
        manager.set_trace_metadata(request_id, key, str(value))


class TraceImporter:
    def __init__(self, client, report=None, id_map=None):
        self.client = client
        self.store = scoped_object(client, client._tracing_client.store)
        self.report = report if report is not None else Report()
        self.id_map = id_map

    def import_trace(self, experiment_id, input_dir, run_id_map, existing=None, run_id=None):
        dct = read_trace(input_dir)
        src_info = dct["info"]
        src_id = src_trace_id(src_info)
        if existing is None:
            existing = imported_traces(self.client, experiment_id)
        if src_id in existing:
            self._remember(src_id, existing[src_id])
            self.report.skipped(KIND, src_id, "already imported")
            return self.store.get_trace_info(existing[src_id])
        otel_id = copy_otel_id(experiment_id, src_id)
        trace_id = f"tr-{otel_id:032x}"
        spans = self._spans(input_dir, dct, src_id, otel_id, trace_id)
        info = self._trace_info(src_info, src_id, trace_id, experiment_id, run_id_map, run_id)
        try:
            dst_info = self._write(experiment_id, info, spans)
        except Exception as ex:
            self._discard(experiment_id, trace_id)
            raise MlflowExportImportException(
                ex, f"Trace '{src_id}' from '{input_dir}' failed to import: {describe_error(ex)}")
        self._remember(src_id, trace_id)
        self.report.copied(KIND)
        return dst_info

    def _spans(self, input_dir, dct, src_id, otel_id, trace_id):
        span_dicts = dct.get(ExportFields.SPANS)
        if span_dicts is None:
            span_dicts = _artifact_spans(input_dir)
        if span_dicts is None:
            span_dicts = _spans_from_summaries(dct.get("data") or [], dct["info"])
            self.report.note(f"trace {src_id}: the export has no span data (reference export of spans kept in "
                             "the tracking store): spans rebuilt from their names and parents only")
        return [_respan(d, otel_id, trace_id) for d in span_dicts]

    def _trace_info(self, src, src_id, trace_id, experiment_id, run_id_map, run_id):
        metadata = dict(src.get("trace_metadata") or src.get("request_metadata") or {})
        dst_run_id = run_id or run_id_map.get(metadata.get(SOURCE_RUN))
        metadata.pop(SOURCE_RUN, None)
        if dst_run_id:
            metadata[SOURCE_RUN] = dst_run_id
        if metadata.get(MODEL_ID_METADATA) and self.id_map is not None:
            dst_model = self.id_map.get(id_maps.LOGGED_MODELS, metadata[MODEL_ID_METADATA])
            if dst_model:
                metadata[MODEL_ID_METADATA] = dst_model
        tags = {k: v for k, v in (src.get("tags") or {}).items() if k not in SERVER_SET_TAGS}
        tags[SRC_TRACE_ID_TAG] = src_id
        return TraceInfo(
            trace_id=trace_id,
            trace_location=TraceLocation.from_experiment_id(experiment_id),
            request_time=int(src.get("request_time") or src.get("timestamp_ms") or 0),
            state=_state(src),
            request_preview=src.get("request_preview"),
            response_preview=src.get("response_preview"),
            client_request_id=src.get("client_request_id"),
            execution_duration=src.get("execution_duration", src.get("execution_time_ms")),
            trace_metadata=metadata,
            tags=tags,
            assessments=[_assessment(a, trace_id, run_id_map) for a in (src.get("assessments") or [])])

    def _write(self, experiment_id, info, spans):
        spans_logged = self._log_spans(experiment_id, spans)
        dst_info = self.store.start_trace(info)
        if not spans_logged or dst_info.tags.get(TraceTagKey.SPANS_LOCATION) != SpansLocation.TRACKING_STORE.value:
            with side_scope(self.client):
                repo = get_artifact_repository(get_artifact_uri_for_trace(dst_info),
                                               tracking_uri=self.client.tracking_uri)
                repo.upload_trace_data(json.dumps({"spans": [s.to_dict() for s in spans]}))
        return dst_info

    def _log_spans(self, experiment_id, spans):
        """False when the server keeps spans in artifacts only (no OTLP endpoint, or a file store). A Databricks
        workspace logs spans that way only for traces kept in Unity Catalog tables: an experiment's traces keep
        their spans in artifacts there."""
        if uris.parse(self.client.tracking_uri).is_databricks:
            return False
        try:
            self.store.log_spans(experiment_id, spans)
            return True
        except Exception as ex:
            if is_unsupported(ex) or "not supported" in describe_error(ex).lower():
                return False
            raise

    def _remember(self, src_id, dst_id):
        if self.id_map is not None:
            self.id_map.put(id_maps.TRACES, src_id, dst_id)

    def _discard(self, experiment_id, trace_id):
        try:
            self.store.delete_traces(experiment_id=experiment_id, trace_ids=[trace_id])
        except Exception as ex:
            _logger.debug(f"Could not delete the half-imported trace '{trace_id}': {describe_error(ex)}")


def copy_otel_id(experiment_id, src_id):
    """The trace id (as an OTel 128-bit id) of the copy of source trace src_id in experiment experiment_id: the
    same for every attempt, so an import stopped between the spans (which create the trace, untagged) and the
    trace's info (which tags it with its source) is completed by the next attempt instead of leaving a twin, and
    two imports at once write one trace."""
    return uuid.uuid5(_TRACE_ID_NAMESPACE, f"{experiment_id}/{src_id}").int


def _respan(span_dict, otel_id, trace_id):
    """The span under the new trace id; span ids, parents, times and everything else unchanged."""
    dct = copy.deepcopy(span_dict)
    dct["trace_id"] = _encode_bytes_to_base64(_encode_trace_id_to_byte(otel_id))
    dct["attributes"] = {**(dct.get("attributes") or {}), REQUEST_ID_ATTR: json.dumps(trace_id)}
    return Span.from_dict(dct)


def _artifact_spans(input_dir):
    """Full spans of a reference export: artifacts/traces.json, only written when the trace artifact existed."""
    path = os.path.join(input_dir, "artifacts", "traces.json")
    if not os.path.exists(path):
        return None
    spans = io_utils.read_file(path).get("spans")
    return spans or None


def _spans_from_summaries(summaries, info):
    if not summaries:
        raise MlflowExportImportException("the export has neither spans nor span summaries", http_status_code=400)
    start_ns = int(info.get("request_time") or info.get("timestamp_ms") or 0) * 1_000_000
    end_ns = start_ns + int(info.get("execution_duration") or info.get("execution_time_ms") or 0) * 1_000_000
    return [{"trace_id": "", "span_id": _b64_span_id(s["span_id"]),
             "parent_span_id": _b64_span_id(s["parent_id"]) if s.get("parent_id") else None,
             "name": s["name"], "start_time_unix_nano": start_ns, "end_time_unix_nano": end_ns,
             "events": [], "status": {"code": "STATUS_CODE_OK", "message": ""}, "attributes": {}, "links": []}
            for s in summaries]


def _b64_span_id(hex_id):
    return _encode_bytes_to_base64(_encode_span_id_to_byte(int(hex_id, 16)))


def _state(src):
    state = src.get("state") or src.get("status") or "OK"
    return TraceState(state) if state in TraceState.__members__ else TraceState.OK


def _assessment(dct, trace_id, run_id_map):
    """An assessment from its export shape (entity attributes, or the proto dictionary), without its id."""
    if "assessment_name" in dct:
        assessment = Assessment.from_dictionary(dct)
    else:
        source = dct.get("source") or {}
        common = dict(name=dct["name"], source=AssessmentSource(source.get("source_type") or "HUMAN",
                                                                 source.get("source_id") or "default"),
                      metadata=dct.get("metadata"), span_id=dct.get("span_id"),
                      create_time_ms=dct.get("create_time_ms"), last_update_time_ms=dct.get("last_update_time_ms"))
        if dct.get("expectation") is not None:
            assessment = Expectation(value=dct["expectation"].get("value"), **common)
        else:
            feedback = dct.get("feedback") or {}
            error = feedback.get("error") or dct.get("error")
            assessment = Feedback(value=feedback.get("value"), rationale=dct.get("rationale"),
                                  error=AssessmentError(**error) if error else None, overrides=dct.get("overrides"),
                                  valid=dct.get("valid", True), **common)
    assessment.run_id = run_id_map.get(dct.get("run_id"))
    assessment.trace_id = trace_id
    assessment.assessment_id = None
    assessment.overrides = None  # the id of a source assessment: ids are assigned anew
    return assessment


def import_traces_dir(client, input_dir, experiment_id, run_id_map, report, id_map=None, workers=None,
                      trace_ids=None, existing=None):
    """Import the traces exported in input_dir/<trace id>/ (all, or trace_ids) into the experiment. existing:
    imported_traces() of the experiment, when the caller has it."""
    if trace_ids is None:
        trace_ids = sorted(d for d in os.listdir(input_dir) if os.path.exists(os.path.join(input_dir, d, TRACE_FILE)))
    try:
        existing = imported_traces(client, experiment_id) if existing is None else existing
    except Exception as ex:
        record_failure(client, report, f"experiment {experiment_id}", ex)
        return
    importer = TraceImporter(client, report, id_map)

    def import_one(trace_id):
        return importer.import_trace(experiment_id, os.path.join(input_dir, trace_id), run_id_map, existing)

    for trace_id, _, ex in map_bounded(import_one, trace_ids, workers):
        if ex is not None:
            record_failure(client, report, trace_id, ex)


@click.command("import-trace")
@opt_input_dir
@opt_experiment_name
@opt_dry_run
@opt_report
def main(input_dir, experiment_name, dry_run, report_file):
    """Import a trace exported by export-trace into an experiment."""
    with command("import-trace", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_trace(mk_client(read_only=True), input_dir, experiment_name, report)
            return
        info = import_trace(input_dir, experiment_name, mlflow_client=mk_client(), report=report)
        if info is not None:
            click.echo(f"Imported trace '{info.trace_id}' into experiment '{experiment_name}'")


if __name__ == "__main__":
    main()
