"""Reading the source ahead of the writes, each server at its own pace.

When one worker reads a run from the source and then writes its copy, the source waits while the destination
works and the other way round: a copy then takes about as long as an export followed by an import. Here a thread
of its own reads the runs to copy (the source's bulk reads of a batch, then each run's dict and artifacts into a
temporary directory) in a pool that has the source server's concurrency limit, and hands each run over as soon as
it is read; the destination's pool writes them meanwhile. At most a fixed number of runs (2 x --workers) are being
read, wait read, or are being written at once, across every experiment the command copies: the disk holds their
artifacts, never an experiment's.

A run whose read failed is handed over with its error, which its write raises: it fails as any run does, and the
others go on."""
import queue
import threading
from contextlib import ExitStack, contextmanager

from mlflow_export_import.common.parallel import map_bounded, run_in_session

_END = object()


class Unread:
    """A run the write reads itself (a serial copy, a dry run, an export directory read in place)."""

    def __init__(self, source, run, prepared=None):
        self.source, self.run, self.prepared = source, run, prepared

    def open(self):
        return self.source.exported(self.run, self.prepared)


class Staged:
    """A run read ahead: (export dir, run dict) until closed (its temporary directory is then removed, and its
    slot given back)."""

    def __init__(self, source, run, prepared, slot):
        self._stack = ExitStack()
        self._stack.callback(slot.release)
        try:
            self.value = self._stack.enter_context(source.exported(run, prepared))
        except BaseException:
            self._stack.close()
            raise

    @contextmanager
    def open(self):
        try:
            yield self.value
        finally:
            self.close()

    def close(self):
        self._stack.close()


class Failed:
    """A run whose read failed: opening it raises the read's error."""

    def __init__(self, ex):
        self.ex = ex

    @contextmanager
    def open(self):
        raise self.ex
        yield  # noqa: the generator shape contextmanager needs

    def close(self):
        pass


def prepared(source, runs, workers=None, dry_run=False, stopped=None):
    """(run, what the source read of its batch in bulk) of each run, a batch's bulk reads made as the consumer
    reaches it (none in a dry run, none once stopped() says so). A bulk read that fails reads nothing: each run's
    own read then reads it alone, and fails it alone if it must."""
    if dry_run:  # reads nothing: the source's batching (its small first batches) is left to the copy
        yield from ((run, None) for run in runs)
        return
    for batch in source.batches(runs):
        if stopped is not None and stopped():
            return
        try:
            bulk = source.prepare(batch, workers)
        except Exception:
            bulk = {}
        for run in batch:
            yield run, bulk.get(run.info.run_id)


def unread(source, runs, workers=None, dry_run=False):
    """(run, Unread) of each run: read by its write, with its batch's bulk reads."""
    return ((run, Unread(source, run, part)) for run, part in prepared(source, runs, workers, dry_run))


class ReadAhead:
    """Iterate (run, Staged or Failed) in the order the reads end; close() (or the end of a `with`) stops reading
    and removes what was read and not taken. slots: a semaphore shared by every ReadAhead of the command, one
    slot per run read or being read and not yet written: it bounds the disk the runs' artifacts take, whatever
    the number of experiments copied at once. The writes of the runs read must not wait for a slot (a nested
    read-ahead, for instance): those runs hold the slots it would wait for."""

    def __init__(self, source, runs, tuner, slots, workers=None):
        self.source, self.runs, self.tuner, self.slots, self.workers = source, runs, tuner, slots, workers
        self.ready = queue.Queue()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=run_in_session, args=(tuner, self._read_all), daemon=True,
                                       name="mlflow-export-import-read-ahead")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def __iter__(self):
        while True:
            item = self.ready.get()
            if item is _END:
                return
            yield item

    def close(self):
        self.stopping.set()
        while self.thread.is_alive() or not self.ready.empty():
            try:
                item = self.ready.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is not _END:
                item[1].close()
        self.thread.join()

    def _read_all(self):
        try:
            # each read hands its run over itself, from its worker: this thread may be waiting for a slot,
            # which only the writes of runs already read give back
            for _ in map_bounded(self._read, self._prepared(), self.workers, tuner=self.tuner):
                pass
        finally:
            self._hand_over(_END)

    def _prepared(self):
        """(run, its batch's bulk part) of each run, once it has a slot; the next batch's bulk reads are made once
        the reads of this one are under way."""
        for item in prepared(self.source, self.runs, self.workers, stopped=self.stopping.is_set):
            if not self._take_slot():
                return
            yield item

    def _take_slot(self):
        while not self.stopping.is_set():
            if self.slots.acquire(timeout=0.1):
                return True
        return False

    def _read(self, item):
        run, prepared = item
        try:
            staged = Staged(self.source, run, prepared, self.slots)
        except Exception as ex:
            self._hand_over((run, Failed(ex)))
            raise  # the pool judges the server's pace from the reads that succeed
        self._hand_over((run, staged))

    def _hand_over(self, item):
        """Queue one read run; once the consumer is gone, close it instead (its directory is removed)."""
        if self.stopping.is_set() and item is not _END:
            item[1].close()
        else:
            self.ready.put(item)
