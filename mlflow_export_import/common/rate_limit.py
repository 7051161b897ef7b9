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
    """Wraps an MlflowClient: each public method call waits for a token. Attributes pass through."""

    def __init__(self, client, requests_per_second):
        self._client = client
        self._bucket = TokenBucket(requests_per_second)

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name.startswith("_") or not callable(attr):
            return attr

        def limited(*args, **kwargs):
            self._bucket.acquire()
            return attr(*args, **kwargs)
        return limited
