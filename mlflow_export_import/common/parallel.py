"""A bounded thread pool that tunes its width to the server.

At most `limit` tasks run at once and nothing is queued ahead of them, so that a server with 100,000 runs never
has all of them in memory. The limit starts at --workers (default 8) and moves between 1 and a ceiling (4 x the
start, at most 64; MLFLOW_EXPORT_IMPORT_MAX_WORKERS sets it, equal to the start to pin the width):
- it grows by one while the server keeps up: a window of completed tasks took no longer each than 1.5 x the
  fastest window seen, throughput (limit / latency, Little's law) did not fall since the last window, and every
  slot was in use;
- it shrinks by a quarter when answers slow down markedly (tasks take more than 2 x the fastest window: the
  server queues our requests, or MLflow's HTTP layer waits out 429/503 answers and their Retry-After);
- it halves when a task fails with 429/503 (REQUEST_LIMIT_EXCEEDED, TEMPORARILY_UNAVAILABLE, ...: MLflow's
  retries gave up), or because the server's database connection pool was exhausted.
Only tasks started under the current limit are judged, so one burst of failures halves the limit once.

The pools of one command share one Tuner (cli_utils.command opens a `session()`), so what was learned on the
first experiment holds for the next; a pool opened inside a task of another pool (experiments -> runs) runs its
tasks in the slot of that task, which only waits for them, and in free slots before any new top-level task:
nesting never multiplies the concurrency, and open work finishes before new work starts. `--workers 1` is
serial, in order, in the calling thread."""
import contextvars
import os
import queue
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from mlflow_export_import.common.logging_utils import get_logger

DEFAULT_WORKERS = 8
WORKERS_ENV = "MLFLOW_EXPORT_IMPORT_WORKERS"
MAX_WORKERS_ENV = "MLFLOW_EXPORT_IMPORT_MAX_WORKERS"
CEILING_FACTOR, CEILING_CAP = 4, 64

GROW_RATIO = 1.5  # window latency within 1.5 x the fastest window: the server keeps up
SLOW_RATIO = 2.0  # beyond 2 x: our requests queue at the server (or wait out 429/503 retries)
MIN_WINDOW = 4  # tasks per judgement, at least: one slow task alone says little
GROUP_WIDTH = 2  # experiments open at once: one's serial steps overlap another's runs; each holds a batch of runs
GROW, SHRINK, HOLD, OVERLOAD = "grow", "shrink", "hold", "overload"

OVERLOAD_STATUS = (429, 503)
OVERLOAD_CODES = ("REQUEST_LIMIT_EXCEEDED", "TEMPORARILY_UNAVAILABLE", "RESOURCE_EXHAUSTED")
# what urllib3 says when MLflow's retries of 429/503 run out (MLflow wraps it in an INTERNAL_ERROR), and what an
# MLflow server on a SQL store answers (400!) when more requests wait for its database than its connection pool
# holds (SQLAlchemy's default: 5 + 10 overflow per server worker)
_OVERLOAD_WORDS = re.compile(r"too many (429|503) error responses|QueuePool limit of size \d+ overflow \d+ reached")

_logger = get_logger(__name__)

_SESSION = contextvars.ContextVar("mlflow_export_import_pool_session", default=None)
_TASK = contextvars.ContextVar("mlflow_export_import_pool_task", default=None)


def get_workers(workers=None):
    if workers:
        return int(workers)
    return int(os.environ.get(WORKERS_ENV, DEFAULT_WORKERS))


def get_ceiling(start):
    """The most tasks a pool started at `start` may grow to."""
    env = os.environ.get(MAX_WORKERS_ENV)
    if env:
        return max(1, int(env))
    return max(start, min(CEILING_FACTOR * start, CEILING_CAP))


def is_overload(ex):
    """Whether an error says the server is overloaded (429/503, its database pool exhausted), in MLflow's, our,
    urllib3's or SQLAlchemy's words."""
    seen = 0
    while ex is not None and seen < 5:
        if _status_of(ex) in OVERLOAD_STATUS or _code_of(ex) in OVERLOAD_CODES or \
                _OVERLOAD_WORDS.search(str(ex)):
            return True
        ex = getattr(ex, "src_exception", None) or ex.__cause__ or ex.__context__
        seen += 1
    return False


def _code_of(ex):
    kwargs = getattr(ex, "kwargs", None)  # MlflowExportImportException keeps MLflow's error code there
    return getattr(ex, "error_code", None) or (kwargs.get("mlflow_error_code") if isinstance(kwargs, dict) else None)


def _status_of(ex):
    if hasattr(ex, "get_http_status_code"):
        return ex.get_http_status_code()
    response = getattr(ex, "response", None)
    return getattr(ex, "http_status_code", None) or getattr(response, "status_code", None)


def judge(latency, baseline, rate, prev_rate):
    """What a window of tasks says: their mean latency against the fastest window's, and their throughput
    against the previous window's (so growing stops where one more task only lengthens the others)."""
    if latency > SLOW_RATIO * baseline:
        return SHRINK
    if latency <= GROW_RATIO * baseline and rate >= prev_rate:
        return GROW
    return HOLD


class Tuner:
    """The concurrency limit of the pools of one command (AIMD between 1 and ceiling). `history` lists every
    limit taken, `peak` the most tasks that ever ran at once."""

    def __init__(self, start, ceiling):
        self.ceiling = max(1, ceiling)
        self.limit = max(1, min(int(start), self.ceiling))
        self.epoch = 0  # changes with the limit: a task is judged against the limit it started under
        self.active = 0
        self.peak = 0
        self.history = [self.limit]
        self._full = False  # every slot was in use since the last change: growing is not a guess
        self._urgent = 0
        self._cond = threading.Condition()

    def acquire(self, reserve=None):
        """Wait for a slot and take it; returns (epoch, whether it is the reserve's). A nested pool's tasks take its
        reserve (its parent's slot) first, then shared slots before the tasks of top-level pools: open work
        finishes before new work starts, which keeps memory flat."""
        nested = reserve is not None
        with self._cond:
            self._urgent += nested
            try:
                while True:
                    if nested and reserve.free:
                        reserve.free -= 1
                        return self.epoch, True
                    if self.active < self.limit and (nested or not self._urgent):
                        break
                    self._cond.wait()
            finally:
                self._urgent -= nested
            self.active += 1
            self.peak = max(self.peak, self.active)
            self._full = self._full or self.active >= self.limit
            return self.epoch, False

    def release(self, reserve=None):
        """Give back a shared slot, or the reserve's when `reserve` is given."""
        with self._cond:
            if reserve is not None:
                reserve.free += 1
            else:
                self.active -= 1
            self._cond.notify_all()

    def adjust(self, verdict, epoch):
        """Apply a verdict reached on tasks started in `epoch`; a stale one (the limit moved since) is dropped."""
        with self._cond:
            if epoch != self.epoch:
                return
            if verdict == OVERLOAD:
                self._set(self.limit // 2)
            elif verdict == SHRINK:
                self._set(self.limit * 3 // 4)
            elif verdict == GROW and self._full:
                self._set(self.limit + 1)

    def _set(self, limit):
        limit = max(1, min(self.ceiling, limit))
        if limit == self.limit:
            return
        _logger.debug(f"Parallel tasks: {self.limit} -> {limit}")
        self.limit, self.epoch, self._full = limit, self.epoch + 1, False
        self.history.append(limit)
        self._cond.notify_all()


class _Gauge:
    """The windows of one pool's completed tasks (a pool's tasks are alike: runs, or traces, ...)."""

    def __init__(self, tuner):
        self.tuner = tuner
        self.baseline = self.prev_rate = None  # the fastest window's mean latency; the last window's throughput
        self._lock = threading.Lock()
        self.epoch, self.samples = None, []

    def record(self, epoch, latency):
        with self._lock:
            if epoch != self.tuner.epoch:
                return  # started under another limit: says nothing of this one
            if epoch != self.epoch:
                self.epoch, self.samples = epoch, []
            self.samples.append(latency)
            limit = self.tuner.limit
            if len(self.samples) < max(MIN_WINDOW, limit):
                return
            mean = max(sum(self.samples) / len(self.samples), 1e-6)
            rate = limit / mean  # tasks per second at this limit (Little's law), free of the window's timing
            # a pool's first window only sets its yardstick: many small pools (a run's files) must not each
            # grow the limit on no comparison at all
            verdict = HOLD if self.baseline is None else judge(mean, self.baseline, rate, self.prev_rate)
            self.baseline = mean if self.baseline is None else min(self.baseline, mean)
            self.prev_rate = rate
            self.samples = []
        self.tuner.adjust(verdict, epoch)


class _Task:
    def __init__(self, tuner, epoch):
        self.tuner, self.epoch = tuner, epoch
        self.nested = False


@contextmanager
def session(tuner=None):
    """The pools opened inside share one Tuner: `tuner`, or one made by the first pool from its workers."""
    holder = {"tuner": tuner}
    token = _SESSION.set(holder)
    try:
        yield holder
    finally:
        _SESSION.reset(token)
        _log_course(holder["tuner"])


def _log_course(tuner):
    """How the limit went, when it moved: what to pass as --workers next time on that server."""
    if tuner is not None and len(tuner.history) > 1:
        _logger.info(f"Parallel tasks: started at {tuner.history[0]}, ended at {tuner.limit} (between "
                     f"{min(tuner.history)} and {max(tuner.history)}; most running at once: {tuner.peak})")


def _tuner_for(workers):
    task = _TASK.get()
    if task is not None:
        return task.tuner
    holder = _SESSION.get()
    if holder is not None and holder["tuner"] is not None:
        return holder["tuner"]
    start = get_workers(workers)
    tuner = Tuner(start, get_ceiling(start))
    if holder is not None:
        holder["tuner"] = tuner
    return tuner


def new_tuner(workers=None):
    """A Tuner of its own, for the requests to another server than the session's (a copy reads its source at the
    source's pace while it writes the destination at the destination's)."""
    start = get_workers(workers)
    return Tuner(start, get_ceiling(start))


def at_once(*fns, workers=None):
    """The results of the thunks fns, run at once: the first in the calling thread, each other in a thread of
    its own carrying the caller's context (their pools share the caller's limit, as top-level pools). The first
    exception raised is raised, once all have ended. Serial (--workers 1), or inside a task of a pool (which holds
    one slot for all it opens), they run one after another, so that nesting never widens the concurrency."""
    if get_workers(workers) <= 1 or _TASK.get() is not None or len(fns) < 2:
        return [fn() for fn in fns]
    outcomes = [None] * len(fns)

    def call(i):
        try:
            outcomes[i] = (fns[i](), None)
        except BaseException as ex:
            outcomes[i] = (None, ex)

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(call, i), daemon=True,
                                name="mlflow-export-import-at-once") for i in range(1, len(fns))]
    for thread in threads:
        thread.start()
    call(0)
    for thread in threads:
        thread.join()
    for _, ex in outcomes:
        if ex is not None:
            raise ex
    return [result for result, _ in outcomes]


def run_in_session(tuner, fn, *args):
    """fn(*args) in a copy of the caller's context where every pool opened is top-level and shares `tuner`: for a
    thread that works for another server than its starter's pools."""
    def call():
        _SESSION.set({"tuner": tuner})
        _TASK.set(None)
        return fn(*args)
    return contextvars.copy_context().run(call)


def map_bounded(fn, items, workers=None, tuner=None, width=None, coordinators=False):
    """Yield (item, result, exception) for every item, in completion order (in order when serial). width: the
    most tasks of this pool open at once, whatever the limit (tasks that open pools of their own, such as
    experiments, keep their memory while they wait). coordinators (with width): tasks that mostly wait for pools
    of their own take no slot, and their pools are top-level ones; so the next experiment lists and plans its
    runs while the runs of the one before fill the slots, instead of waiting for them to drain (its few serial
    requests come on top of the limit: at most `width` more in flight)."""
    if get_workers(workers) <= 1 and tuner is None:
        yield from _serial(fn, items)
        return
    tuner = tuner or _tuner_for(workers)
    if coordinators and width:
        yield from _Pool(fn, tuner, width, slotless=True).run(items)
        return
    outer = _TASK.get()
    reserve = None
    if outer is not None and outer.tuner is tuner:
        # the enclosing task only waits for ours: its slot is theirs meanwhile (never more than one slot for a
        # task and all it opens, so nesting neither multiplies the concurrency nor deadlocks)
        outer.nested = True
        reserve = _Reserve()
    yield from _Pool(fn, tuner, width, reserve).run(items)


class _Reserve:
    """The slot of a task that opened a nested pool, lent to that pool's tasks."""

    def __init__(self):
        self.free = 1


def _serial(fn, items):
    for item in items:
        try:
            yield item, fn(item), None
        except Exception as ex:
            yield item, None, ex


class _Pool:
    def __init__(self, fn, tuner, width=None, reserve=None, slotless=False):
        self.fn, self.tuner, self.reserve, self.slotless = fn, tuner, reserve, slotless
        self.open = threading.BoundedSemaphore(width) if width else None
        self.gauge = _Gauge(tuner)
        self.done = queue.SimpleQueue()  # (item, result, exception) of each task that ended
        self.submitted = self.received = 0  # counted by the caller's thread
        self.started = self.ended = 0  # counted by the workers, which a Ctrl-C never interrupts
        self.stopping = False
        self.cond = threading.Condition()

    def run(self, items):
        with ThreadPoolExecutor(max_workers=self.tuner.ceiling) as pool:
            try:
                for item in items:
                    if self.open:
                        self.open.acquire()
                    epoch, reserved = (None, False) if self.slotless else self.tuner.acquire(self.reserve)
                    pool.submit(contextvars.copy_context().run, self._call, item, epoch, reserved)
                    self.submitted += 1
                    yield from self._hand_back(block=False)
                while self.received < self.submitted:
                    yield from self._hand_back(block=True)
            except KeyboardInterrupt:
                # Ctrl-C (it may land anywhere in this thread, even inside submit): start nothing more, but the
                # tasks running finish anyway: hand back their outcome, so that the summary counts all that is done.
                self._stop_and_wait()
                yield from self._hand_back(block=False)
                raise

    def _hand_back(self, block):
        """Yield the outcomes there are (block: wait for one first)."""
        while True:
            try:
                outcome = self.done.get(timeout=1) if block else self.done.get_nowait()
            except queue.Empty:
                if block:
                    continue
                return
            self.received += 1
            block = False
            yield outcome

    def _stop_and_wait(self):
        with self.cond:
            self.stopping = True
            while self.ended < self.started:
                self.cond.wait()

    def _close(self, reserved):
        if not self.slotless:
            self.tuner.release(self.reserve if reserved else None)
        if self.open:
            self.open.release()

    def _call(self, item, epoch, reserved):
        """In a worker thread, in a copy of the submitter's context (so nested pools find this task)."""
        with self.cond:
            if self.stopping:
                self._close(reserved)
                return
            self.started += 1
        task = _Task(self.tuner, epoch)
        # a coordinator's pools are top-level ones (they take shared slots); its own time and failures do not
        # judge the server
        _TASK.set(None if self.slotless else task)
        start = time.monotonic()
        try:
            outcome = (item, self.fn(item), None)
        except BaseException as ex:
            outcome = (item, None, ex)
            if is_overload(ex) and not self.slotless:
                self.tuner.adjust(OVERLOAD, task.epoch)
        else:  # a task that failed otherwise (not found, bad data) says nothing of the server's pace
            # one that waited for a nested pool timed that pool, not the server
            if not (task.nested or self.slotless):
                self.gauge.record(task.epoch, time.monotonic() - start)
        self._close(reserved)
        self.done.put(outcome)
        with self.cond:
            self.ended += 1
            self.cond.notify_all()
