"""Process-wide settings that platform libraries read instead of the client in use, scoped per side.

Two libraries ignore the URI of the MlflowClient they serve:
- MLflow's Databricks artifact repositories build a bare `WorkspaceClient()`, which takes its credentials
  from $DATABRICKS_CONFIG_PROFILE (or DEFAULT), not from the profile of `databricks://PROFILE`; and for
  `databricks` (no profile) MLflow's REST calls read that variable too;
- the sagemaker-mlflow plugin signs requests for the region of, and sends the ARN header of, MLflow's
  *global* tracking URI.
So every call of a Databricks or SageMaker side runs inside that side's *scope*: the variable or global
URI set for the side, and put back when the last call of the side ends. Calls of one side run in
parallel; a call of a side that needs other settings waits until the settings are free (first come,
first served), so a workspace-to-workspace or ARN-to-ARN copy in one process sends every request with
its own side's credentials. Nothing is left changed after a command."""
import os
import threading
from collections import deque
from contextlib import contextmanager, nullcontext

from mlflow_export_import.client import uris

PROFILE_ENV = "DATABRICKS_CONFIG_PROFILE"
_UNSET = "<unset>"


class _SettingsLock:
    """Phase-fair: the settings of one key are in force for a phase; every call waiting with a compatible key
    is let in together when the phase starts, and later calls of that key join while no call of another key
    waits. So calls of one side run in parallel, and the sides take turns without starving each other. A thread
    already inside a key may enter a compatible one again."""

    def __init__(self):
        self._cond = threading.Condition()
        self._current = None
        self._holders = 0
        self._queue = deque()
        self._granted = set()
        self._saved = None
        self._local = threading.local()

    @contextmanager
    def hold(self, key):
        held = getattr(self._local, "held", None)
        if held is not None:
            if not _compatible(held, key):
                raise RuntimeError(f"a call for {key} inside a call for {held}: the two sides' settings conflict")
            yield
            return
        self._acquire(key)
        self._local.held = key
        try:
            yield
        finally:
            self._local.held = None
            self._release()

    def _acquire(self, key):
        ticket = object()
        with self._cond:
            self._queue.append((ticket, key))
            while ticket not in self._granted:
                if self._holders == 0:
                    self._start_phase()
                elif _compatible(self._current, key) and \
                        all(_compatible(self._current, k) for _, k in self._queue):
                    self._grant(ticket)
                else:
                    self._cond.wait()
            self._granted.remove(ticket)

    def _start_phase(self):
        """The oldest waiter's settings come into force; every waiter they suit is let in."""
        self._current = self._queue[0][1]
        self._saved = _apply(self._current)
        for ticket, key in list(self._queue):
            if _compatible(self._current, key):
                self._grant(ticket)
        self._cond.notify_all()

    def _grant(self, ticket):
        for entry in self._queue:
            if entry[0] is ticket:
                self._queue.remove(entry)
                break
        self._granted.add(ticket)
        self._holders += 1

    def _release(self):
        with self._cond:
            self._holders -= 1
            if self._holders == 0:
                _restore(self._saved)
                self._current = self._saved = None
            self._cond.notify_all()


def _compatible(held, wanted):
    """A key asks for (Databricks profile, global tracking URI, global registry URI); None: no wish."""
    return all(w is None or w == h for h, w in zip(held, wanted))


_LOCK = _SettingsLock()


def _apply(key):
    """Set what the key names; return what to put back."""
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils
    profile, tracking_uri, registry_uri = key
    saved = {"env": {name: os.environ.get(name) for name in (PROFILE_ENV, "MLFLOW_TRACKING_URI",
                                                               "MLFLOW_REGISTRY_URI")},
             "tracking_uri": tracking_utils._tracking_uri, "registry_uri": registry_utils._registry_uri}
    if profile is not None:
        if profile == _UNSET:
            os.environ.pop(PROFILE_ENV, None)
        else:
            os.environ[PROFILE_ENV] = profile
    if tracking_uri is not None:
        tracking_utils.set_tracking_uri(tracking_uri)
    if registry_uri is not None:
        registry_utils.set_registry_uri(registry_uri)
    return saved


def _restore(saved):
    if saved is None:
        return
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils
    if tracking_utils._tracking_uri != saved["tracking_uri"]:
        tracking_utils.set_tracking_uri(saved["tracking_uri"])
    registry_utils._registry_uri = saved["registry_uri"]
    for name, value in saved["env"].items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def scope_key(tracking_uri, registry_uri=None):
    """The settings a side needs, or None when it needs none (plain MLflow servers, local stores)."""
    for uri in (tracking_uri, registry_uri):
        if not uri:
            continue
        try:
            target = uris.parse(uri)
        except Exception:
            continue
        if target.kind == uris.SAGEMAKER:
            return (None, target.uri, None)
        if target.is_databricks:
            return (_profile_setting(target), None, None)
        if target.kind == uris.UC_OSS and tracking_uri:
            # MLflow's open-source UC store downloads a version's source through the global tracking URI
            return (None, tracking_uri, None)
    return None


def _profile_setting(target):
    if target.profile is not None and ":" not in target.profile:
        return target.profile
    return os.environ.get(PROFILE_ENV) or _UNSET


def global_uris_scope(client):
    """MLflow's global tracking and registry URIs (and their environment variables) set to the client's for
    the block, with the side's other settings: for the few MLflow functions that take no client."""
    tracking_uri = client.tracking_uri
    registry_uri = uris.registry_uri_of(client)
    side = scope_key(tracking_uri, registry_uri)
    return _LOCK.hold((side[0] if side else None, tracking_uri, registry_uri))


def side_scope(client):
    """A context in which MLflow's platform code acts for this client's side. Works on any client wrapper
    that exposes `tracking_uri` and `_registry_uri`."""
    key = scope_key(getattr(client, "tracking_uri", None), getattr(client, "_registry_uri", None))
    return _LOCK.hold(key) if key is not None else nullcontext()


class ScopedClient:
    """An MlflowClient whose every method call runs in its side's scope. Attributes pass through."""

    def __init__(self, client, key):
        self._client = client
        self._key = key

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def scoped(*args, **kwargs):
            with _LOCK.hold(self._key):
                return attr(*args, **kwargs)
        return scoped


def scoped_client(client):
    """The client itself when its side needs no settings or it is scoped already, else a ScopedClient."""
    if isinstance(client, ScopedClient):
        return client
    key = scope_key(client.tracking_uri, getattr(client, "_registry_uri", None))
    return ScopedClient(client, key) if key is not None else client


class _ScopedObject:
    def __init__(self, obj, client):
        self._obj = obj
        self._client = client

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def scoped(*args, **kwargs):
            with side_scope(self._client):
                return attr(*args, **kwargs)
        return scoped


def scoped_object(client, obj):
    """obj (a store or artifact repository the client reached into) with each method call in the client's
    side scope."""
    key = scope_key(getattr(client, "tracking_uri", None), getattr(client, "_registry_uri", None))
    return _ScopedObject(obj, client) if key is not None else obj
