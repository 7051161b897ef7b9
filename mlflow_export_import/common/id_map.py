"""Source id -> destination id, per object type, filled as an import goes (thread-safe).

Bulk imports pass one IdMap through every step so that later objects find the destination copies of
earlier ones: model versions their runs and logged models, traces their runs, datasets their experiments.
"""
import threading
from collections import defaultdict

RUNS = "runs"
EXPERIMENTS = "experiments"
LOGGED_MODELS = "logged_models"
TRACES = "traces"


class IdMap:
    def __init__(self):
        self._lock = threading.Lock()
        self._maps = defaultdict(dict)

    def put(self, kind, src_id, dst_id):
        with self._lock:
            self._maps[kind][src_id] = dst_id

    def get(self, kind, src_id, default=None):
        with self._lock:
            return self._maps[kind].get(src_id, default)

    def items(self, kind):
        with self._lock:
            return dict(self._maps[kind])
