"""The lease a copy holds on a destination experiment (engine/lock.py): however the jobs that want it at once
are scheduled, and however long one of them stalls between two requests (a loaded machine, a slow network),
at most one holds it at a time; a lease whose job died is taken over; a released lease leaves no tag."""
import itertools
import json
import threading
import time

import pytest

from mlflow import MlflowClient

from mlflow_export_import.engine import lock
from mlflow_export_import.engine.lock import LOCK_TAG, Lease, new_owner
from tests.fault_proxy import FaultProxy


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch):
    """Waiting jobs look again every 0.1 s instead of every second: the same schedules, in less time."""
    monkeypatch.setattr(lock, "WAIT_S", 0.1)


class StallingClient:
    """A real client of the test server whose experiment reads reach the caller late: what a job sees when it
    stalls between reading a tag and acting on it."""

    def __init__(self, client, stalls):
        self._client, self._stalls = client, iter(stalls)

    def __getattr__(self, name):
        return getattr(self._client, name)

    def get_experiment(self, experiment_id):
        exp = self._client.get_experiment(experiment_id)
        time.sleep(next(self._stalls, 0.0))
        return exp


class Holders:
    """Counts the jobs inside the lease; remembers the most seen at once."""

    def __init__(self):
        self.inside, self.most, self.entries = 0, 0, 0
        self._lock = threading.Lock()

    def hold(self, seconds):
        with self._lock:
            self.inside += 1
            self.entries += 1
            self.most = max(self.most, self.inside)
        time.sleep(seconds)
        with self._lock:
            self.inside -= 1


def _job(client, exp_id, holders, start_after, hold_s=0.3):
    time.sleep(start_after)
    with Lease(client, "experiment", exp_id, new_owner()):
        holders.hold(hold_s)


def _run_jobs(jobs):
    errors = []

    def job(*args):
        try:
            _job(*args)
        except Exception as ex:  # noqa: BLE001 - the test reports it
            errors.append(ex)

    threads = [threading.Thread(target=job, args=args) for args in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a job never got the lease"
    assert not errors, errors


def test_a_job_that_stalls_after_reading_the_lease_free_does_not_enter_beside_another(src_client, uniq):
    """The schedule that broke the old claim (write, wait a second, read back): job A reads the lease free
    and stalls 1.5 s before acting; job B, started just after, reads it free too and takes it. A must wait."""
    exp_id = src_client.create_experiment(f"lease-stall-{uniq}")
    holders = Holders()
    stalled = StallingClient(src_client, [1.5])
    _run_jobs([(stalled, exp_id, holders, 0.0, 2.0), (src_client, exp_id, holders, 0.1, 2.0)])
    assert holders.entries == 2 and holders.most == 1


def test_many_jobs_with_random_stalls_hold_it_one_at_a_time(src_client, uniq):
    exp_id = src_client.create_experiment(f"lease-many-{uniq}")
    holders = Holders()
    stalls = itertools.cycle([0.0, 0.4, 0.05, 0.9, 0.0, 0.2])
    jobs = [(StallingClient(src_client, [next(stalls) for _ in range(20)]), exp_id, holders, i * 0.03, 0.2)
            for i in range(5)]
    _run_jobs(jobs)
    assert holders.entries == 5 and holders.most == 1
    assert not any(k.startswith(LOCK_TAG) for k in src_client.get_experiment(exp_id).tags)


def test_the_lease_of_a_job_that_died_is_taken_over_at_once(src_client, uniq):
    """A lease stamped by a process that is gone (pid 2**22 + 1 is past Linux's pid limit) is not waited out."""
    exp_id = src_client.create_experiment(f"lease-dead-{uniq}")
    dead = f"{new_owner().split(':')[0]}:{2 ** 22 + 1}:deadbeef"
    far = int((time.time() + 3600) * 1000)
    src_client.set_experiment_tag(exp_id, LOCK_TAG, f"{dead}|{far}")
    src_client.set_experiment_tag(exp_id, f"{LOCK_TAG}.want.deadbeef", f"{dead}|{far}")
    started = time.monotonic()
    with Lease(src_client, "experiment", exp_id, new_owner()):
        waited = time.monotonic() - started
    assert waited < 5, waited
    assert not any(k.startswith(LOCK_TAG) for k in src_client.get_experiment(exp_id).tags)


def test_a_tag_write_that_races_a_rivals_delete_is_written_again(src_client, src_server, uniq):
    """MLflow's SQL store updates a tag row it read a moment before. When a rival's release deleted the row in
    between, the server answers BAD_REQUEST (seen with two copy-all started at once): the row is gone, and the
    write again inserts it. Here the proxy gives that answer, word for word, to the first tag write."""
    exp_id = src_client.create_experiment(f"lease-write-race-{uniq}")
    answered = []

    def answer(path):
        if "set-experiment-tag" in path and not answered:
            answered.append(path)
            body = {"error_code": "BAD_REQUEST", "message": "UPDATE statement on table 'experiment_tags' expected "
                                                            "to update 1 row(s); 0 were matched."}
            return 400, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return None

    with FaultProxy(src_server.uri, answer=answer) as proxy:
        with Lease(MlflowClient(proxy.uri), "experiment", exp_id, new_owner()):
            held = src_client.get_experiment(exp_id).tags.get(LOCK_TAG)
    assert answered and held
    assert not [k for k in src_client.get_experiment(exp_id).tags if k.startswith(LOCK_TAG)]


def test_a_lease_waited_for_in_the_background_is_given_up_at_once_when_the_copy_stops(src_client, uniq):
    """copy-all takes the registry's lease in the background. When the command stops while a rival holds it
    (Ctrl-C, a failure), the wait ends at once and leaves no tag of its own, instead of lasting the rival's copy."""
    exp_id = src_client.create_experiment(f"lease-given-up-{uniq}")
    with Lease(src_client, "experiment", exp_id, new_owner()) as rival:
        waiting = lock.BackgroundLease("experiment", exp_id,
                                       lambda: Lease(src_client, "experiment", exp_id, new_owner()))
        time.sleep(2 * lock.WAIT_S)
        started = time.monotonic()
        waiting.release()
        assert time.monotonic() - started < 2 * lock.WAIT_S
        with pytest.raises(lock.LeaseCancelled):
            waiting.wait()
        tags = src_client.get_experiment(exp_id).tags
        assert [k for k in tags if k.startswith(lock.WANT_PREFIX)] == [rival.want_tag]
