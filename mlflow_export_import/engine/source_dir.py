"""The source side of the copy engine when it is the export directory of one experiment (import-experiment(s),
import-all): the listing is the exported run folders, a run's dict is its run.json and its artifacts are the
folder's own, read in place (no copy, no request). An export is imported, never synced: what becomes of each run
is run/plan.run_action's decision. verify reads export directories through `exported_runs` too."""
from contextlib import contextmanager
from types import SimpleNamespace

from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.engine.runs import Action
from mlflow_export_import.experiment.nested_runs_utils import MLFLOW_PARENT_RUN_ID, depth_levels
from mlflow_export_import.run.plan import ALREADY_IMPORTED, CREATE, FINISH, SKIP, read_run, run_action

REASONS = {CREATE: "new", FINISH: "an earlier import stopped half-way", SKIP: ALREADY_IMPORTED}
DELETED = "deleted"


def exported_runs(run_dirs):
    """(run id, run dir, run.json as read_run returns it, None) of each exported run folder of run_dirs ({run id:
    dir}, experiment/plan.run_dirs_of); (run id, run dir, None, the error) for one that cannot be read."""
    for run_id, run_dir in run_dirs.items():
        try:
            yield run_id, run_dir, read_run(run_dir), None
        except MlflowExportImportException as ex:
            yield run_id, run_dir, None, ex


class ExportedRun:
    """A run as the engine's listing shows one, holding only what planning and ordering read (its id, name,
    lifecycle and parent), and the folder its copy reads: the rest of run.json (params, tags, metric histories)
    stays on disk until then, so listing an experiment of 100,000 runs holds a few megabytes."""

    def __init__(self, run_id, run_dir, run_dct):
        info, tags = run_dct["info"], run_dct["tags"]
        self.dir = run_dir
        self.info = SimpleNamespace(
            run_id=run_id, run_name=info.get("run_name") or tags.get("mlflow.runName"),
            lifecycle_stage=info.get("lifecycle_stage") or "active", status=info.get("status"),
            start_time=info.get("start_time"), end_time=info.get("end_time"))
        parent = tags.get(MLFLOW_PARENT_RUN_ID)
        self.data = SimpleNamespace(params={}, tags={MLFLOW_PARENT_RUN_ID: parent} if parent else {}, metrics={})
        self.outputs = None  # the import links runs to logged models itself, from the export


class DirSource:
    """run_dirs: {source run id: exported run folder}."""
    verb = "imported"  # what the engine's messages say became of a run

    def __init__(self, run_dirs):
        self.run_dirs = run_dirs

    def runs(self, experiment_id=None, view_type=None, run_filter=None, unreadable=None):
        """Every exported run, parents before children (so none waits for a parent listed later); a run.json that
        cannot be read is passed to unreadable(run id, message) and left out (its children are imported unlinked,
        keeping its id as their lineage)."""
        readable = {}
        for run_id, run_dir, run_dct, ex in exported_runs(self.run_dirs):
            if ex is None:
                readable[run_id] = ExportedRun(run_id, run_dir, run_dct)
            elif unreadable is not None:
                unreadable(run_id, ex.message)
        parent_of = {run_id: run.data.tags.get(MLFLOW_PARENT_RUN_ID) for run_id, run in readable.items()}
        for level in depth_levels(parent_of):
            for run_id in level:
                yield readable[run_id]

    @staticmethod
    def plan(src_run, dst_run, options=None):
        kind = run_action(dst_run, src_run.info.lifecycle_stage == DELETED)
        return Action(kind, REASONS[kind])

    @staticmethod
    def reading(workers=None):
        return None  # read in place by each run's write: nothing to read ahead

    @staticmethod
    def batches(runs):
        return [runs] if runs else []  # nothing is read ahead: every run ready is one batch of parallel work

    @staticmethod
    def prepare(runs, workers=None):
        return {}  # everything is on disk

    @staticmethod
    @contextmanager
    def exported(run, prepared=None):
        yield run.dir, read_run(run.dir)

    @staticmethod
    def missing_links(src_run, dst_run):
        return None  # the import links its runs to their logged models itself (import_experiment)
