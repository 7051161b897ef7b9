"""One copy at a time into a destination experiment or registered model.

MLflow has no unique key for runs or model versions: two jobs copying the same scope at once (a job started
twice by mistake) would each find no copy and each create one. So a copy holds a lease on each destination
experiment (and registered model) it writes to, kept in a tag of it: `mlflow_exim.copy.lock` =
`<owner>|<expiry ms>`. MLflow offers no compare-and-set, so a job writes its claim, waits a settle time
longer than its own read-to-write delay, and reads it back: of two jobs that claimed at once, only the one
written last reads its own claim, and the other waits. The holder renews the lease while it works and removes
the tag when done; a lease whose holder died (a process of this machine that is gone, or an expired lease)
is taken over. A job that waits finds, when it gets the lease, what the other copied, and skips it."""
import os
import socket
import threading
import time
import uuid

from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.source_tags import ExportTags

LOCK_TAG = f"{ExportTags.PREFIX_ROOT}.copy.lock"
LEASE_S = 60.0
MIN_SETTLE_S = 1.0
WAIT_S = 1.0

_logger = get_logger(__name__)
_HOST = socket.gethostname()


def new_owner():
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def registry_lease(client, owner):
    """The registry, prompts and datasets of an open-source server have no object to hold a lease on their
    own: the lease is held on the experiment every such server has, Default (id 0). A Databricks workspace has
    none: there, no lease is taken (its registry copies are not guarded against a second job)."""
    try:
        client.get_experiment("0")
    except Exception:
        return None
    return Lease(client, "experiment", "0", owner)


class Lease:
    """A lease on one object; `kind` is 'experiment' or 'model'. Use as a context manager."""

    def __init__(self, client, kind, key, owner, lease_s=LEASE_S, restore_deleted=False):
        self.client, self.kind, self.key, self.owner, self.lease_s = client, kind, key, owner, lease_s
        # a deleted experiment takes no tag: a copy of a deleted experiment restores it while it works (and
        # deletes it again after), so a second copy that waited finds it deleted and does the same
        self.restore_deleted = restore_deleted
        self._stop = threading.Event()
        self._renewer = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self):
        announced = False
        while True:
            holder = self._holder()
            if holder is None or holder[0] == self.owner or not self._alive(holder):
                if self._claim():
                    break
            elif not announced:
                _logger.info(f"{self.kind} '{self.key}': another copy ({holder[0]}) is writing to it; waiting")
                announced = True
            time.sleep(WAIT_S)
        self._renewer = threading.Thread(target=self._renew, daemon=True)
        self._renewer.start()

    def release(self):
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            holder = self._holder()
            if holder and holder[0] == self.owner:
                self._delete_tag()
        except Exception as ex:  # an expired lease is harmless: the next copy takes it over
            _logger.warning(f"{self.kind} '{self.key}': could not remove the copy's lease tag: {ex}")

    def _claim(self):
        start = time.monotonic()
        self._set_tag(f"{self.owner}|{int((time.time() + self.lease_s) * 1000)}")
        # a rival that read 'free' before our write writes within its own read-to-write delay, which is of
        # the order of ours: wait several times that before reading back who was written last
        time.sleep(max(MIN_SETTLE_S, 3 * (time.monotonic() - start)))
        holder = self._holder()
        return holder is not None and holder[0] == self.owner

    def _renew(self):
        while not self._stop.wait(self.lease_s / 3):
            try:
                self._set_tag(f"{self.owner}|{int((time.time() + self.lease_s) * 1000)}")
            except Exception as ex:
                _logger.warning(f"{self.kind} '{self.key}': could not renew the copy's lease: {ex}")

    def _alive(self, holder):
        owner, expiry_ms = holder
        if expiry_ms < time.time() * 1000:
            return False
        host, _, rest = owner.partition(":")
        pid = rest.split(":")[0]
        if host == _HOST and pid.isdigit():
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                return False  # its process is gone: killed or crashed
            except PermissionError:
                return True
        return True

    def _holder(self):
        tags = self._tags()
        value = tags.get(LOCK_TAG)
        if not value or "|" not in value:
            return None
        owner, _, expiry = value.rpartition("|")
        return owner, int(expiry) if expiry.isdigit() else 0

    def _tags(self):
        if self.kind == "experiment":
            exp = self.client.get_experiment(self.key)
            if self.restore_deleted and exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(self.key)
            return exp.tags or {}
        return self.client.get_registered_model(self.key).tags or {}

    def _set_tag(self, value):
        if self.kind == "experiment":
            self.client.set_experiment_tag(self.key, LOCK_TAG, value)
        else:
            self.client.set_registered_model_tag(self.key, LOCK_TAG, value)

    def _delete_tag(self):
        if self.kind == "experiment":
            self.client.delete_experiment_tag(self.key, LOCK_TAG)
        else:
            self.client.delete_registered_model_tag(self.key, LOCK_TAG)
