"""Experiments: each source experiment is copied into its destination experiment run by run. The source is a
side: a tracking server (copy-*, sync: no export directory) or the export directory of one experiment (the
imports), the one engine either way. A run is read from the source and written to the destination by one worker
while the others read and write other runs, so both sides work at once; the disk holds the artifacts of the runs
in flight only. Runs are listed a page at a time; parents are copied before their children (a child whose parent
is not copied yet waits for it), so each copy points at its parent's copy."""
from collections import Counter, namedtuple
from contextlib import nullcontext
from itertools import chain, islice

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException

from mlflow_export_import.client import uris
from mlflow_export_import.common import describe_error, is_already_there
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import get_workers, map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.engine import runs as run_plans
from mlflow_export_import.engine.lock import Lease, new_owner
from mlflow_export_import.engine.mlflow3_objects import copy_experiment_objects
from mlflow_export_import.engine.read_ahead import ReadAhead, unread
from mlflow_export_import.engine.runs import model_links
from mlflow_export_import.experiment.export_experiment import experiment_to_dict
from mlflow_export_import.experiment.destination import create_or_update_experiment
from mlflow_export_import.experiment.plan import ALREADY_PRESENT, EMPTY_DEFAULT, check_experiment_importable
from mlflow_export_import.experiment.nested_runs_utils import depth_levels
from mlflow_export_import.run.import_run import MLFLOW_PARENT_RUN_ID
from mlflow_export_import.run.plan import as_deleted, imported_runs

PAGE = 500
COPIES = (run_plans.CREATE, run_plans.FINISH)

_logger = get_logger(__name__)

RunOutcome = namedtuple("RunOutcome", "dst_info links")  # dst_info: the copy's RunInfo, or None


class ExperimentCopier:
    """Copies experiments run by run from a source side (engine/source_server.py: a tracking server;
    engine/source_dir.py: an export directory, for the imports) into the destination server."""

    def __init__(self, source, dst, writer, options, report, id_map, workers=None, dry_run=False,
                 import_source_tags=False, run_filter=None, owner=None, wanted=None, held=None):
        self.source, self.dst, self.writer, self.options = source, dst, writer, options
        self.report, self.id_map, self.workers, self.dry_run = report, id_map, workers, dry_run
        self.import_source_tags = import_source_tags
        self.run_filter = run_filter  # an extra search_runs filter (start-time window)
        self.owner = owner or new_owner()  # of the leases this copy holds (engine/lock.py)
        self.wanted = wanted  # wanted(kind, id): the runs of a --retry-failed list; None: every run
        self.held = held  # a lock.BackgroundLease the caller holds (copy-all's, on the registry's experiment)

    def copy(self, src_exp, dst_name, listed=None):
        """Copy one experiment of a server source; failures of its runs and objects are reported, not raised.
        listed(): called once every run of the source experiment is listed (its writes go on after)."""
        if self._deleted_skip(src_exp, dst_name) or self._empty_default_into_workspace(src_exp, dst_name):
            return
        dst_exp = check_experiment_importable(self.dst, dst_name, experiment_to_dict(src_exp))
        dst_id = self._experiment(src_exp, dst_name, dst_exp)
        if self.dry_run:
            self._copy_runs(src_exp, dst_name, dst_id, listed)
            return
        if not (self.options.sync and dst_exp is not None and not self._has_work(src_exp, dst_name, dst_id)):
            with self._lease(dst_id, src_exp.lifecycle_stage == "deleted"):
                self._copy_runs(src_exp, dst_name, dst_id, listed)
        if src_exp.lifecycle_stage == "deleted":
            # its copy was restored to be brought level (and to hold the lease): deleted again, with or without
            # work done
            self._act(lambda: self.dst.delete_experiment(dst_id), name=dst_name)

    def _lease(self, dst_id, restore_deleted):
        """The experiment's lease; none to take when the caller holds it already (copy-all holds the registry's,
        on Default: a second lease on it, under another owner, would wait for the first forever)."""
        if self.held is not None and self.held.covers("experiment", dst_id):
            self.held.wait()
            return nullcontext()
        return Lease(self.dst, "experiment", dst_id, self.owner, restore_deleted=restore_deleted)

    def _has_work(self, src_exp, dst_name, dst_id):
        """A sync looks before it takes the experiment's lease: the experiment is planned read-only. With nothing
        to do, the plan's skips are the report and the lease (five requests and a second's wait) is not taken."""
        scratch = Report()
        planner = ExperimentCopier(self.source, self.dst, self.writer, self.options, scratch, self.id_map,
                                   self.workers, dry_run=True, run_filter=self.run_filter, owner=self.owner)
        planner._copy_runs(src_exp, dst_name, dst_id)
        if scratch.planned or scratch.failures:
            return True
        for skip in scratch.skips:
            self.report.skipped(skip["type"], skip["id"], skip["reason"])
        return False

    def _copy_runs(self, src_exp, dst_name, dst_id, listed=None):
        existing = imported_runs(self.dst, dst_id) if dst_id else {}  # read once the lease is held
        runs = self.copy_runs(src_exp.experiment_id, dst_name, dst_id, existing, listed,
                              experiment_deleted=src_exp.lifecycle_stage == "deleted")
        copy_experiment_objects(self.source.client, self.dst, src_exp.experiment_id, dst_id, runs.mapping,
                                self.report, self.id_map, self.workers, links=runs.links, dry_run=self.dry_run,
                                new_runs=runs.written())

    def copy_runs(self, src_exp_id, dst_name, dst_id, existing, listed=None, experiment_deleted=False):
        """Plan and carry out every run of the source experiment into the destination experiment dst_id (None in
        a dry run that would create it). existing: {source run id: destination Run} of the copies made before
        (run/plan.imported_runs; {} for an experiment just created). listed(): called when the last page of the
        source's runs is listed. experiment_deleted: the copies count as deleted (run/plan.as_deleted). Returns the
        _RunIds."""
        if experiment_deleted:
            existing = as_deleted(existing)
        runs = self._runs(src_exp_id, dst_name, dst_id, existing, listed)
        if self.options.delete:
            self._delete_orphans(dst_name, existing, runs)
        return runs

    def _empty_default_into_workspace(self, src_exp, dst_name):
        """Open-source servers always have an experiment 'Default' (id 0); a workspace has none and takes only
        path names. An empty one has nothing to copy (one with runs fails on its name, saying so)."""
        if dst_name != "Default" or str(src_exp.experiment_id) != "0" or \
                not uris.parse(self.dst.tracking_uri).is_databricks:
            return False
        if self.source.client.search_runs([src_exp.experiment_id], max_results=1, run_view_type=ViewType.ALL):
            return False
        self.report.skipped("experiments", dst_name, EMPTY_DEFAULT)
        return True

    def _deleted_skip(self, src_exp, dst_name):
        """A deleted source experiment is copied (as deleted) only with deleted runs or --delete."""
        if src_exp.lifecycle_stage != "deleted" or self.options.include_deleted or self.options.delete:
            return False
        self.report.skipped("experiments", dst_name, "deleted in the source")
        return True

    def _experiment(self, src_exp, dst_name, dst_exp):
        if self.dry_run:
            if dst_exp is None:
                self.report.would("experiments", dst_name, f"create experiment '{dst_name}'")
            else:
                self.report.skipped("experiments", dst_name, ALREADY_PRESENT)
            return dst_exp.experiment_id if dst_exp else None
        try:
            dst_id, created = create_or_update_experiment(self.dst, dst_name, experiment_to_dict(src_exp),
                                                          self.import_source_tags)
        except MlflowException as ex:
            if not is_already_there(ex):
                raise
            # another copy created it between our look and our create: use theirs
            dst_id, created = create_or_update_experiment(self.dst, dst_name, experiment_to_dict(src_exp),
                                                          self.import_source_tags)
        self.id_map.put(id_maps.EXPERIMENTS, src_exp.experiment_id, dst_id)
        if created:
            self.report.copied("experiments")
        else:
            self.report.skipped("experiments", dst_name, ALREADY_PRESENT)
        return dst_id

    def _runs(self, src_exp_id, dst_name, dst_id, existing, listed=None):
        """Plan and carry out every run, page by page. Returns the source -> destination run ids."""
        done, waiting = _RunIds(existing), _Waiting()
        view = ViewType.ALL if self.options.include_deleted or self.options.delete else ViewType.ACTIVE_ONLY
        listing = self.source.runs(src_exp_id, view, self.run_filter,
                                   unreadable=lambda run_id, why: self._run_failed(run_id, why, dst_name, done))
        while True:
            page = list(islice(listing, PAGE))
            if len(page) < PAGE and listed:
                listed()  # the last page: the next experiment may list while this one's runs are written
            if not page:
                break
            done.seen.update(r.info.run_id for r in page)
            self._page(page, dst_name, dst_id, existing, done, waiting)
        # parents that never came (outside the window, or unreadable): their children are copied unlinked, and
        # the children's children after them, linked to them
        for parent in waiting.roots():
            self._level(waiting.pop(parent), dst_name, dst_id, existing, done, waiting)
        leftover = waiting.pop_all()  # runs that are each other's ancestors: no order exists
        if leftover:
            self._level(leftover, dst_name, dst_id, existing, done, _Waiting())
        return done

    def _page(self, page, dst_name, dst_id, existing, done, waiting):
        parent_of = {r.info.run_id: r.data.tags.get(MLFLOW_PARENT_RUN_ID) for r in page}
        by_id = {r.info.run_id: r for r in page}
        for level in depth_levels(parent_of):
            ready = []
            for run_id in level:
                parent = parent_of[run_id]
                if not parent or parent in done.mapping:
                    ready.append(by_id[run_id])
                elif parent in done.seen and parent not in waiting:
                    # listed, but its copy failed: so does the child's, until a re-run
                    self._run_failed(run_id, self._parent_failed(parent), dst_name, done, waiting)
                else:
                    waiting.add(parent, by_id[run_id])
            self._level(ready, dst_name, dst_id, existing, done, waiting)

    def _level(self, runs, dst_name, dst_id, existing, done, waiting, read_ahead=True):
        """Runs whose parents have their copies: planned, then carried out. The runs to copy are read from the
        source ahead of their writes (engine/read_ahead.py), so both servers work at once; what a batch's copies
        read of a server source, metric histories above all, is read in bulk: a few requests for up to 100 runs.
        read_ahead False: the children of a run just copied, whose level runs inside the loop of their parent's,
        which holds read-ahead slots it cannot give back meanwhile: they are read by their writes."""
        planned = [(run, self._plan(run, existing.get(run.info.run_id))) for run in runs]
        actions = {run.info.run_id: action for run, action in planned}
        with self._reads([run for run, action in planned if action.kind in COPIES], read_ahead) as reads:
            items = chain(((run, action, None) for run, action in planned if action.kind not in COPIES),
                          ((run, actions[run.info.run_id], read) for run, read in reads))
            for (run, action, _), outcome, ex in map_bounded(
                    lambda item: self._one(*item, dst_name, dst_id, existing, done), items, self.workers):
                self._settle(run, action, outcome, ex, dst_name, dst_id, existing, done, waiting)

    def _settle(self, run, action, outcome, ex, dst_name, dst_id, existing, done, waiting):
        """Record what became of one run, and copy the children that waited for it."""
        src_id = run.info.run_id
        if ex is not None:
            self._run_failed(src_id, describe_error(ex), dst_name, done, waiting)
            _logger.error(f"Run '{src_id}' was not {self.source.verb} into '{dst_name}': {describe_error(ex)}")
            return
        if action.kind == run_plans.OMIT:  # no finished copy to link to: its children fail, as if it had
            done.forget(src_id)
            self._children_fail(src_id, dst_name, done, waiting)
            return
        done.add(src_id, outcome)
        done.count(action, self.dry_run)
        if outcome.dst_info:
            self.id_map.put(id_maps.RUNS, src_id, outcome.dst_info.run_id)
        children = waiting.pop(src_id)
        if children:
            self._level(children, dst_name, dst_id, existing, done, waiting, read_ahead=False)

    def _reads(self, runs, read_ahead):
        """The runs to copy with what their writes read them from: read ahead, in the source's own pool, when the
        source is a server and the copy is parallel; else read by the write itself."""
        reading = None if self.dry_run or not read_ahead or get_workers(self.workers) <= 1 else \
            self.source.reading(self.workers)
        if reading is None or not runs:
            return nullcontext(unread(self.source, runs, self.workers, self.dry_run))
        tuner, slots = reading
        return ReadAhead(self.source, runs, tuner, slots, self.workers)

    def _run_failed(self, run_id, why, dst_name, done, waiting=None):
        """A run that failed: its children do not link to a copy an earlier attempt left; they fail with it (those
        listed already and waiting for it too), so that a re-run links them. One a --retry-failed list leaves out
        is not reported (nor counted). waiting: None for a run that was never listed (unreadable)."""
        done.forget(run_id)
        if self.wanted is None or self.wanted("runs", run_id):
            self.report.failed("runs", run_id, why, name=dst_name)
            done.tally["failed"] += 1
        if waiting is not None:
            self._children_fail(run_id, dst_name, done, waiting)

    def _children_fail(self, parent, dst_name, done, waiting):
        for child in waiting.pop(parent):
            self._run_failed(child.info.run_id, self._parent_failed(parent), dst_name, done, waiting)

    def _parent_failed(self, parent):
        return f"its parent run '{parent}' was not {self.source.verb}"

    def _plan(self, run, dst_run):
        action = self.source.plan(run, dst_run, self.options)
        if self.wanted is None or self.wanted("runs", run.info.run_id):
            return action
        return run_plans.left_out(action)

    def _one(self, src_run, action, read, dst_name, dst_id, existing, done):
        """Carry out one run's action. Returns its RunOutcome (dst_info None when it has no copy). read: the run
        as read from the source (read_ahead.Staged, Unread or Failed) for a run to copy, else None."""
        src_id = src_run.info.run_id
        dst_run = existing.get(src_id)
        label = src_run.info.run_name or src_id
        dst_info = dst_run.info if dst_run else None
        if action.kind in (run_plans.KEEP, run_plans.OMIT):
            return RunOutcome(dst_info, None)
        if action.kind == run_plans.SKIP:  # a child of a run with no copy is copied unlinked
            self.report.skipped("runs", src_id, action.reason)
            return RunOutcome(dst_info, self._missing_links(src_run, dst_run))
        if self.dry_run:
            self.report.would("runs", src_id, f"{action.kind} run '{label}' ({src_id}) in experiment "
                                              f"'{dst_name}': {action.reason}")
            return RunOutcome(dst_info, None)
        links = None
        if action.kind == run_plans.DELETE:
            self.writer.delete(dst_run)
        elif action.kind == run_plans.UPDATE:
            for note in self.writer.update(src_run, dst_run):
                self.report.note(f"run {src_id}: {note}")
        else:
            src_parent = src_run.data.tags.get(MLFLOW_PARENT_RUN_ID)
            dst_info, run_dct = self.writer.copy(dst_id, done.mapping.get(src_parent), dst_run, read)
            links = model_links(run_dct)
        self.report.copied("runs")
        return RunOutcome(dst_info, links)

    def _missing_links(self, src_run, dst_run):
        return None if self.dry_run else self.source.missing_links(src_run, dst_run)

    def _delete_orphans(self, dst_name, existing, seen):
        for src_id, dst_run in existing.items():
            if src_id in seen.seen:
                continue
            action = run_plans.plan_orphan(dst_run, self.options)
            if action is None:
                continue
            if self.dry_run:
                self.report.would("runs", src_id, f"delete the copy {dst_run.info.run_id} in '{dst_name}': "
                                                  f"{action.reason}")
            else:
                self._act(lambda: self.writer.delete(dst_run), "runs", src_id, dst_name)

    def _act(self, fn, kind=None, obj_id=None, name=None):
        try:
            fn()
            if kind:
                self.report.copied(kind)
        except Exception as ex:
            self.report.failed(kind or "experiments", obj_id or name, describe_error(ex), name=name)


class _Waiting:
    """Listed runs whose parent has no copy yet, by parent ({source parent id: [runs]}). A run whose parent waits
    waits too, whatever the page it came on."""

    def __init__(self):
        self.by_parent, self.ids = {}, set()

    def add(self, parent, run):
        self.by_parent.setdefault(parent, []).append(run)
        self.ids.add(run.info.run_id)

    def pop(self, parent):
        runs = self.by_parent.pop(parent, [])
        self.ids.difference_update(r.info.run_id for r in runs)
        return runs

    def __contains__(self, run_id):
        return run_id in self.ids

    def roots(self):
        """The parents waited for that are not waiting themselves: never listed."""
        return [parent for parent in self.by_parent if parent not in self.ids]

    def pop_all(self):
        return [run for parent in list(self.by_parent) for run in self.pop(parent)]


class _RunIds:
    """Source run id -> destination run id of every run with a copy, the destination RunInfo of the runs this
    copy carried out or found copied, the source runs listed so far, the logged-model links of the runs created
    now, and how many runs were copied, skipped and failed."""

    def __init__(self, existing):
        self.mapping = {src: run.info.run_id for src, run in existing.items()}  # None: no copy (dry run)
        self.infos = {}
        self.seen = set()
        self.links = {}
        self.tally = Counter()

    def add(self, src_id, outcome):
        self.mapping[src_id] = outcome.dst_info.run_id if outcome.dst_info else None
        if outcome.dst_info:
            self.infos[src_id] = outcome.dst_info
        if outcome.links:
            self.links[src_id] = outcome.links

    def written(self):
        """{copy id: RunInfo as left} of the runs this copy wrote with logged-model links to make: their copies
        have none yet, and need not be read again to find out."""
        return {self.infos[src].run_id: self.infos[src] for src in self.links if src in self.infos}

    def count(self, action, dry_run):
        if action.kind == run_plans.SKIP:
            self.tally["skipped"] += 1
        elif action.kind != run_plans.KEEP and not dry_run:
            self.tally["copied"] += 1

    def forget(self, src_id):
        """No copy of the run to link to (an earlier attempt may have left one half-done)."""
        self.mapping.pop(src_id, None)
