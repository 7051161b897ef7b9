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


class RateLimitedClient:
    """Wraps an MlflowClient: each public method call waits for a token. Attributes pass through, except the
    ways past the client's methods that the package takes to save requests (the tracking store, for writes MLflow's
    client would precede with a read, and the registry client): their calls wait for a token too, so that every
    request counts against the cap."""

    def __init__(self, client, requests_per_second):
        self._client = client
        self._bucket = TokenBucket(requests_per_second)

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name == "_tracking_client":
            return _Limited(attr, self._bucket, wrapped=("store",))
        if name == "_get_registry_client":
            return lambda *args, **kwargs: _Limited(attr(*args, **kwargs), self._bucket, wrapped=("store",))
        if name.startswith("_") or not callable(attr):
            return attr
        return _limited(attr, self._bucket)


class _Limited:
    """An object whose public method calls wait for a token of the bucket; the attributes named in `wrapped` are
    wrapped the same way."""

    _OWN = ("_obj", "_bucket", "_wrapped")

    def __init__(self, obj, bucket, wrapped=()):
        for key, value in zip(self._OWN, (obj, bucket, wrapped)):
            object.__setattr__(self, key, value)

    def __setattr__(self, name, value):
        setattr(self._obj, name, value)  # a mark set on the store (metric_history's) stays on the store

    def __getattr__(self, name):
        attr = getattr(self._obj, name)
        if name in self._wrapped:
            return _Limited(attr, self._bucket)
        if name.startswith("_") or not callable(attr):
            return attr
        return _limited(attr, self._bucket)


def _limited(method, bucket):
    def limited(*args, **kwargs):
        bucket.acquire()
        return method(*args, **kwargs)
    return limited
