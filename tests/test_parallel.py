"""The self-tuning pool (common/parallel.py): it grows while a server answers at the same pace, shrinks when
the server answers 429/503 or slows down, keeps nested pools inside one limit, and a command's requests really
are in flight together. Servers are real (the session's mlflow server behind tests/fault_proxy.py)."""
import signal
import threading
import time

import pytest

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import REQUEST_LIMIT_EXCEEDED, RESOURCE_DOES_NOT_EXIST, TEMPORARILY_UNAVAILABLE

from mlflow_export_import.bulk.export_experiments import export_experiments
from mlflow_export_import.common import MlflowExportImportException, parallel
from mlflow_export_import.common.parallel import Tuner, is_overload, map_bounded
from tests.fault_proxy import FaultProxy
from tests.workload import make_run


def _probe_experiment(client, uniq, name):
    return client.create_experiment(f"pool-{name}-{uniq}")


def test_grows_while_the_server_keeps_pace(src_client, src_server, uniq):
    exp_id = _probe_experiment(src_client, uniq, "grow")
    tuner = Tuner(start=2, ceiling=6)
    with FaultProxy(src_server.uri, answer=lambda path: None, latency=0.05) as proxy:
        client = MlflowClient(proxy.uri)
        outcomes = list(map_bounded(lambda i: client.get_experiment(exp_id), range(80), tuner=tuner))
    assert all(ex is None for _, _, ex in outcomes) and len(outcomes) == 80
    assert max(tuner.history) >= 4, tuner.history
    assert proxy.max_in_flight >= 4


def test_429s_that_mlflow_gives_up_on_halve_the_pool_and_fail_only_their_objects(src_client, src_server, uniq,
                                                                                 monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    exp_id = _probe_experiment(src_client, uniq, "429")
    calls = []

    def busy_after_some(path):  # a server that keeps up for a while, then sheds load
        calls.append(path)
        return (429, {}, b"") if len(calls) > 8 else None

    tuner = Tuner(start=8, ceiling=8)
    with FaultProxy(src_server.uri, answer=busy_after_some) as proxy:
        client = MlflowClient(proxy.uri)
        outcomes = list(map_bounded(lambda i: client.get_experiment(exp_id), range(40), tuner=tuner))
    failed = [ex for _, _, ex in outcomes if ex is not None]
    assert len(outcomes) == 40 and len(failed) >= 30 and all(is_overload(ex) for ex in failed)
    assert tuner.limit == 1 and tuner.history == [8, 4, 2, 1], tuner.history  # halved once per limit, not per 429


def test_answers_slowed_by_503_retries_shrink_the_pool(src_client, src_server, uniq, monkeypatch):
    """MLflow's HTTP layer retries a 503 and waits its Retry-After: the error never reaches us, the slowness does."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "3")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    exp_id = _probe_experiment(src_client, uniq, "503")
    seen, lock = [], threading.Lock()

    def unavailable_later(path):  # fast for 16 requests, then every other one is 503 with Retry-After: 1
        with lock:
            seen.append(path)
            n = len(seen)
        return (503, {"Retry-After": "1"}, b"") if n > 16 and n % 2 else None

    tuner = Tuner(start=4, ceiling=4)
    outcomes = []
    with FaultProxy(src_server.uri, answer=unavailable_later, latency=0.05) as proxy:
        client = MlflowClient(proxy.uri)
        for outcome in map_bounded(lambda i: client.get_experiment(exp_id), range(60), tuner=tuner):
            outcomes.append(outcome)
            if tuner.limit < 4:
                break  # shrunk: the rest would only take time
    assert all(ex is None for _, _, ex in outcomes)
    assert tuner.limit < 4 and tuner.history[:2] == [4, 3], tuner.history


def test_nested_pools_share_one_limit():
    tuner = Tuner(start=3, ceiling=3)
    running, peak, lock = [0], [0], threading.Lock()

    def leaf(i):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return i

    def experiment(e):  # opens its own pool for its runs, as export/import of an experiment does
        return sorted(r for _, r, _ in map_bounded(leaf, range(e * 10, e * 10 + 10), workers=3))

    with parallel.session(tuner):
        outcomes = list(map_bounded(experiment, range(4), workers=3))
    assert sorted(r for _, result, _ in outcomes for r in result) == list(range(40))
    assert peak[0] <= 3 and tuner.peak <= 3, peak[0]  # not 3 experiments x 3 runs
    assert tuner.active == 0


def test_coordinators_take_no_slot_so_the_next_one_starts_while_runs_fill_the_slots():
    """Experiments of a copy are coordinators: the next one lists and plans while the runs of the one before hold
    every slot, instead of waiting for them to drain; the runs still share the limit."""
    tuner = Tuner(start=2, ceiling=2)
    lock, running, peak = threading.Lock(), [0], [0]
    started, began, first_runs = {}, {}, threading.Event()

    def run(key):
        with lock:
            started[key] = time.monotonic()
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            if running[0] == 2:
                first_runs.set()
        time.sleep(0.05)
        with lock:
            running[0] -= 1

    def experiment(e):
        began[e] = time.monotonic()
        list(map_bounded(run, [(e, i) for i in range(8)], workers=2))

    def experiments():
        yield 0
        first_runs.wait(5)  # the second comes once the first one's runs hold both slots
        yield 1

    with parallel.session(tuner):
        outcomes = list(map_bounded(experiment, experiments(), workers=2, width=2, coordinators=True))
    assert [ex for _, _, ex in outcomes] == [None, None] and len(started) == 16
    assert began[1] < started[(0, 2)], "the second experiment waited for the first one's runs"
    assert peak[0] <= 2 and tuner.peak <= 2 and tuner.active == 0


def test_at_once_runs_its_thunks_together_or_in_order_when_serial():
    """Two reads that need nothing of each other (a batch's re-reads and its bulk histories) overlap; with
    --workers 1 everything stays in the calling thread, in order; a failure is raised after both ended."""
    both = threading.Barrier(2, timeout=5)
    assert parallel.at_once(lambda: both.wait() is not None and "a", lambda: both.wait() is not None and "b",
                            workers=4) == ["a", "b"]
    order = []
    assert parallel.at_once(lambda: order.append(threading.current_thread().name),
                            lambda: order.append(threading.current_thread().name), workers=1) == [None, None]
    assert order == [threading.current_thread().name] * 2
    ended = []
    with pytest.raises(ValueError, match="bad"):
        parallel.at_once(lambda: (_ for _ in ()).throw(ValueError("bad")),
                         lambda: time.sleep(0.2) or ended.append(1), workers=4)
    assert ended == [1]


def test_many_small_pools_do_not_ratchet_the_limit_up():
    """A run's files are a pool of their own: each pool's first window has nothing to compare with."""
    tuner = Tuner(start=2, ceiling=8)
    with parallel.session(tuner):
        for _ in range(10):
            assert len(list(map_bounded(lambda i: time.sleep(0.001), range(5), workers=2))) == 5
    assert tuner.history == [2], tuner.history


def test_ctrl_c_hands_back_every_started_task_then_stops():
    started, handed_back = [], []

    def task(i):
        started.append(i)
        if i == 1:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)  # Ctrl-C while tasks run
        time.sleep(0.2)
        return i

    # Python's own Ctrl-C handler, whatever a library of an earlier test put in its place (pyspark's cancels its
    # jobs first): the test is about what the pool does with the KeyboardInterrupt
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        for item, _, _ in map_bounded(task, range(20), workers=2):
            handed_back.append(item)
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the interrupt was swallowed")
    finally:
        signal.signal(signal.SIGINT, previous)
    assert sorted(handed_back) == sorted(started) and len(started) < 20


def test_is_overload_in_every_wording():
    assert is_overload(RestException({"error_code": "REQUEST_LIMIT_EXCEEDED", "message": "slow down"}))
    assert is_overload(MlflowException("busy", error_code=TEMPORARILY_UNAVAILABLE))
    assert is_overload(MlflowExportImportException(MlflowException("x", error_code=REQUEST_LIMIT_EXCEEDED), "y"))
    assert is_overload(MlflowException("API request to http://h/api failed with exception HTTPConnectionPool: Max "
                                       "retries exceeded (Caused by ResponseError('too many 503 error responses'))"))
    # an MLflow server on a SQL store whose connection pool ran dry: measured on the medium workload at 32 tasks
    assert is_overload(RestException({"error_code": "BAD_REQUEST", "message": "QueuePool limit of size 5 overflow "
                                      "10 reached, connection timed out, timeout 30.00"}))
    assert not is_overload(MlflowException("no such run", error_code=RESOURCE_DOES_NOT_EXIST))
    assert not is_overload(ValueError("bad json"))


def test_ceiling_and_pinning(monkeypatch):
    monkeypatch.delenv(parallel.MAX_WORKERS_ENV, raising=False)
    assert parallel.get_ceiling(8) == 32 and parallel.get_ceiling(40) == 64 and parallel.get_ceiling(64) == 64
    monkeypatch.setenv(parallel.MAX_WORKERS_ENV, "8")
    assert parallel.get_ceiling(8) == 8


def test_an_export_keeps_requests_in_flight_together_and_within_the_limit(src_client, src_server, uniq, tmp_path):
    names = [f"pool-export-{i}-{uniq}" for i in range(3)]
    for name in names:
        exp_id = src_client.create_experiment(name)
        for i in range(4):
            make_run(src_client, exp_id, f"r{i}", artifacts=False, params=1, metrics=1, steps=1, tags=1)
    tuner = Tuner(start=4, ceiling=4)
    with FaultProxy(src_server.uri, answer=lambda path: None, latency=0.05) as proxy, parallel.session(tuner):
        info = export_experiments(",".join(names), str(tmp_path), mlflow_client=MlflowClient(proxy.uri), workers=4)
    assert info["status"]["ok_runs"] == 12 and not info["failed_experiments"]
    assert info["experiment_names"] == names  # in the order asked for
    assert proxy.max_in_flight >= 4, proxy.max_in_flight  # runs exported together, not one request at a time
    # experiments overlap, but their runs share the 4 slots: only each open experiment's listing of its runs
    # comes on top, never 3 experiments x 4 runs
    assert tuner.peak <= 4 and proxy.max_in_flight <= 4 + parallel.GROUP_WIDTH, proxy.max_in_flight
