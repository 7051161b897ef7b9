"""Copies through a proxy that answers 10% of requests with 429 or 503 (some with Retry-After) complete exactly;
Retry-After is waited for; a server that keeps failing is given up after a bounded time, with a clear message."""
import time

from click.testing import CliRunner
from mlflow import MlflowClient

from mlflow_export_import.bulk.export_experiments import export_experiments
from mlflow_export_import.bulk import import_experiments as ie
from mlflow_export_import.bulk.import_experiments import import_experiments
from mlflow_export_import.common.report import Report
from tests.fault_proxy import FaultProxy
from tests.workload import assert_same_run, make_experiment, runs_by_name


def test_copy_through_faulty_proxies_is_exact(src_server, dst_server, uniq, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "8")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    src_client, dst_client = src_server.client(), dst_server.client()
    name = f"faulty-{uniq}"
    make_experiment(src_client, name, runs=4)
    report = Report()
    with FaultProxy(src_server.uri, seed=1) as src_proxy, FaultProxy(dst_server.uri, seed=2) as dst_proxy:
        export_experiments(name, str(tmp_path), export_deleted_runs=True,
                           mlflow_client=MlflowClient(src_proxy.uri), report=report)
        import_experiments(str(tmp_path), mlflow_client=MlflowClient(dst_proxy.uri), report=report)
        assert src_proxy.faults > 0 and dst_proxy.faults > 0

    assert not report.failures
    src_runs = runs_by_name(src_client, src_client.get_experiment_by_name(name).experiment_id)
    dst_runs = runs_by_name(dst_client, dst_client.get_experiment_by_name(name).experiment_id)
    assert set(src_runs) == set(dst_runs)
    assert len(dst_client.search_runs([dst_client.get_experiment_by_name(name).experiment_id],
                                      run_view_type=3)) == len(src_runs)
    for run_name, src_run in src_runs.items():
        assert_same_run(src_client, src_run, dst_client, dst_runs[run_name])


def test_retry_after_is_honoured(src_server, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")  # any wait comes from Retry-After alone
    answered = []

    def busy_once(path):
        if "experiments/search" in path and not answered:
            answered.append(path)
            return 429, {"Retry-After": "3"}, b""
        return None

    with FaultProxy(src_server.uri, answer=busy_once) as proxy:
        start = time.time()
        experiments = MlflowClient(proxy.uri).search_experiments(max_results=1)
        elapsed = time.time() - start

    assert answered and experiments
    assert elapsed >= 3, elapsed


def test_a_server_that_keeps_failing_is_given_up_with_a_clear_message(src_server, dst_server, uniq, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    src_client, dst_client = src_server.client(), dst_server.client()
    name = f"gives-up-{uniq}"
    make_experiment(src_client, name, runs=2, nested=False, deleted=0, failed=0)
    export_experiments(name, str(tmp_path), mlflow_client=src_client)

    def unavailable_writes(path):
        return (503, {}, b"") if "runs/log-batch" in path else None

    with FaultProxy(dst_server.uri, answer=unavailable_writes) as proxy:
        start = time.time()
        res = CliRunner().invoke(ie.main, ["--input-dir", str(tmp_path)], env={"MLFLOW_TRACKING_URI": proxy.uri})
        elapsed = time.time() - start

    assert res.exit_code == 1 and "Traceback" not in res.output
    failed_lines = [line for line in res.output.splitlines() if line.startswith("  FAILED runs ")]
    assert len(failed_lines) == 2 and all("503" in line for line in failed_lines), res.output
    assert elapsed < 60, elapsed
    exp = dst_client.get_experiment_by_name(name)
    assert not [r for r in dst_client.search_runs([exp.experiment_id]) if r.info.status == "FINISHED"]
