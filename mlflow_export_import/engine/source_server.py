"""The source side of the copy engine when it is a tracking server (copy-*, sync): runs listed a page at a time by
search; a run to copy is read whole (its logged-model inputs, its metric histories in bulk) and its artifacts
downloaded into a temporary directory laid out as an export, which the run importer then reads."""
import os
import tempfile
import threading
from contextlib import contextmanager
from itertools import chain, islice

from mlflow_export_import.common.iterators import SearchRunsIterator
from mlflow_export_import.common.parallel import (
    DEFAULT_WORKERS, GROUP_WIDTH, at_once, get_workers, map_bounded, new_tuner)
from mlflow_export_import.engine.runs import model_links, plan_run, run_outputs
from mlflow_export_import.run import metric_history
from mlflow_export_import.run.export_run import download_run_artifacts, run_to_dict

FIRST_BATCH = DEFAULT_WORKERS  # runs in each of the command's first batches: one per write slot


class ServerSource:
    verb = "copied"  # what the engine's messages say became of a run

    def __init__(self, client):
        self.client = client
        self._reading = None
        self._lock = threading.Lock()
        # the bulk reads of a few batches at a time: those of every experiment open would take the source's slots
        # at once, before any run's artifacts, and leave the destination waiting for a first run to write
        self._preparing = threading.BoundedSemaphore(GROUP_WIDTH)
        self._small_batches = GROUP_WIDTH

    def reading(self, workers=None):
        """(the concurrency limit of the reads of this server, apart from the destination's writes; the slots of
        the runs read ahead and not yet written), shared by every experiment the command copies: made once, from
        --workers (engine/read_ahead.py)."""
        with self._lock:
            if self._reading is None:
                self._reading = (new_tuner(workers), threading.BoundedSemaphore(2 * get_workers(workers)))
            return self._reading

    def runs(self, experiment_id, view_type, run_filter=None, unreadable=None):
        """The experiment's runs as search lists them (a listing never has an unreadable run)."""
        return iter(SearchRunsIterator(self.client, experiment_id, filter=run_filter, view_type=view_type))

    @staticmethod
    def plan(src_run, dst_run, options):
        return plan_run(src_run, dst_run, options)

    def batches(self, runs):
        """The runs whose copies are prepared together: up to 100 runs per bulk history request, and a bounded
        number of histories in memory at once. The first batches of the command are small: the destination has
        nothing to write until one is read (a few more bulk requests, once)."""
        runs = iter(runs)
        head = list(islice(runs, 1))
        if not head:
            return  # no runs: the small batch is left to an experiment that has some
        runs = chain(head, runs)
        if self._take_small_batch():
            yield list(islice(runs, FIRST_BATCH))
        yield from metric_history.history_batches(runs)

    def _take_small_batch(self):
        with self._lock:
            if self._small_batches <= 0:
                return False
            self._small_batches -= 1
            return True

    def prepare(self, runs, workers=None):
        """{run id: (run with everything a copy needs, {key: [Metric]})} of runs about to be copied: a few requests
        for up to 100 runs instead of a few per run."""
        if not runs:
            return {}
        # the re-reads and the bulk reads need nothing of each other (the listing has each run's metric keys; one
        # logged since is read alone by the copy): at once, so the batch's first run is ready sooner
        with self._preparing:
            full, histories = at_once(lambda: self._reread(runs, workers),
                                      lambda: metric_history.read_metric_histories(self.client, runs, workers),
                                      workers=workers)
        return {run_id: (run, histories.get(run_id)) for run_id, run in full.items()}

    def _reread(self, runs, workers):
        full = {}
        for run, result, ex in map_bounded(self._with_outputs, runs, workers):
            full[run.info.run_id] = result if ex is None else run  # a failed re-read fails the run's copy later
        return full

    @contextmanager
    def exported(self, run, prepared=None):
        """(directory laid out as an export, the run's dict as exported) for the time of the copy."""
        full_run, histories = prepared or (self._with_outputs(run), None)
        run_dct = run_to_dict(self.client, full_run, histories)
        with tempfile.TemporaryDirectory(prefix="mlflow-copy-") as tmp:
            download_run_artifacts(self.client, full_run.info.run_id, os.path.join(tmp, "artifacts"),
                                   full_run.info.artifact_uri)
            yield tmp, run_dct

    def missing_links(self, src_run, dst_run):
        """The logged-model links of a copied run whose copy lacks some (a copy stopped after the run was done
        but before its links were made): found from the listings' outputs, read whole only then."""
        if dst_run is None or len(run_outputs(src_run)) == len(run_outputs(dst_run)):
            return None
        run = self.client.get_run(src_run.info.run_id)  # the listing lacks the run's model inputs
        inputs = [{"model_id": m.model_id} for m in (getattr(run.inputs, "model_inputs", None) or [])]
        outputs = [{"model_id": m.model_id, "step": m.step} for m in run_outputs(run)]
        return model_links({"inputs": {"model_inputs": inputs}, "outputs": {"model_outputs": outputs}})

    def _with_outputs(self, run):
        # search results lack the run's logged-model inputs: only runs of a server with logged models re-read
        return self.client.get_run(run.info.run_id) if getattr(run, "outputs", None) is not None else run
