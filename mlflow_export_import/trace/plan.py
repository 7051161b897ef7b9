"""What an import does with an exported trace, decided before anything is written: the export read, the copy an
earlier import made found by its lineage tag, and the decision. import-trace(s), the experiment importers and
their --dry-run take it from here; this module imports no importer."""
import os

from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common import capabilities
from mlflow_export_import.common.capabilities import earlier_imports, unsupported_reason
from mlflow_export_import.common.source_tags import ExportTags
from mlflow_export_import.trace.export_trace import KIND, TRACE_FILE

SRC_TRACE_ID_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_trace_id"


def record_failure(client, report, obj_id, ex):
    capabilities.record_failure(report, KIND, obj_id, ex, unsupported_reason(client),
                                f"Trace '{obj_id}' failed to import")


def read_trace(input_dir):
    path = os.path.join(input_dir, TRACE_FILE)
    dct = io_utils.read_file_mlflow(path)
    info = dct.get("info")
    if not isinstance(info, dict) or not (info.get("trace_id") or info.get("request_id")):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no trace info", http_status_code=400)
    return dct


def src_trace_id(info):
    """The source id of an exported trace (its info): trace_id, request_id in exports of MLflow 2. An import
    skips the trace when imported_traces has it."""
    return info.get("trace_id") or info.get("request_id")


def imported_traces(client, experiment_id):
    """{source trace id: destination trace id} of the traces earlier imports made in this experiment."""
    found, token = {}, None
    while True:
        page = client.search_traces(locations=[experiment_id], page_token=token, max_results=500,
                                    filter_string=f"tag.`{SRC_TRACE_ID_TAG}` LIKE '%'", include_spans=False)
        for trace in page:
            found[trace.info.tags[SRC_TRACE_ID_TAG]] = trace.info.trace_id
        token = page.token
        if not token:
            return found


def plan_traces_dir(client, input_dir, experiment_id, experiment_name, report, trace_ids=None):
    if trace_ids is None:
        trace_ids = sorted(d for d in os.listdir(input_dir) if os.path.exists(os.path.join(input_dir, d, TRACE_FILE)))
    try:
        existing = earlier_imports(imported_traces, client, experiment_id)
    except Exception as ex:
        record_failure(client, report, f"experiment {experiment_id}", ex)
        return
    for trace_id in trace_ids:
        try:
            info = read_trace(os.path.join(input_dir, trace_id))["info"]
        except Exception as ex:
            record_failure(client, report, trace_id, ex)
            continue
        src_id = src_trace_id(info)
        if src_id in existing:
            report.skipped(KIND, src_id, "already imported")
        else:
            report.would(KIND, src_id, f"create trace {src_id} in experiment '{experiment_name}'")


def plan_trace(client, input_dir, experiment_name, report):
    parent, name = os.path.split(os.path.normpath(input_dir))
    exp = client.get_experiment_by_name(experiment_name)
    plan_traces_dir(client, parent, exp.experiment_id if exp else None, experiment_name, report, [name])
