"""Test-only faults of the run import tasks, to check that retried and speculative attempts make no twins and
double no metric point.

MLFLOW_EXPORT_IMPORT_SPARK_FAULTS names a folder, read on the driver and handed to the tasks (executors need not
share the driver's environment). A flag file in it acts on the import of one source run at its last LogBatch,
the one that marks the run done: the batch's params, metrics and tags are written without the mark first, so the
run is filled but for the mark, then
- `crash-<src run id>`: the attempt that removes the flag crashes (the task fails and Spark retries it);
- `slow-<src run id>`: attempt 0 waits until another attempt (Spark's speculative copy) has marked the run done,
  then writes the whole batch again, after the winner; the copy waits until attempt 0 is that far, so that their
  writes of the run overlap even when attempt 0 started late.
Each attempt that reaches that point leaves `attempt-<src run id>-<attempt number>` behind. Unset: no effect."""
import os
import time

from mlflow_export_import.common.source_tags import ImportTags

FAULTS_ENV = "MLFLOW_EXPORT_IMPORT_SPARK_FAULTS"
SLOW_WAIT_SECONDS = 120


class InjectedCrash(BaseException):
    """Not an Exception: no per-item handler catches it, so the whole task attempt fails."""


def faults_dir():
    return os.environ.get(FAULTS_ENV) or None


def with_faults(client, folder, src_run_id):
    return client if folder is None else _FaultyClient(client, folder, src_run_id)


class _FaultyClient:
    def __init__(self, client, folder, src_run_id):
        self._client, self._folder, self._src = client, folder, src_run_id

    def __getattr__(self, name):
        return getattr(self._client, name)

    def log_batch(self, run_id, metrics=(), params=(), tags=(), **kwargs):
        done = [t for t in tags if t.key == ImportTags.STATE and t.value == ImportTags.STATE_DONE]
        if not done:
            return self._client.log_batch(run_id, metrics=metrics, params=params, tags=tags, **kwargs)
        attempt = _attempt_number()
        open(self._path(f"attempt-{self._src}-{attempt}"), "w").close()
        self._client.log_batch(run_id, metrics=metrics, params=params, tags=[t for t in tags if t not in done])
        if self._take(f"crash-{self._src}"):
            raise InjectedCrash(f"injected crash of the import of run '{self._src}'")
        if os.path.exists(self._path(f"slow-{self._src}")):
            if attempt == 0:
                self._wait_until(lambda: self._is_done(run_id))
            else:  # the copy goes on once the original is inside this run too: their writes overlap
                self._wait_until(lambda: os.path.exists(self._path(f"attempt-{self._src}-0")))
        return self._client.log_batch(run_id, metrics=metrics, params=params, tags=tags, **kwargs)

    def _take(self, name):
        """Whether this attempt removed the flag: of two attempts at once (a speculative copy), only one crashes."""
        try:
            os.remove(self._path(name))
            return True
        except FileNotFoundError:
            return False

    def _path(self, name):
        return os.path.join(self._folder, name)

    def _is_done(self, run_id):
        return self._client.get_run(run_id).data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE

    @staticmethod
    def _wait_until(condition):
        deadline = time.time() + SLOW_WAIT_SECONDS
        while time.time() < deadline and not condition():
            time.sleep(0.5)


def _attempt_number():
    from pyspark import TaskContext
    context = TaskContext.get()
    return context.attemptNumber() if context else 0
