"""Import one exported run: the same params, metric histories, tags, inputs, artifacts, user, start and end
time and status as the source; MLmodel files point at the new run id."""
import os
import re
import shutil
import tempfile
import threading
import time

import click
from mlflow.entities import Dataset, DatasetInput, InputTag, RunStatus, RunTag
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.client.scope import scoped_object
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common.artifact_upload import find_mlmodel_files, log_artifacts_to
from mlflow_export_import.common.click_options import (
    opt_dry_run,
    bool_option, opt_dst_notebook_dir, opt_experiment_name, opt_import_source_tags, opt_input_dir, opt_report,
    opt_use_src_user_id)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.id_map import LOGGED_MODELS, IdMap
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.common.utils import get_user
from mlflow_export_import.logged_model.import_logged_model import import_logged_models_dir, link_runs_to_models
from mlflow_export_import.notebook.notebooks import import_run_notebook
from mlflow_export_import.run.run_data_importer import (
    MAX_BATCH_BYTES, MAX_PARAMS_TAGS_PER_BATCH, _metrics, _params, entity_bytes, find_over_limit_value,
    mk_final_batches, mk_run_source_tags)
from mlflow_export_import.run.plan import (
    SKIP, find_earlier_import, info_with, is_deleted, plan_run, read_run, run_action)

MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_USER = "mlflow.user"
MLFLOW_RUN_NAME = "mlflow.runName"

WRITE_ATTEMPTS = 3
TRANSIENT_SERVER_ERRORS = ("QueuePool limit", "database is locked", "Deadlock found", "UNIQUE constraint failed")

_logger = get_logger(__name__)


def import_run(input_dir, experiment_name, import_source_tags=False, dst_notebook_dir=None, use_src_user_id=True,
               mlmodel_fix=True, import_logged_models=False, mlflow_client=None, report=None):
    """Import the run exported in input_dir into experiment_name (created if missing).
    Returns (destination Run, source parent run id or None). A parent already imported into that
    experiment is linked; otherwise the source parent id is kept as a lineage tag."""
    client = use_client(mlflow_client)
    run_dct = read_run(input_dir)
    experiment_id, _ = set_experiment(client, experiment_name)
    src_parent_id = run_dct["tags"].get(MLFLOW_PARENT_RUN_ID)
    dst_parent_id = find_imported_run_id(client, experiment_id, src_parent_id) if src_parent_id else None
    src_run_id = run_dct["info"]["run_id"]
    earlier = find_earlier_import(client, experiment_id, src_run_id)
    if run_action(earlier, is_deleted(run_dct)) == SKIP:
        if report is not None:
            report.skipped("runs", src_run_id, f"already imported as run '{earlier.info.run_id}'")
        run_id = earlier.info.run_id
    else:
        importer = RunImporter(client, import_source_tags, use_src_user_id, mlmodel_fix,
                               dst_notebook_dir=dst_notebook_dir, report=report)
        run_id = importer.import_run(experiment_id, input_dir, run_dct, dst_parent_id, reuse_run=earlier)
        if report is not None:
            report.copied("runs")
    if import_logged_models:
        _import_run_logged_models(client, experiment_id, input_dir, run_dct["info"]["run_id"], run_id, report)
    return client.get_run(run_id), src_parent_id


def _import_run_logged_models(client, experiment_id, input_dir, src_run_id, run_id, report):
    """The logged models export-run wrote next to run.json, then the run's model inputs and outputs."""
    report = report if report is not None else Report()
    id_map = IdMap()
    import_logged_models_dir(client, input_dir, experiment_id, {src_run_id: run_id}, report, id_map)
    link_runs_to_models(client, {src_run_id: input_dir}, {src_run_id: run_id}, id_map.items(LOGGED_MODELS), report)


def find_imported_run_id(client, experiment_id, src_run_id):
    """The destination run that a completed earlier import made from src_run_id, if any."""
    run = find_earlier_import(client, experiment_id, src_run_id)
    return run.info.run_id if run and run.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE else None


class RunImporter:
    """Imports runs in as few requests as MLflow's API allows: one create_run carrying the lineage and as many
    of the run's tags as it takes; LogBatch requests packed to the limits; the dataset inputs; one PUT per artifact
    file; the status and end time; and the 'done' state in the last LogBatch, so that a run is marked done only
    once everything else arrived. Nothing is read back. `create` and `fill` can run apart (a driver creates, a
    task fills): filling a run twice writes the same params, tags, metric points and files again, which MLflow
    keeps once."""

    def __init__(self, client, import_source_tags=False, use_src_user_id=True, mlmodel_fix=True,
                 dst_notebook_dir=None, report=None):
        self.client = client
        self.import_source_tags = import_source_tags
        self.use_src_user_id = use_src_user_id
        self.mlmodel_fix = mlmodel_fix
        self.dst_notebook_dir = dst_notebook_dir  # where the run's exported notebook goes (Databricks)
        self.report = report if report is not None else Report()
        self._datasets_logged = set()  # (experiment id, dataset name, digest) this importer has logged
        self._new_dataset_lock = threading.Lock()

    def import_run(self, experiment_id, input_dir, run_dct, dst_parent_id=None, reuse_run=None):
        """Create the run and fill it; returns its id. A run that fails half-way is marked FAILED and deleted, so
        it never looks complete; its `mlflow_exim.import.state` tag stays 'started'. `reuse_run`, such a run left
        by an earlier import, is filled again instead of creating a twin."""
        return self.import_run_info(experiment_id, input_dir, run_dct, dst_parent_id, reuse_run).run_id

    def import_run_info(self, experiment_id, input_dir, run_dct, dst_parent_id=None, reuse_run=None):
        """As import_run; returns the destination RunInfo as the import left it, without reading it back."""
        check_importable(input_dir, run_dct)
        if reuse_run is None:
            return self.fill(self.create(experiment_id, run_dct, dst_parent_id), input_dir, run_dct)
        return self.fill(self.reopen(reuse_run), input_dir, run_dct, dst_parent_id, resumed=True)

    def create(self, experiment_id, run_dct, dst_parent_id=None):
        """The destination run (RunInfo), state 'started', with its lineage, user, parent and the run's tags that
        creation takes."""
        info = run_dct["info"]
        creation, _ = self._split_tags(run_dct, dst_parent_id)
        run = self._call(info["run_id"], self.client.create_run, experiment_id, start_time=info.get("start_time"),
                         tags=creation, run_name=_run_name(run_dct))
        return run.info

    def reopen(self, run):
        """The RunInfo of a run an earlier import left half-done, restored if that import deleted it."""
        info = run.info if hasattr(run, "info") else run
        if info.lifecycle_stage == "deleted":
            self._call(info.run_id, self.client.restore_run, info.run_id)
        return info_with(info, lifecycle_stage="active")

    def fill(self, run_info, input_dir, run_dct, dst_parent_id=None, resumed=False):
        """Write the run's data, inputs, artifacts (and notebook), status and end time into run_info's run, mark
        it done, and delete it when the source run is deleted. resumed: the run was made by an earlier import,
        so its creation tags and status are written again. Returns the run's RunInfo as left."""
        src_id = run_dct["info"]["run_id"]
        try:
            return self._fill(run_info, input_dir, run_dct, dst_parent_id, resumed)
        except Exception as ex:
            self._discard(run_info.run_id)
            raise MlflowExportImportException(
                ex, f"Run '{src_id}' from '{input_dir}' failed to import: {describe_error(ex)}")

    def _fill(self, run_info, input_dir, run_dct, dst_parent_id, resumed):
        info, run_id, src_id = run_dct["info"], run_info.run_id, run_dct["info"]["run_id"]
        batches = self._batches(run_dct, dst_parent_id, resumed)
        for params, metrics, tags in batches[:-1]:
            self._call(src_id, self.client.log_batch, run_id, metrics=metrics, params=params, tags=tags)
        self._log_dataset_inputs(src_id, run_info, run_dct["inputs"].get("dataset_inputs") or [])
        self._call(src_id, self._upload_artifacts, run_info, os.path.join(input_dir, "artifacts"))
        # before the run is marked done, so that a resumed import points the tags at the notebook again
        import_run_notebook(self.client, run_id, input_dir, run_dct, self.dst_notebook_dir, self.report)
        updated = self._set_status(src_id, run_id, info.get("status") or "FINISHED", info.get("end_time"), resumed)
        params, metrics, tags = batches[-1]  # it carries state 'done'
        self._call(src_id, self.client.log_batch, run_id, metrics=metrics, params=params, tags=tags)
        deleted = is_deleted(run_dct)
        if deleted:
            self._call(src_id, self.client.delete_run, run_id)
        return info_with(updated or run_info, lifecycle_stage="deleted" if deleted else "active")

    def _batches(self, run_dct, dst_parent_id, resumed):
        """The LogBatch payloads, the last one carrying state 'done'. A new run got its creation tags at
        create_run; a resumed one gets them again (its parent may have been imported since)."""
        creation, later = self._split_tags(run_dct, dst_parent_id)
        tags = {**creation, **later} if resumed else later
        tags.pop(ImportTags.STATE, None)
        done = [RunTag(ImportTags.STATE, ImportTags.STATE_DONE)]
        # the notebook step rewrites tags after the data batches: the final batch then carries 'done' only
        return mk_final_batches(_params(run_dct), _metrics(run_dct), [RunTag(k, v) for k, v in tags.items()], done,
                                fold=not self.dst_notebook_dir)

    def _split_tags(self, run_dct, dst_parent_id):
        """(tags set at create_run, tags left for LogBatch): the lineage, user and parent, then the run's own tags
        up to LogBatch's tag limit (create_run documents none; a platform may enforce one)."""
        creation = self._creation_tags(run_dct, dst_parent_id)
        later, run_name = {}, _run_name(run_dct)
        size = sum(entity_bytes(RunTag(k, v)) for k, v in creation.items())
        for key, value in self._own_tags(run_dct).items():
            size += entity_bytes(RunTag(key, value))
            # create_run refuses an mlflow.runName tag that differs from its run_name
            fits = len(creation) < MAX_PARAMS_TAGS_PER_BATCH and size <= MAX_BATCH_BYTES and \
                (key != MLFLOW_RUN_NAME or value == run_name)
            (creation if fits else later)[key] = value
        return creation, later

    def _own_tags(self, run_dct):
        """The run's tags as imported. A source run that an import made carries that import's lineage and state:
        copied, they would undo this import's own (state 'done' before the artifacts are in, the grandparent's id
        as source run). The user and parent are creation tags."""
        tags = {k: str(v) for k, v in run_dct["tags"].items()
                if k not in (MLFLOW_PARENT_RUN_ID, MLFLOW_USER) and not k.startswith(ImportTags.PREFIX)}
        tags.update(self._lineage_tags(run_dct))
        return tags

    def _creation_tags(self, run_dct, dst_parent_id):
        info, tags = run_dct["info"], run_dct["tags"]
        creation = {ImportTags.SRC_RUN_ID: info["run_id"], ImportTags.STATE: ImportTags.STATE_STARTED}
        if not self.use_src_user_id:
            creation[MLFLOW_USER] = get_user()
        elif MLFLOW_USER in tags or info.get("user_id") not in (None, "", "unknown"):
            # The server takes the run's user from this tag at creation.
            creation[MLFLOW_USER] = tags.get(MLFLOW_USER) or info["user_id"]
        src_parent_id = tags.get(MLFLOW_PARENT_RUN_ID)
        if src_parent_id:
            creation[ImportTags.SRC_PARENT_RUN_ID] = src_parent_id
            if dst_parent_id:
                creation[MLFLOW_PARENT_RUN_ID] = dst_parent_id
        return creation

    def _lineage_tags(self, run_dct):
        return mk_run_source_tags(run_dct) if self.import_source_tags else {}

    def _log_dataset_inputs(self, src_id, run_info, dataset_inputs):
        """A dataset new to the experiment is created by the first run that logs it: two runs doing so at once
        collide (UNIQUE constraint), and the loser's request is sent again. So the runs of one importer log new
        datasets one at a time."""
        datasets = [DatasetInput(Dataset(**_dataset_fields(di["dataset"])),
                                 [InputTag(t["key"], t["value"]) for t in di.get("tags") or []])
                    for di in dataset_inputs]
        if not datasets:
            return
        keys = {(run_info.experiment_id, d.dataset.name, d.dataset.digest) for d in datasets}
        if keys <= self._datasets_logged:
            self._call(src_id, self.client.log_inputs, run_info.run_id, datasets=datasets)
            return
        with self._new_dataset_lock:
            self._call(src_id, self.client.log_inputs, run_info.run_id, datasets=datasets)
            self._datasets_logged |= keys

    def _upload_artifacts(self, run_info, artifacts_dir):
        """Every file once, the MLmodel files already pointing at the new run."""
        if not os.path.isdir(artifacts_dir) or not os.listdir(artifacts_dir):
            return
        fixed = self._fixed_mlmodels(run_info.run_id, artifacts_dir) if self.mlmodel_fix else {}
        if not fixed:
            log_artifacts_to(self.client, run_info.artifact_uri, artifacts_dir)
            return
        with tempfile.TemporaryDirectory() as tmp:
            log_artifacts_to(self.client, run_info.artifact_uri, stage_artifacts(artifacts_dir, tmp, fixed))

    @staticmethod
    def _fixed_mlmodels(run_id, artifacts_dir):
        """{path of an MLmodel file: its text with run_id pointing at the new run}, for those that change."""
        fixed = {}
        for path in find_mlmodel_files(artifacts_dir):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            new_text = re.sub(r"(?m)^run_id:.*$", f"run_id: {run_id}", text)
            if new_text != text:
                fixed[path] = new_text
        return fixed

    def _set_status(self, src_id, run_id, status, end_time, resumed):
        """The run's RunInfo as the server answers the status update, or None when none was needed: a new run is
        RUNNING already; a resumed one may have been marked FAILED by the import that left it. Through the store:
        MlflowClient reads the run first (update_run, for the end time it keeps) or after (set_terminated, to
        print its URL)."""
        if status == RunStatus.to_string(RunStatus.RUNNING) and not resumed:
            return None
        store = scoped_object(self.client, self.client._tracking_client.store)
        return self._call(src_id, store.update_run_info, run_id, RunStatus.from_string(status), end_time, None)

    def _call(self, src_id, fn, *args, **kwargs):
        """fn(*args, **kwargs), again when a busy server refused it: every write of an import is idempotent, so
        only the refused request is repeated, not the run."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except Exception as ex:
                if attempt == WRITE_ATTEMPTS or not is_transient_write_error(ex):
                    if is_transient_write_error(ex):
                        _logger.warning(f"Run '{src_id}': the server stayed busy, gave up after {attempt} "
                                        f"attempts: {describe_error(ex)}")
                    raise
                # a busy server is the common case and the next attempt succeeds: not worth a warning
                _logger.debug(f"Run '{src_id}': {describe_error(ex)}; trying again")
                time.sleep(2 * attempt)

    def _discard(self, run_id):
        try:
            self.client.set_terminated(run_id, "FAILED")
            self.client.delete_run(run_id)
        except Exception as ex:
            _logger.warning(f"Could not mark the half-imported run '{run_id}' as failed: {describe_error(ex)}")


def check_importable(input_dir, run_dct):
    """Refuse, before anything is written, a run MLflow would change: it cuts an over-long value without an
    error."""
    problem = find_over_limit_value(run_dct)
    if problem:
        raise MlflowExportImportException(
            f"Run '{run_dct['info']['run_id']}' from '{input_dir}' cannot be imported: {problem}",
            http_status_code=400)


def stage_artifacts(artifacts_dir, staging_dir, replaced):
    """A copy of artifacts_dir in staging_dir made of links to its files, except those of `replaced` ({path:
    text}), written with their new text. Returns staging_dir."""
    for root, _, files in os.walk(artifacts_dir):
        target_dir = os.path.join(staging_dir, os.path.relpath(root, artifacts_dir))
        os.makedirs(target_dir, exist_ok=True)
        for name in files:
            src, dst = os.path.join(root, name), os.path.join(target_dir, name)
            if src in replaced:
                with open(dst, "w", encoding="utf-8") as f:
                    f.write(replaced[src])
                continue
            try:
                os.symlink(os.path.abspath(src), dst)
            except OSError:  # no symlinks here (Windows without the privilege)
                shutil.copyfile(src, dst)
    return staging_dir


def _run_name(run_dct):
    return run_dct["info"].get("run_name") or run_dct["tags"].get(MLFLOW_RUN_NAME)


def is_transient_write_error(ex):
    """Errors a busy SQL-backed server answers with 400 (so MLflow's own 5xx retries never fire), or a lost
    race between two runs logging the same new dataset: filling the run again succeeds."""
    return isinstance(ex, MlflowException) and any(p in ex.message for p in TRANSIENT_SERVER_ERRORS)


def _dataset_fields(dct):
    return {k: dct.get(k) for k in ("name", "digest", "source_type", "source", "schema", "profile")}


@click.command("import-run")
@opt_input_dir
@opt_experiment_name
@opt_import_source_tags
@opt_use_src_user_id
@opt_dst_notebook_dir
@bool_option("--mlmodel-fix", "Point the run_id of every imported MLmodel file at the new run.", default=True)
@opt_dry_run
@opt_report
def main(input_dir, experiment_name, import_source_tags, use_src_user_id, dst_notebook_dir, mlmodel_fix,
         dry_run, report_file):
    """Import a run exported by export-run into an experiment."""
    with command("import-run", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_run(mk_client(read_only=True), input_dir, experiment_name, report)
            return
        client = mk_client()
        try:
            run, _ = import_run(input_dir, experiment_name, import_source_tags, dst_notebook_dir, use_src_user_id,
                                mlmodel_fix, import_logged_models=True, mlflow_client=client, report=report)
            click.echo(f"Imported run '{run.info.run_id}' into experiment '{experiment_name}'")
        except MlflowExportImportException as ex:
            report.failed("runs", input_dir, ex.message)


if __name__ == "__main__":
    main()
