"""Full metric histories of many runs in few requests.

MLflow's `metrics/get-history-bulk-interval` answers one metric key for up to 100 runs in one request, but it
samples: a run with more points than `max_results` (at most 2500) gets an even sample of them. Fewer points than
`max_results` means the server had no more, so such a history is whole; a run that reaches the limit (or whose
answer is empty though the run has the key) is read alone with `get-history`, which pages and never samples.
A server without the endpoint (404, ENDPOINT_NOT_FOUND, NOT_IMPLEMENTED) is asked once: its client is marked and
every later history of that client comes from `get-history`. Any other error of a bulk request only sends that
request's runs to `get-history`; the export never fails for the bulk path.
"""
import math

from mlflow.entities import Metric
from mlflow.protos.service_pb2 import GetMetricHistoryBulkInterval
from mlflow.utils.proto_json_utils import message_to_json
from mlflow.utils.rest_utils import call_endpoint

from mlflow_export_import.client import scope
from mlflow_export_import.common import describe_error
from mlflow_export_import.common.capabilities import is_unsupported
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded

BULK_ENDPOINT = "/api/2.0/mlflow/metrics/get-history-bulk-interval"
MAX_RUNS = 100  # the server's MAX_RUNS_GET_METRIC_HISTORY_BULK
MAX_POINTS = 2500  # the server's MAX_RESULTS_PER_RUN: an answer this long may be a sample
# A batch's histories are in memory together: at most this many (run, key) histories of < MAX_POINTS points each.
MAX_RUN_KEYS = 500
# Set on the client's tracking store (shared by every wrapper of the client) once the server lacks the endpoint.
_NO_BULK_ATTR = "_mlflow_export_import_no_bulk_history"

_logger = get_logger(__name__)


def read_metric_histories(client, runs, workers=None):
    """{run_id: {key: [Metric, ...]}} for the metric keys of each run (at most MAX_RUNS runs), in the order of
    `get-history` (timestamp, step, value). A history the bulk answer does not hold whole is left out: the
    caller reads it alone (run_to_dict does)."""
    histories = {run.info.run_id: {} for run in runs}
    runs_by_key = {}
    for run in runs:
        for key in run.data.metrics:
            runs_by_key.setdefault(key, []).append(run.info.run_id)
    keys = sorted(runs_by_key)
    if not keys:
        return histories
    # The first key alone: a server without the endpoint is then found by one request, not one per worker.
    _merge(histories, keys[0], _read_key(client, runs_by_key[keys[0]], keys[0]))
    for key, result, ex in map_bounded(lambda k: _read_key(client, runs_by_key[k], k), keys[1:], workers):
        if ex is None:
            _merge(histories, key, result)
    return histories


def _merge(histories, key, by_run):
    for run_id, points in by_run.items():
        histories[run_id][key] = points


def _read_key(client, run_ids, key):
    """{run_id: [Metric]} for one key from one bulk request. Runs it cannot answer whole are left out: their run's
    export reads them with get-history, one run at a time, so a long history is never held for a whole batch."""
    bulk = _bulk_points(client, run_ids, key) or {}
    return {run_id: sorted(points, key=_order) for run_id, points in bulk.items()
            if run_id in run_ids and 0 < len(points) < MAX_POINTS}


def _order(metric):
    """get-history's order; its SQL store sorts a NaN as the 0 it stores for one."""
    value = 0.0 if math.isnan(metric.value) else metric.value
    return metric.timestamp, metric.step, value


def _bulk_points(client, run_ids, key):
    """{run_id: [Metric]} from one bulk request, or None when the bulk endpoint cannot be used."""
    store = client._tracking_client.store
    if getattr(store, _NO_BULK_ATTR, False) or not hasattr(store, "get_host_creds"):
        return None  # no bulk endpoint, or a local store (sqlite:, file:) where reads are not requests
    request = GetMetricHistoryBulkInterval(run_ids=run_ids, metric_key=key, max_results=MAX_POINTS)
    try:
        with scope.side_scope(client):
            response = call_endpoint(store.get_host_creds(), BULK_ENDPOINT, "GET", message_to_json(request),
                                     GetMetricHistoryBulkInterval.Response())
    except Exception as ex:
        if is_unsupported(ex):
            setattr(store, _NO_BULK_ATTR, True)
            _logger.info(f"No bulk metric history on this server ({describe_error(ex)}): reading each history alone")
        else:
            _logger.warning(f"Bulk metric history of '{key}' failed, reading each history alone: {describe_error(ex)}")
        return None
    points = {}
    for m in response.metrics:
        points.setdefault(m.run_id, []).append(Metric(m.key, m.value, m.timestamp, m.step))
    return points


def history_batches(runs):
    """Lists of runs (or run ids) whose metric histories are read together: MAX_RUNS runs per bulk request, and at
    most MAX_RUN_KEYS histories per batch, so memory does not grow with the experiment."""
    batch, weight = [], 0
    for run in runs:
        run_weight = 1 if isinstance(run, str) else max(1, len(run.data.metrics))
        if batch and (len(batch) >= MAX_RUNS or weight + run_weight > MAX_RUN_KEYS):
            yield batch
            batch, weight = [], 0
        batch.append(run)
        weight += run_weight
    if batch:
        yield batch
