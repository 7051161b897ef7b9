"""A bounded thread pool: at most `workers` tasks run and about twice that many are queued, so that a
server with 100,000 runs never has all of them in memory at once."""
import os
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, ThreadPoolExecutor, wait

DEFAULT_WORKERS = 8


def get_workers(workers=None):
    if workers:
        return int(workers)
    return int(os.environ.get("MLFLOW_EXPORT_IMPORT_WORKERS", DEFAULT_WORKERS))


def map_bounded(fn, items, workers=None):
    """Yield (item, result, exception) for every item, in completion order."""
    workers = get_workers(workers)
    if workers <= 1:
        for item in items:
            try:
                yield item, fn(item), None
            except Exception as ex:
                yield item, None, ex
        return
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = {}
        try:
            for item in items:
                pending[pool.submit(fn, item)] = item
                if len(pending) >= 2 * workers:
                    yield from _drain(pending, FIRST_COMPLETED)
            while pending:
                yield from _drain(pending, FIRST_COMPLETED)
        except KeyboardInterrupt:
            # Ctrl-C: start nothing more, but the tasks running finish anyway (the pool waits for them):
            # hand back their outcome, so that the summary counts everything that is done.
            running = {fut: item for fut, item in pending.items() if not fut.cancel()}
            yield from _drain(running, ALL_COMPLETED)
            raise


def _drain(pending, return_when):
    done, _ = wait(list(pending), return_when=return_when)
    for fut in done:
        item = pending.pop(fut)
        ex = fut.exception()
        yield item, (None if ex else fut.result()), ex
