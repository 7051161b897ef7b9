"""Runs: what to do with each source run given its copy in the destination, and doing it.

Change detection reads nothing but the two run listings, which already carry params, tags, the latest point of
each metric, status, end time and lifecycle: a run that did not change costs no request of its own. What a
listing cannot show is noted in the README: artifacts added to a run that had already ended (checked with
`check_artifacts`), and metric points inserted before a key's latest point.
"""
import math
import os
import tempfile
from collections import Counter, namedtuple

from mlflow.entities import Metric, Param, RunTag

from mlflow_export_import.common.source_tags import ExportTags, ImportTags
from mlflow_export_import.run.import_run import MLFLOW_PARENT_RUN_ID
from mlflow_export_import.run.plan import RETRY_LEFT_OUT
from mlflow_export_import.run.run_data_importer import mk_batches

CREATE, FINISH, UPDATE, SKIP, DELETE = "create", "finish", "update", "skip", "delete"
# a run a --retry-failed list leaves out: neither tried nor counted. KEEP: its finished copy stands (children link
# to it); OMIT: it has none, so its children fail with it, as they did when it failed
KEEP, OMIT = "keep", "omit"
DELETED, RUNNING = "deleted", "RUNNING"
LINEAGE_PREFIX = f"{ExportTags.PREFIX_ROOT}."

Action = namedtuple("Action", "kind reason")


class Options(namedtuple("Options", "sync delete include_deleted check_artifacts")):
    """sync: bring copies up to date (a copy only creates and finishes); delete: propagate deletions;
    include_deleted: copy runs deleted in the source (as deleted runs); check_artifacts: compare the artifact
    listings of every matched run, not only of those that changed."""


def plan_run(src_run, dst_run, options):
    """The action for one source run and its copy (None when there is none yet)."""
    src_deleted = src_run.info.lifecycle_stage == DELETED
    if dst_run is None:
        if src_deleted and not options.include_deleted:
            return Action(SKIP, "deleted in the source")
        return Action(CREATE, "new")
    if dst_run.data.tags.get(ImportTags.STATE) != ImportTags.STATE_DONE:
        return Action(FINISH, "an earlier copy stopped half-way")
    dst_deleted = dst_run.info.lifecycle_stage == DELETED
    if not options.sync:
        if src_deleted and not dst_deleted:
            # a copy of a deleted run ends by deleting it (a deleted run takes no write, not even the 'done' tag):
            # one stopped just before left it active (run/plan.is_finished says the same of imports)
            return Action(DELETE, "an earlier copy stopped before deleting it")
        return Action(SKIP, "already copied")
    if src_deleted and not dst_deleted:
        return Action(DELETE, "deleted in the source") if options.delete else \
            Action(SKIP, "deleted in the source (use --delete to delete the copy)")
    differences = listing_differences(src_run, dst_run)
    if differences:
        return Action(UPDATE, "changed: " + ", ".join(differences))
    if options.check_artifacts:
        return Action(UPDATE, "artifacts to compare")
    return Action(SKIP, "unchanged")


def plan_orphan(dst_run, options):
    """A copy whose source run is gone (deleted permanently, or out of the source's listing)."""
    if dst_run.info.lifecycle_stage == DELETED or not options.delete:
        return None
    return Action(DELETE, "gone from the source")


def listing_differences(src_run, dst_run):
    """What differs between a source run and its copy, as far as the listings show."""
    found = []
    s, d = src_run.info, dst_run.info
    if (s.lifecycle_stage == DELETED) != (d.lifecycle_stage == DELETED):
        found.append("restored")
    for field in ("run_name", "status", "end_time"):
        if getattr(s, field) != getattr(d, field):
            found.append(field)
    if src_run.data.params != dst_run.data.params:
        found.append("params")
    if compared_tags(src_run.data.tags) != compared_tags(dst_run.data.tags):
        found.append("tags")
    if latest_points(src_run) != latest_points(dst_run):
        found.append("metrics")
    return found


def compared_tags(tags):
    """The tags a copy must equal: lineage tags and the parent link (an id of each side) left out."""
    return {k: v for k, v in tags.items() if not k.startswith(LINEAGE_PREFIX) and k != MLFLOW_PARENT_RUN_ID}


def latest_points(run):
    return {m.key: point_key(m) for m in run.data._metric_objs}


def point_key(metric):
    value = metric.value
    text = "nan" if isinstance(value, float) and math.isnan(value) else repr(float(value))
    return int(metric.step or 0), int(metric.timestamp or 0), text


def left_out(action):
    """What becomes of a run a --retry-failed list leaves out, given the action it would have had."""
    return Action(KEEP if action.kind == SKIP else OMIT, RETRY_LEFT_OUT)


def model_links(run_dct):
    """(logged-model inputs, [(output model, step)]) of a run, or None when it has none."""
    inputs = [m["model_id"] for m in (run_dct.get("inputs") or {}).get("model_inputs") or []]
    outputs = [(m["model_id"], m.get("step") or 0) for m in (run_dct.get("outputs") or {}).get("model_outputs") or []]
    return (inputs, outputs) if inputs or outputs else None


def run_outputs(run):
    return getattr(getattr(run, "outputs", None), "model_outputs", None) or []


class RunWriter:
    """Creates, finishes, updates and deletes copies of runs in the destination. source: the side the runs come
    from (engine/source_server.py, engine/source_dir.py); only a server source is synced (update)."""

    def __init__(self, source, dst, importer, options):
        self.source, self.dst, self.importer, self.options = source, dst, importer, options

    def copy(self, experiment_id, dst_parent_id, earlier, read):
        """Create (or finish) the copy. Returns (its RunInfo as the import left it, the run's dict as exported).
        read: the run as read from the source (engine/read_ahead.py); its temporary files go once it is written."""
        with read.open() as (input_dir, run_dct):
            info = self.importer.import_run_info(experiment_id, input_dir, run_dct, dst_parent_id, reuse_run=earlier)
        return info, run_dct

    def delete(self, dst_run):
        self.dst.delete_run(dst_run.info.run_id)

    def update(self, src_run, dst_run):
        """Bring the copy level with its source: lifecycle, params added, tags set and removed, new metric
        points, run name, status and end time, and new or changed artifact files. Returns notes for the report
        (what MLflow does not let a copy change)."""
        dst_id, notes = dst_run.info.run_id, []
        if dst_run.info.lifecycle_stage == DELETED and src_run.info.lifecycle_stage != DELETED:
            self.dst.restore_run(dst_id)
        params, changed = new_params(src_run.data.params, dst_run.data.params)
        if changed:
            notes.append(f"params {', '.join(sorted(changed))} changed in the source: MLflow params cannot change")
        tags, removed = tag_changes(src_run.data.tags, dst_run.data.tags)
        metrics = self._new_metric_points(src_run, dst_run)
        for p, m, t in mk_batches(params, metrics, tags):
            self.dst.log_batch(dst_id, metrics=m, params=p, tags=t)
        for key in removed:
            self.dst.delete_tag(dst_id, key)
        self._update_info(src_run, dst_run)
        if self.options.check_artifacts or dst_run.info.status == RUNNING or \
                src_run.info.status != dst_run.info.status:
            notes += self.sync_artifacts(src_run.info.run_id, dst_id)
        return notes

    def _new_metric_points(self, src_run, dst_run):
        dst_latest = latest_points(dst_run)
        points = []
        for key, latest in latest_points(src_run).items():
            if dst_latest.get(key) == latest:
                continue
            have = Counter(point_key(m) for m in self.dst.get_metric_history(dst_run.info.run_id, key))
            for m in self.source.client.get_metric_history(src_run.info.run_id, key):
                k = point_key(m)
                if have[k]:
                    have[k] -= 1
                else:
                    points.append(Metric(key, m.value, m.timestamp, m.step))
        return points

    def _update_info(self, src_run, dst_run):
        s, d = src_run.info, dst_run.info
        if s.run_name != d.run_name:
            self.dst.update_run(d.run_id, name=s.run_name)
        if (s.status, s.end_time) != (d.status, d.end_time) and s.status != RUNNING:
            self.dst.set_terminated(d.run_id, s.status, s.end_time)

    def sync_artifacts(self, src_id, dst_id):
        """Upload the source's files that the copy lacks or has with another size."""
        src_files, dst_files = artifact_sizes(self.source.client, src_id), artifact_sizes(self.dst, dst_id)
        missing = [p for p, size in src_files.items() if dst_files.get(p) != size]
        with tempfile.TemporaryDirectory(prefix="mlflow-sync-") as tmp:
            for path in missing:
                local = self.source.client.download_artifacts(src_id, path, tmp)
                self.dst.log_artifact(dst_id, local, os.path.dirname(path) or None)
        gone = sorted(set(dst_files) - set(src_files))
        return [f"artifacts {', '.join(gone)} were removed from the source run {src_id}: MLflow has no call to "
                "remove them from the copy"] if gone else []


def new_params(src_params, dst_params):
    """(params to log, keys whose value changed)."""
    return ([Param(k, v) for k, v in src_params.items() if k not in dst_params],
            [k for k, v in src_params.items() if k in dst_params and dst_params[k] != v])


def tag_changes(src_tags, dst_tags):
    """(tags to set, keys to delete): lineage tags and the parent link are the copy's own."""
    src, dst = compared_tags(src_tags), compared_tags(dst_tags)
    return ([RunTag(k, v) for k, v in src.items() if dst.get(k) != v],
            sorted(k for k in dst if k not in src))


def artifact_sizes(client, run_id, path=None):
    """{file path: size} of a run's artifacts, one listing per directory."""
    sizes = {}
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            sizes.update(artifact_sizes(client, run_id, f.path))
        else:
            sizes[f.path] = f.file_size
    return sizes
