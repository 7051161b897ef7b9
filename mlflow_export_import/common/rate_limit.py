"""--max-requests-per-second: a client whose every call first takes a token from a shared bucket."""
import threading
import time


class TokenBucket:
    def __init__(self, rate, burst=None):
        self.rate = float(rate)
        self.capacity = float(burst or max(1.0, rate))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self):
        while True:
            with self._lock:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                wait = (1 - self.tokens) / self.rate
            time.sleep(wait)


# The ways past an MlflowClient's methods that the package takes to save requests: the tracking store (for writes
# MLflow's client would precede with a read) and the registry client. Their calls wait for a token too, so that
# every request counts against the cap: {attribute: what of it is wrapped in turn}.
CLIENT_BYPASSES = {"_tracking_client": {"store": {}}}
CLIENT_FACTORIES = {"_get_registry_client": {"store": {}}}


class _Limited:
    """An object whose public method calls wait for a token of the bucket. wrapped: {attribute: its wrapped}, an
    attribute wrapped the same way; made: {method: its wrapped}, a method whose result is wrapped."""

    _OWN = ("_obj", "_bucket", "_wrapped", "_made")

    def __init__(self, obj, bucket, wrapped=None, made=None):
        for key, value in zip(self._OWN, (obj, bucket, wrapped or {}, made or {})):
            object.__setattr__(self, key, value)

    def __setattr__(self, name, value):
        setattr(self._obj, name, value)  # a mark set on the store (metric_history's) stays on the store

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if name in self._wrapped:
            return _Limited(attr, self._bucket, self._wrapped[name])
        if name in self._made:
            return lambda *args, **kwargs: _Limited(attr(*args, **kwargs), self._bucket, self._made[name])
        if name.startswith("_") or not callable(attr):
            return attr
        return _limited(attr, self._bucket)


class RateLimitedClient(_Limited):
    """Wraps an MlflowClient: each public method call, and each call through its store or registry client, waits
    for a token. Other attributes pass through."""

    def __init__(self, client, requests_per_second):
        super().__init__(client, TokenBucket(requests_per_second), CLIENT_BYPASSES, CLIENT_FACTORIES)


def _limited(method, bucket):
    def limited(*args, **kwargs):
        bucket.acquire()
        return method(*args, **kwargs)
    return limited
