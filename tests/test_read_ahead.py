"""Reading the source ahead of the writes (engine/read_ahead.py), on a source side of this package's own
interface whose reads take time: every run is handed over once, no more runs are on disk at once than the slots
allow, a failed read fails its run only, and what was read and not taken is removed when the copy stops."""
import os
import tempfile
import threading
from threading import BoundedSemaphore
import time
from contextlib import contextmanager
from types import SimpleNamespace

import pytest

from mlflow_export_import.common.parallel import new_tuner
from mlflow_export_import.common.parallel import GROUP_WIDTH
from mlflow_export_import.engine.read_ahead import ReadAhead, prepared, unread
from mlflow_export_import.engine.source_server import FIRST_BATCH, ServerSource


def _run(i):
    return SimpleNamespace(info=SimpleNamespace(run_id=f"r{i}"), data=SimpleNamespace(metrics={}))


class SlowSource:
    """Reads each run into a temporary directory, taking `delay` seconds; counts the directories that exist."""

    def __init__(self, delay=0.01, bad=(), bulk_fails=False):
        self.delay, self.bad, self.bulk_fails = delay, set(bad), bulk_fails
        self.lock = threading.Lock()
        self.live = self.most_live = 0
        self.dirs = []
        self.prepared_batches = 0

    @staticmethod
    def batches(runs):
        return [runs[i:i + 5] for i in range(0, len(runs), 5)]

    def prepare(self, batch, workers=None):
        self.prepared_batches += 1
        if self.bulk_fails:
            raise ConnectionError("the bulk read failed")
        return {r.info.run_id: "bulk" for r in batch}

    @contextmanager
    def exported(self, run, prepared=None):
        time.sleep(self.delay)
        if run.info.run_id in self.bad:
            raise ValueError(f"cannot read {run.info.run_id}")
        with tempfile.TemporaryDirectory() as tmp:
            with self.lock:
                self.live += 1
                self.most_live = max(self.most_live, self.live)
                self.dirs.append(tmp)
            try:
                yield tmp, {"run_id": run.info.run_id, "prepared": prepared}
            finally:
                with self.lock:
                    self.live -= 1


def test_every_run_is_handed_over_once_with_its_bulk_reads_and_no_more_runs_on_disk_than_slots():
    source = SlowSource()
    runs = [_run(i) for i in range(40)]
    seen = []
    with ReadAhead(source, runs, new_tuner(4), BoundedSemaphore(6), workers=4) as reads:
        for run, read in reads:
            time.sleep(0.02)  # the destination is slower than the source: reads pile up to the bound
            with read.open() as (input_dir, run_dct):
                assert os.path.isdir(input_dir)
                seen.append((run.info.run_id, run_dct["run_id"], run_dct["prepared"]))
    assert sorted(s[0] for s in seen) == sorted(r.info.run_id for r in runs)
    assert all(run_id == dct_id and prepared == "bulk" for run_id, dct_id, prepared in seen)
    assert source.prepared_batches == 8
    assert source.most_live == 6  # read, waiting and being written: the slots fill, and bound them
    assert source.live == 0 and not any(os.path.exists(d) for d in source.dirs)


def test_a_failed_read_fails_its_run_only():
    source = SlowSource(bad={"r3"})
    outcomes = {}
    with ReadAhead(source, [_run(i) for i in range(8)], new_tuner(2), BoundedSemaphore(2), workers=2) as reads:
        for run, read in reads:
            try:
                with read.open() as (_, run_dct):
                    outcomes[run.info.run_id] = "written"
            except ValueError as ex:
                outcomes[run.info.run_id] = str(ex)
    assert outcomes.pop("r3") == "cannot read r3"
    assert set(outcomes.values()) == {"written"} and len(outcomes) == 7


def test_a_copy_that_stops_early_leaves_no_read_run_behind():
    source = SlowSource()
    with pytest.raises(KeyboardInterrupt):
        with ReadAhead(source, [_run(i) for i in range(30)], new_tuner(4), BoundedSemaphore(4), workers=4) as reads:
            for n, (run, read) in enumerate(reads):
                with read.open():
                    pass
                if n == 2:
                    time.sleep(0.2)  # reads queue up meanwhile
                    raise KeyboardInterrupt
    assert source.live == 0 and not any(os.path.exists(d) for d in source.dirs)
    assert len(source.dirs) < 30  # it stopped reading


def test_a_failed_bulk_read_leaves_each_run_to_read_alone_ahead_or_not():
    runs = [_run(i) for i in range(7)]
    source = SlowSource(bulk_fails=True)
    with ReadAhead(source, runs, new_tuner(2), BoundedSemaphore(3), workers=2) as reads:
        ahead = {}
        for run, read in reads:
            with read.open() as (_, run_dct):
                ahead[run.info.run_id] = run_dct["prepared"]
    inline = {}
    for run, read in unread(source, runs, workers=2):
        with read.open() as (_, run_dct):
            inline[run.info.run_id] = run_dct["prepared"]
    assert ahead == inline == {r.info.run_id: None for r in runs}
    assert source.prepared_batches == 4  # two batches, tried once each way


def test_the_first_batches_of_a_copy_are_small_so_that_the_destination_starts_sooner():
    """A batch is handed over once its bulk reads are done: the command's first few are one run per write slot,
    the others as large as the bulk reads allow. An experiment without runs takes none of the small ones."""
    source = ServerSource(client=None)
    runs = [_run(i) for i in range(30)]
    assert list(source.batches([])) == []
    sizes = [[len(batch) for batch in source.batches(runs)] for _ in range(GROUP_WIDTH + 1)]
    assert sizes == [[FIRST_BATCH, 30 - FIRST_BATCH]] * GROUP_WIDTH + [[30]]


def test_a_dry_run_reads_nothing_and_leaves_the_small_first_batches_to_the_copy():
    """A sync plans each experiment in a dry run before it copies it: the plan must not use up the small batches."""
    source = ServerSource(client=None)
    runs = [_run(i) for i in range(30)]
    for _ in range(GROUP_WIDTH):
        assert [part for _, part in prepared(source, runs, dry_run=True)] == [None] * 30
    assert [len(batch) for batch in source.batches(runs)] == [FIRST_BATCH, 30 - FIRST_BATCH]
