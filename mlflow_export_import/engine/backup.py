"""sync --dst-dir: an export directory (the export-all layout, which import-all reads) kept level with a live
source, as an incremental backup.

Each experiment folder keeps `sync_index.json`: for every run written, a fingerprint of the source listing it was
written from (info, params, tags, latest metric points). A run whose listing still has that fingerprint is not
read again; one that changed is written again whole; a new one is written. Logged models and traces are written
once (a folder per object). Registered models, prompts and datasets are small and written again in full. With
delete, the folders of runs gone from the source are removed (runs deleted in the source are kept, as deleted
runs, like export-all --export-deleted-runs does); without it, nothing is removed.
"""
import hashlib
import json
import os
import shutil

from mlflow.entities import ViewType

from mlflow_export_import.bulk.export_evaluation_datasets import export_evaluation_datasets
from mlflow_export_import.bulk.export_experiments import EXPERIMENTS_FILE
from mlflow_export_import.bulk.export_models import MANIFEST_FILE, _export_models
from mlflow_export_import.bulk.export_prompts import export_prompts
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.capabilities import is_unsupported
from mlflow_export_import.common.iterators import BaseIterator, SearchLoggedModelsIterator, SearchRunsIterator
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.engine.runs import latest_points
from mlflow_export_import.experiment.export_experiment import _write_experiment_file
from mlflow_export_import.logged_model.export_logged_model import LOGGED_MODEL_FILE, export_logged_model_entity
from mlflow_export_import.run import metric_history
from mlflow_export_import.run.export_run import RUN_FILE, export_run_entity
from mlflow_export_import.trace.export_trace import TRACE_FILE, export_trace_entity

INDEX_FILE = "sync_index.json"

_logger = get_logger(__name__)


def listing_fingerprint(run):
    """What the source listing says of a run, hashed: equal fingerprints, nothing to write again."""
    info = run.info
    content = {"info": [info.run_name, info.status, info.start_time, info.end_time, info.lifecycle_stage],
               "params": run.data.params, "tags": run.data.tags, "metrics": latest_points(run),
               "inputs": len(getattr(run.inputs, "dataset_inputs", None) or [])}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:32]


def sync_to_dir(src, output_dir, experiments, select_experiments, delete, workers, dry_run, report):
    """Bring output_dir level with the source. select_experiments(client, selector, include_deleted, report)
    lists the source experiments."""
    exps_dir = os.path.join(output_dir, "experiments")
    written = []
    for exp in select_experiments(src, experiments, True, report):
        try:
            ExperimentBackup(src, exp, os.path.join(exps_dir, exp.experiment_id), delete, workers, dry_run,
                             report).run()
            written.append({"id": exp.experiment_id, "name": exp.name})
        except Exception as ex:
            report.failed("experiments", exp.experiment_id, describe_error(ex), name=exp.name)
    if dry_run:
        return
    io_utils.write_export_file(exps_dir, EXPERIMENTS_FILE, __file__, {"experiments": written},
                               {"experiments": len(written)}, tracking_uri=src.tracking_uri)
    if str(experiments).lower() == "all":
        _export_registry(src, output_dir, report, workers)
    io_utils.write_export_file(output_dir, MANIFEST_FILE, __file__, {}, {"options": {"sync": True}},
                               tracking_uri=src.tracking_uri)


def _export_registry(src, output_dir, report, workers):
    """Models, prompts and datasets, written again in full (a few requests each)."""
    for kind, write in (("models", lambda d: _export_models(src, "all", d, report=report, workers=workers)),
                        ("prompts", lambda d: export_prompts(d, mlflow_client=src, report=report, workers=workers)),
                        ("evaluation_datasets", lambda d: export_evaluation_datasets(d, mlflow_client=src,
                                                                                     report=report, workers=workers))):
        target, fresh = os.path.join(output_dir, kind), os.path.join(output_dir, f".{kind}.new")
        shutil.rmtree(fresh, ignore_errors=True)
        try:
            write(fresh)
        except Exception as ex:
            report.failed(kind, "all", describe_error(ex))
            shutil.rmtree(fresh, ignore_errors=True)
            continue
        # the new copy replaces the old one only once whole: a failure leaves the last good one
        shutil.rmtree(target, ignore_errors=True)
        if os.path.isdir(fresh):
            os.rename(fresh, target)


class ExperimentBackup:
    def __init__(self, src, exp, exp_dir, delete, workers, dry_run, report):
        self.src, self.exp, self.dir, self.delete = src, exp, exp_dir, delete
        self.workers, self.dry_run, self.report = workers, dry_run, report
        self.index_path = os.path.join(exp_dir, INDEX_FILE)

    def run(self):
        index = self._read_index()
        listed = set()
        pending = []
        for run in SearchRunsIterator(self.src, self.exp.experiment_id, view_type=ViewType.ALL):
            listed.add(run.info.run_id)
            fingerprint = listing_fingerprint(run)
            if index.get(run.info.run_id) == fingerprint and os.path.exists(self._run_file(run.info.run_id)):
                self.report.skipped("runs", run.info.run_id, "unchanged")
                continue
            pending.append((run, fingerprint))
            if len(pending) >= metric_history.MAX_RUNS:
                self._write_runs(pending, index)
                pending = []
        self._write_runs(pending, index)
        self._remove_gone(index, listed)
        objects = {"logged_models": self._objects("logged_models"), "traces": self._objects("traces")}
        if not self.dry_run:
            ok_runs = sorted(r for r in index if os.path.exists(self._run_file(r)))
            _write_experiment_file(self.src, self.exp, self.dir, ok_runs, [],
                                   {k: (v, []) for k, v in objects.items() if v is not None})
            self._write_index(index)

    def _write_runs(self, pending, index):
        if not pending:
            return
        if self.dry_run:
            for run, _ in pending:
                verb = "write again" if run.info.run_id in index else "write"
                self.report.would("runs", run.info.run_id, f"{verb} run {run.info.run_id} of '{self.exp.name}'")
            return
        fingerprints = {run.info.run_id: fp for run, fp in pending}
        for batch in metric_history.history_batches([run for run, _ in pending]):
            full = [self.src.get_run(r.info.run_id) if getattr(r, "outputs", None) is not None else r for r in batch]
            histories = metric_history.read_metric_histories(self.src, full, self.workers)

            def write(run):
                return export_run_entity(self.src, run, os.path.join(self.dir, "runs", run.info.run_id), True,
                                         report=self.report, metric_histories=histories.get(run.info.run_id))

            for run, _, ex in map_bounded(write, full, self.workers):
                if ex is None:
                    index[run.info.run_id] = fingerprints[run.info.run_id]
                else:
                    index.pop(run.info.run_id, None)
                    self.report.failed("runs", run.info.run_id, describe_error(ex), name=self.exp.name)
            self._write_index(index)  # an interrupted sync keeps what it wrote

    def _remove_gone(self, index, listed):
        for run_id in [r for r in index if r not in listed]:
            if not self.delete:
                self.report.skipped("runs", run_id, "gone from the source: kept (use --delete to remove it)")
                continue
            if self.dry_run:
                self.report.would("runs", run_id, f"remove run {run_id}: gone from the source")
                continue
            shutil.rmtree(os.path.join(self.dir, "runs", run_id), ignore_errors=True)
            del index[run_id]
            self.report.copied("runs")

    def _objects(self, kind):
        """Ids of the logged models or traces in the folder after writing those it lacks (None: the server
        has none of that kind)."""
        folder = os.path.join(self.dir, kind)
        marker = LOGGED_MODEL_FILE if kind == "logged_models" else TRACE_FILE
        try:
            items = list(SearchLoggedModelsIterator(self.src, [self.exp.experiment_id])) if kind == "logged_models" \
                else [t.info for t in BaseIterator(self.src.search_traces, 500, locations=[self.exp.experiment_id],
                                                   include_spans=False)]
        except Exception as ex:
            if not is_unsupported(ex):
                self.report.failed(kind, f"experiment {self.exp.experiment_id}", describe_error(ex))
            return None
        id_of = (lambda m: m.model_id) if kind == "logged_models" else (lambda t: t.trace_id)
        todo = [i for i in items if not os.path.exists(os.path.join(folder, id_of(i), marker))]
        todo_ids = {id_of(i) for i in todo}
        for item in items:
            if id_of(item) not in todo_ids:
                self.report.skipped(kind, id_of(item), "already written")
        if self.dry_run:
            for item in todo:
                self.report.would(kind, id_of(item), f"write {kind[:-1].replace('_', ' ')} {id_of(item)}")
            return [id_of(i) for i in items]

        def write(item):
            path = os.path.join(folder, id_of(item))
            if kind == "logged_models":
                return export_logged_model_entity(self.src, item, path, self.report)
            return export_trace_entity(self.src, item.trace_id, path, self.report)

        for item, _, ex in map_bounded(write, todo, self.workers):
            if ex is not None:
                self.report.failed(kind, id_of(item), describe_error(ex), name=self.exp.name)
        return sorted(i for i in (os.listdir(folder) if os.path.isdir(folder) else [])
                      if os.path.exists(os.path.join(folder, i, marker)))

    def _run_file(self, run_id):
        return os.path.join(self.dir, "runs", run_id, RUN_FILE)

    def _read_index(self):
        try:
            with open(self.index_path, encoding="utf-8") as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def _write_index(self, index):
        os.makedirs(self.dir, exist_ok=True)
        tmp = f"{self.index_path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(index, f, sort_keys=True)
        os.replace(tmp, self.index_path)
