"""The one Spark job shape of the package: a list of small items (ids and paths, never clients), split into
partitions; on the executor each partition attempt builds its own worker function (and with it its clients, from
URIs and the executor's environment or profile) and applies it to every item with a few threads; each item gives
one outcome, so that one bad item never fails the others. The driver gets every item's outcome back.

A task may run twice (retried after a crash, or a speculative copy): what the worker function does to an item
must be harmless when done twice, or by two attempts at once."""
import time
import uuid

from mlflow_export_import.common import describe_error
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.spark.session import spark_context

DEFAULT_TASK_WORKERS = 4  # threads per task: MLflow calls wait on the server, not on the executor's core
STRAGGLER_GRACE_S = 3.0  # spark.python.task.killTimeout (2 s) and a margin

_logger = get_logger(__name__)


def run_partitioned(spark, items, task_fn_builder, workers=None, partitions=None, description=None):
    """Apply, on the executors, the function that task_fn_builder() makes (once per partition attempt) to every
    item. Returns [(item, result, error)] for every item: result what the function returned, error the one-line
    reason it raised an Exception (then result is None). An error that is not an Exception (a crash) fails the
    task, which Spark retries; when Spark gives up, every item gets the job's error (items a task finished before
    are finished in fact: a re-run finds them so). task_fn_builder and the items are pickled: give URIs, not clients."""
    items = list(items)
    if not items:
        return []
    sc = spark_context(spark)
    n = partitions or min(len(items), max(1, sc.defaultParallelism))
    group = f"mlflow-export-import-{uuid.uuid4().hex[:12]}"
    sc.setJobGroup(group, description or "mlflow-export-import", interruptOnCancel=True)
    run_partition = _partition_runner(task_fn_builder, workers or DEFAULT_TASK_WORKERS)
    try:
        return sc.parallelize(items, n).mapPartitions(run_partition).collect()
    except Exception as ex:  # the job gave up (a task failed spark.task.maxFailures times): no outcome came back
        reason = f"the Spark job failed: {_first_line(ex)}"
        _logger.error(reason)
        return [(item, None, reason) for item in items]
    finally:
        _wait_for_stragglers(sc, group)


def _wait_for_stragglers(sc, group, timeout_s=60.0):
    """The job's result is back once one attempt of each task finished; speculative twins still running are being
    killed. Wait until they are gone (and their Python workers, which Spark kills spark.python.task.killTimeout
    later), so that what the driver tidies next (temporary folders) is not written again behind it."""
    tracker, deadline, seen = sc.statusTracker(), time.monotonic() + timeout_s, False
    sc.cancelJobGroup(group)  # nothing to cancel but the twins
    while time.monotonic() < deadline:
        active = _active_tasks(tracker, group)
        if not active:
            break
        seen = True
        time.sleep(0.2)
    if seen:
        time.sleep(STRAGGLER_GRACE_S)


def _active_tasks(tracker, group):
    active = 0
    for job_id in tracker.getJobIdsForGroup(group):
        job = tracker.getJobInfo(job_id)
        for stage_id in (job.stageIds if job else []):
            stage = tracker.getStageInfo(stage_id)
            active += stage.numActiveTasks if stage else 0
    return active


def _first_line(ex):
    """Spark's errors carry the executor's whole traceback: its last line says what went wrong."""
    lines = [line.strip() for line in str(ex).strip().splitlines() if line.strip()]
    python_errors = [line for line in lines if not line.startswith(("at ", "File ", "^"))]
    return (python_errors[-1] if python_errors else type(ex).__name__)[:300]


def _partition_runner(task_fn_builder, workers):
    def run_partition(items):
        fn = task_fn_builder()
        for chunk in _chunks(list(items), getattr(fn, "chunk_size", None)):
            _prepare(fn, chunk)
            for item, result, ex in map_bounded(fn, chunk, workers):
                if ex is not None and not isinstance(ex, Exception):
                    raise ex  # a crash of the attempt, not a failure of the item: Spark retries the task
                yield item, result, None if ex is None else describe_error(ex)
    return run_partition


def _chunks(items, size):
    """A worker function with a `prepare(items)` method reads what its items share in bulk, `chunk_size` items
    at a time (so what it holds stays bounded); others take the partition whole."""
    if not size:
        yield items
        return
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _prepare(fn, chunk):
    prepare = getattr(fn, "prepare", None)
    if prepare is None:
        return
    try:
        prepare(chunk)
    except Exception as ex:  # the bulk read is an optimisation: each item then reads what it needs itself
        _logger.warning(f"Could not read the task's items in bulk: {describe_error(ex)}")


def report_events(report):
    """What an item's own Report recorded, as plain data a task can return."""
    dct = report.to_dict()
    return {"copied": {kind: c["copied"] for kind, c in dct["counts"].items() if c["copied"]},
            "skipped": dct["skipped"], "failures": dct["failures"], "notes": dct["notes"]}


def replay(report, events):
    """Add what a task recorded (report_events) to the command's Report."""
    for kind, n in events.get("copied", {}).items():
        report.copied(kind, n)
    for s in events.get("skipped", []):
        report.skipped(s["type"], s["id"], s["reason"])
    for f in events.get("failures", []):
        report.failed(f["type"], f["id"], f["reason"], name=f.get("name"))
    for note in events.get("notes", []):
        report.note(note)
