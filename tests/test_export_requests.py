"""What an export asks of the server, counted by endpoint through the counting proxy of the shared tools
(cproxy.py) in front of the session's source server: metric histories in bulk (one request per metric key for a
batch of runs), no run read again, each artifact folder listed once; and still every metric point exported."""
import json
import os
import subprocess
import sys
import time

import pytest
import requests
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from mlflow_export_import.experiment.export_experiment import export_experiment
from mlflow_export_import.run import metric_history
from tests.conftest import TOOLS_DIR
from tests.fault_proxy import FaultProxy
from tests.servers import free_port

RUNS = 6
KEYS = ("acc", "loss", "lr")
POINTS = 5
BULK = "GET /api/2.0/mlflow/metrics/get-history-bulk-interval"
HISTORY = "GET /api/2.0/mlflow/metrics/get-history"
LISTING = "GET /api/2.0/mlflow-artifacts/artifacts"
DOWNLOAD = "GET /api/2.0/mlflow-artifacts/artifacts/*"
RUN_GET = "GET /api/2.0/mlflow/runs/get"


class CountingProxy:
    """cproxy.py as a subprocess: counts requests by endpoint."""

    def __init__(self, upstream, out_dir):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TOOLS_DIR, "cproxy.py"), "--listen-port", str(self.port),
             "--upstream", upstream, "--out", os.path.join(out_dir, "counts.json")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                self.counts()
                return
            except requests.RequestException:
                if time.time() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError("cproxy.py did not start")
                time.sleep(0.1)

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}"

    def counts(self):
        return requests.get(f"{self.uri}/__proxy/counts", timeout=5).json()

    def reset(self):
        requests.post(f"{self.uri}/__proxy/reset", timeout=5)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def proxy(src_server, tmp_path_factory):
    p = CountingProxy(src_server.uri, str(tmp_path_factory.mktemp("cproxy")))
    yield p
    p.stop()


def _log_run(client, experiment_id, tmp_path, i, points=POINTS, keys=KEYS):
    run = client.create_run(experiment_id, run_name=f"run{i}", start_time=1_700_000_000_000 + i)
    run_id = run.info.run_id
    metrics = [Metric(k, float(n * (j + 1)) + i / 10, 1_700_000_000_000 + n, n) for j, k in enumerate(keys)
               for n in range(points)]
    client.log_batch(run_id, params=[Param("p", str(i))], tags=[RunTag("t", "v")])
    for start in range(0, len(metrics), 1000):  # log-batch takes at most 1000 metrics
        client.log_batch(run_id, metrics=metrics[start:start + 1000])
    folder = tmp_path / f"art{i}"
    (folder / "sub").mkdir(parents=True)
    (folder / "top.txt").write_text(f"top {i}")
    (folder / "sub" / "inner.txt").write_text(f"inner {i}")
    client.log_artifacts(run_id, str(folder))
    client.set_terminated(run_id, end_time=1_700_000_100_000 + i)
    return run_id


@pytest.fixture(scope="module")
def tiny_experiment(src_server, tmp_path_factory):
    """RUNS runs with KEYS x POINTS metric points, a param, a tag, and two artifact files (one in a sub-folder)."""
    client = src_server.client()
    tmp = tmp_path_factory.mktemp("tiny")
    exp_id = client.create_experiment(f"requests_{os.urandom(4).hex()}")
    run_ids = [_log_run(client, exp_id, tmp, i) for i in range(RUNS)]
    return exp_id, run_ids


def _endpoint_counts(proxy):
    return proxy.counts()["by_endpoint"]


def _exported_metrics(out, run_id):
    with open(os.path.join(out, "runs", run_id, "run.json")) as f:
        return json.load(f)["mlflow"]["metrics"]


def _history(client, run_id, key):
    return [(m.value, m.timestamp, m.step) for m in client.get_metric_history(run_id, key)]


def _points(exported):
    return [(p["value"], p["timestamp"], p["step"]) for p in exported]


def test_export_experiment_stays_within_its_request_budget(proxy, tiny_experiment, src_client, tmp_path):
    """Per run: one request per artifact file and per artifact folder, at most one runs/get (the logged-model
    inputs a search result lacks); metric histories: one request per key for the whole batch of runs."""
    exp_id, run_ids = tiny_experiment
    proxy.reset()
    ok, failed = export_experiment(exp_id, str(tmp_path), mlflow_client=MlflowClient(proxy.uri), workers=4)
    counts = _endpoint_counts(proxy)
    assert (ok, failed) == (RUNS, 0)
    assert counts.get(BULK) == len(KEYS)
    assert HISTORY not in counts
    assert counts.get(LISTING) == 2 * RUNS  # the root and 'sub', once each
    assert counts.get(DOWNLOAD) == 2 * RUNS
    assert counts.get(RUN_GET, 0) <= RUNS
    per_run = (sum(counts.values()) - len(KEYS)) / RUNS
    assert per_run <= 5 + 10 / RUNS, counts  # 2 listings + 2 files + 1 runs/get, and a few experiment-wide reads
    for run_id in run_ids:
        exported = _exported_metrics(str(tmp_path), run_id)
        assert sorted(exported) == sorted(KEYS)
        for key in KEYS:
            assert _points(exported[key]) == _history(src_client, run_id, key)
        assert sorted(os.listdir(os.path.join(str(tmp_path), "runs", run_id, "artifacts"))) == ["sub", "top.txt"]


def test_history_longer_than_the_bulk_limit_is_exported_whole(proxy, src_client, uniq, tmp_path):
    """The bulk endpoint samples a history longer than its limit: that history is read alone, whole."""
    exp_id = src_client.create_experiment(f"long_history_{uniq}")
    long_points = metric_history.MAX_POINTS + 100
    long_run = _log_run(src_client, exp_id, tmp_path, 0, points=long_points, keys=("long",))
    short_run = _log_run(src_client, exp_id, tmp_path, 1, points=10, keys=("long",))
    proxy.reset()
    ok, _ = export_experiment(exp_id, str(tmp_path / "out"), mlflow_client=MlflowClient(proxy.uri))
    counts = _endpoint_counts(proxy)
    assert ok == 2
    assert counts.get(BULK) == 1
    assert counts.get(HISTORY) == 1  # the long one only
    exported = _points(_exported_metrics(str(tmp_path / "out"), long_run)["long"])
    assert len(exported) == long_points
    assert exported == _history(src_client, long_run, "long")
    assert _points(_exported_metrics(str(tmp_path / "out"), short_run)["long"]) == \
        _history(src_client, short_run, "long")


def _old_server(path):
    """An MLflow server from before the bulk endpoint: Flask's HTML 404."""
    if "get-history-bulk-interval" in path:
        return 404, {"Content-Type": "text/html"}, b"<!doctype html><title>404 Not Found</title>"
    return None


def test_server_without_bulk_history_is_asked_once_then_per_key(tiny_experiment, src_server, src_client, tmp_path):
    exp_id, run_ids = tiny_experiment
    with FaultProxy(src_server.uri, answer=_old_server) as old:
        client = MlflowClient(old.uri)
        ok, failed = export_experiment(exp_id, str(tmp_path), mlflow_client=client, workers=4)
        assert (ok, failed) == (RUNS, 0)
        assert old.faults == 1  # asked once: the client remembers
    for run_id in run_ids:
        exported = _exported_metrics(str(tmp_path), run_id)
        for key in KEYS:
            assert _points(exported[key]) == _history(src_client, run_id, key)


def test_workspace_without_bulk_history_falls_back_once(dbx, tmp_path, uniq):
    """A workspace that answers the bulk endpoint with Databricks' ENDPOINT_NOT_FOUND is asked once; every history
    then comes from get-history, and the export is whole."""
    from tests.platforms import acting_as, experiment_path
    with acting_as("src-ws") as client:  # set-up only: artifacts logged with the profile's credentials
        exp_id = client.create_experiment(experiment_path(f"no_bulk_{uniq}"))
        run_ids = [_log_run(client, exp_id, tmp_path, i, keys=KEYS[:2]) for i in range(3)]
    ws = dbx.src
    ws.fail_next("/api/2.0/mlflow/metrics/get-history-bulk-interval", 404, "ENDPOINT_NOT_FOUND",
                 "No API found for 'GET /mlflow/metrics/get-history-bulk-interval'")
    ws.clear_requests()
    ok, failed = export_experiment(exp_id, str(tmp_path / "out"), mlflow_client=MlflowClient("databricks://src-ws"),
                                   workers=4)
    assert (ok, failed) == (3, 0)
    paths = [r["path"] for r in ws.requests]
    assert paths.count("/api/2.0/mlflow/metrics/get-history-bulk-interval") == 1
    assert paths.count("/api/2.0/mlflow/metrics/get-history") == 3 * 2
    reader = MlflowClient("databricks://src-ws")
    for run_id in run_ids:
        exported = _exported_metrics(str(tmp_path / "out"), run_id)
        for key in KEYS[:2]:
            assert _points(exported[key]) == _history(reader, run_id, key)
