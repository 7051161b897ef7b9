"""One copy at a time into a destination experiment or registered model.

MLflow has no unique key for runs or model versions: two jobs copying the same scope at once (a job started
twice by mistake) would each find no copy and each create one. So a copy holds a lease on each destination
experiment (and on the registry) it writes to. MLflow offers no compare-and-set, only tags that are read and
written whole, so the lease is Lamport's fast mutual exclusion ("A Fast Mutual Exclusion Algorithm", 1987),
which needs nothing more than atomic reads and writes and, unlike a write-wait-read-back claim, stays exact
however long one job stalls between two requests. Its three registers are tags of the object:

- `mlflow_exim.copy.lock` (y): `<owner>|<expiry ms>` of the copy that holds the lease, absent when free;
- `mlflow_exim.copy.lock.last` (x): the owner that began to enter last;
- `mlflow_exim.copy.lock.want.<id>` (b[i]): `<owner>|<expiry ms>` while that copy enters or holds the lease.

The holder renews its stamps while it works and removes its tags when done. A copy that died (a process of
this machine that is gone, or a stamp past its expiry) never writes again, so its tags count as absent: its
lease is taken over at once. A copy that waited finds, when it gets the lease, what the other copied, and
skips it."""
import os
import socket
import threading
import time
import uuid

from mlflow.exceptions import MlflowException

from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.source_tags import ExportTags

LOCK_TAG = f"{ExportTags.PREFIX_ROOT}.copy.lock"
LAST_TAG = f"{LOCK_TAG}.last"
WANT_PREFIX = f"{LOCK_TAG}.want."
LEASE_S = 60.0
WAIT_S = 1.0
# what MLflow's SQL store answers when another request wrote or deleted the same tag row at the same moment
_WRITE_RACES = ("UNIQUE constraint", "Duplicate entry", "were matched")

_logger = get_logger(__name__)
_HOST = socket.gethostname()


def new_owner():
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


REGISTRY_LEASE = ("experiment", "0")


class LeaseCancelled(Exception):
    """A lease given up while waited for (Lease.cancel)."""


def registry_lease(client, owner):
    """The registry, prompts and datasets of an open-source server have no object to hold a lease on their
    own: the lease is held on the experiment every such server has, Default (id 0). A Databricks workspace has
    none: there, no lease is taken (its registry copies are not guarded against a second job)."""
    try:
        client.get_experiment(REGISTRY_LEASE[1])
    except Exception:
        return None
    return Lease(client, *REGISTRY_LEASE, owner)


class BackgroundLease:
    """A lease taken in a thread of its own while the caller goes on (copy-all takes the registry's while it
    copies the experiments); wait() where it is needed. make(): the Lease on (kind, key), or None where none is
    taken."""

    def __init__(self, kind, key, make):
        self.kind, self.key = kind, str(key)
        self.lease, self._error = None, None
        self._thread = threading.Thread(target=self._acquire, args=(make,), daemon=True,
                                        name="mlflow-export-import-lease")
        self._thread.start()

    def _acquire(self, make):
        try:
            self.lease = make()
            if self.lease is not None:
                self.lease.acquire()
        except BaseException as ex:
            self.lease, self._error = None, ex

    def wait(self):
        self._thread.join()
        if self._error is not None:
            raise self._error

    def covers(self, kind, key):
        """Whether the copy holds (or is taking) the lease on that object: it then waits for this one."""
        if (kind, str(key)) != (self.kind, self.key):
            return False
        self._thread.join()
        return self.lease is not None

    def release(self):
        """Give the lease back; one still waited for (a rival holds it: the command stops early, on Ctrl-C or a
        failure) is given up at once instead of waited out."""
        lease = self.lease
        if lease is not None and self._thread.is_alive():
            lease.cancel()
        self._thread.join()
        if self.lease is not None:
            self.lease.release()


class Lease:
    """A lease on one object; `kind` is 'experiment' or 'model'. Use as a context manager."""

    def __init__(self, client, kind, key, owner, lease_s=LEASE_S, restore_deleted=False):
        self.client, self.kind, self.key, self.owner, self.lease_s = client, kind, key, owner, lease_s
        self.want_tag = WANT_PREFIX + owner.rpartition(":")[2]
        # a deleted experiment takes no tag: a copy of a deleted experiment restores it while it works (and
        # deletes it again after), so a second copy that waited finds it deleted and does the same
        self.restore_deleted = restore_deleted
        self._stop = threading.Event()
        self._cancelled = threading.Event()
        self._renewer = None
        self._announced = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()

    def acquire(self):
        if self.restore_deleted:
            self._tags()  # restores it
        try:
            while not self._try_enter():
                self._wait()
        except BaseException:
            self._withdraw()
            raise
        self._renewer = threading.Thread(target=self._renew, daemon=True)
        self._renewer.start()

    def _try_enter(self):
        """One pass of the fast mutual exclusion; True when this copy holds the lease. Without a rival it costs
        five requests; a rival seen makes it step back, wait, and try again."""
        self._set_tag(self.want_tag, self._stamp())                      # b[i] := true
        self._set_tag(LAST_TAG, self.owner)                               # x := i
        if self._live_holder(self._tags()) is not None:                  # y ≠ 0
            self._delete_tag(self.want_tag)
            self._await(lambda tags: self._live_holder(tags) is None)
            return False
        self._set_tag(LOCK_TAG, self._stamp())                            # y := i
        if self._tags().get(LAST_TAG) != self.owner:                      # x ≠ i: a rival began at once
            self._delete_tag(self.want_tag)
            self._await(lambda tags: not self._live_wanters(tags))
            if self._live_holder(self._tags()) != self.owner:           # y ≠ i: the rival has it
                self._await(lambda tags: self._live_holder(tags) is None)
                return False
            self._set_tag(self.want_tag, self._stamp())  # held: b[i] true again, so the stamp is renewed
        return True

    def cancel(self):
        """Stop waiting for the lease (from another thread): acquire() then raises LeaseCancelled, its tags
        taken back."""
        self._cancelled.set()

    def _wait(self):
        if self._cancelled.wait(WAIT_S):
            raise LeaseCancelled(f"{self.kind} '{self.key}': gave up waiting for the lease")

    def _withdraw(self):
        """A copy that fails or gives up while it enters takes back its want tag, and the lock tag when it had
        written it (the slow path writes it before it waits), which would hold the others back until its stamp
        expires."""
        try:
            self._delete_tag(self.want_tag)
            if _owner(self._tags().get(LOCK_TAG)) == self.owner:
                self._delete_tag(LOCK_TAG)
        except Exception:
            pass  # absent, or the server is gone: the stamp expires

    def release(self):
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        try:
            tags = self._tags()
            keys = [LOCK_TAG] if _owner(tags.get(LOCK_TAG)) == self.owner else []  # y := 0
            keys += [key for key, value in tags.items()  # b[i] := false, and the tags of copies that died
                     if key.startswith(WANT_PREFIX) and (key == self.want_tag or not _alive(_parse(value)))]
            if tags.get(LAST_TAG) == self.owner:
                # tidy: a rival that wrote x since reads it as not its own and takes the slow, safe path
                keys.append(LAST_TAG)
            # at once, in any order: while y is ours a rival only waits for y to be free, and one that then takes
            # the slow path waits for every b[j], ours included, to be false
            failures = [ex for _, _, ex in map_bounded(self._delete_tag, keys, workers=max(1, len(keys)))
                        if ex is not None]
            if failures:
                raise failures[0]
        except Exception as ex:  # an expired lease is harmless: the next copy takes it over
            _logger.warning(f"{self.kind} '{self.key}': could not remove the copy's lease tags: {ex}")

    def _await(self, done):
        while True:
            tags = self._tags()
            if done(tags):
                return
            if not self._announced:
                holder = self._live_holder(tags) or ", ".join(sorted(self._live_wanters(tags)))
                _logger.info(f"{self.kind} '{self.key}': another copy ({holder}) is writing to it; waiting")
                self._announced = True
            self._wait()

    def _renew(self):
        while not self._stop.wait(self.lease_s / 3):
            try:
                if self._live_holder(self._tags()) != self.owner:
                    _logger.warning(f"{self.kind} '{self.key}': this copy's lease was taken over (it was seen "
                                    "as dead); copies made from now on may be twinned")
                    return
                self._set_tag(LOCK_TAG, self._stamp())
                self._set_tag(self.want_tag, self._stamp())
            except Exception as ex:
                _logger.warning(f"{self.kind} '{self.key}': could not renew the copy's lease: {ex}")

    def _stamp(self):
        return f"{self.owner}|{int((time.time() + self.lease_s) * 1000)}"

    def _live_holder(self, tags):
        holder = _parse(tags.get(LOCK_TAG))
        return holder[0] if holder and _alive(holder) else None

    def _live_wanters(self, tags):
        wanters = (_parse(v) for k, v in tags.items() if k.startswith(WANT_PREFIX) and k != self.want_tag)
        return {w[0] for w in wanters if w and _alive(w)}

    def _tags(self):
        if self.kind == "experiment":
            exp = self.client.get_experiment(self.key)
            if self.restore_deleted and exp.lifecycle_stage == "deleted":
                self.client.restore_experiment(self.key)
            return exp.tags or {}
        return self.client.get_registered_model(self.key).tags or {}

    def _set_tag(self, key, value):
        try:
            self._write_tag(key, value)
        except MlflowException as ex:
            # a tag set for the first time by two copies at once: MLflow's store inserts it twice and one
            # insert fails on the table's unique key; the row exists now, so the write again is an update. Or
            # a rival's release deleted the row between the store's read of it and its update ('expected to
            # update 1 row(s); 0 were matched', seen with two copy-all at once): the write again inserts it
            if not any(words in str(ex) for words in _WRITE_RACES):
                raise
            self._write_tag(key, value)

    def _write_tag(self, key, value):
        if self.kind == "experiment":
            self.client.set_experiment_tag(self.key, key, value)
        else:
            self.client.set_registered_model_tag(self.key, key, value)

    def _delete_tag(self, key):
        if self.kind == "experiment":
            self.client.delete_experiment_tag(self.key, key)
        else:
            self.client.delete_registered_model_tag(self.key, key)


def _parse(value):
    """(owner, expiry ms) of a `<owner>|<expiry ms>` stamp, or None."""
    if not value or "|" not in value:
        return None
    owner, _, expiry = value.rpartition("|")
    return owner, int(expiry) if expiry.isdigit() else 0


def _owner(value):
    parsed = _parse(value)
    return parsed[0] if parsed else None


def _alive(stamp):
    """Whether the copy that wrote a stamp may still write: not past its expiry, and, when it ran on this
    machine, its process still there (a killed copy's lease is taken over at once)."""
    owner, expiry_ms = stamp
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
