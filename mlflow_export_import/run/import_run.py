"""Import one exported run: the same params, metric histories, tags, inputs, artifacts, user, start and end
time and status as the source; MLmodel files point at the new run id."""
import os
import re
import tempfile
import time

import click
from mlflow.entities import Dataset, DatasetInput, InputTag, RunStatus, ViewType
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
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
from mlflow_export_import.notebook.notebooks import import_run_notebook
from mlflow_export_import.run.export_run import RUN_FILE
from mlflow_export_import.run.run_data_importer import find_over_limit_value, import_run_data, mk_run_source_tags

MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
MLFLOW_USER = "mlflow.user"
MLFLOW_RUN_NAME = "mlflow.runName"

FILL_ATTEMPTS = 3
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
    if earlier is not None and earlier.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE:
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
    # Imported here: the logged model importer itself imports this module.
    from mlflow_export_import.logged_model.import_logged_model import import_logged_models_dir, link_runs_to_models
    report = report if report is not None else Report()
    id_map = IdMap()
    import_logged_models_dir(client, input_dir, experiment_id, {src_run_id: run_id}, report, id_map)
    link_runs_to_models(client, {src_run_id: input_dir}, {src_run_id: run_id}, id_map.items(LOGGED_MODELS), report)


def read_run(input_dir):
    """run.json as the current format has it, whatever shape the export was written in."""
    path = os.path.join(input_dir, RUN_FILE)
    dct = io_utils.read_file_mlflow(path)
    info = dct.get("info")
    if not isinstance(info, dict) or not (info.get("run_id") or info.get("run_uuid")):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no run info", http_status_code=400)
    info.setdefault("run_id", info.get("run_uuid"))
    dct.setdefault("params", {})
    dct.setdefault("metrics", {})
    dct.setdefault("tags", {})
    inputs = dct.get("inputs")
    if isinstance(inputs, list):  # exports before 2025-10: a plain list of dataset inputs
        inputs = {"dataset_inputs": inputs, "model_inputs": []}
    dct["inputs"] = inputs or {"dataset_inputs": [], "model_inputs": []}
    dct.setdefault("outputs", {"model_outputs": []})
    for key, points in dct["metrics"].items():
        if not isinstance(points, list) or not all(isinstance(p, dict) and "value" in p for p in points):
            raise MlflowExportImportException(f"Corrupt export file '{path}': metric '{key}' is not a list of "
                                              "points (value, timestamp, step)", http_status_code=400)
    return dct


def find_earlier_import(client, experiment_id, src_run_id):
    """The run an earlier import or copy made from src_run_id in this experiment: a finished one first,
    else one left half-done (to be finished instead of getting a twin), else None."""
    runs = client.search_runs([experiment_id], filter_string=f"tags.`{ImportTags.SRC_RUN_ID}` = '{src_run_id}'",
                              run_view_type=ViewType.ALL, max_results=100)
    done = [r for r in runs if r.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE]
    return (done or runs or [None])[0]


def find_imported_run_id(client, experiment_id, src_run_id):
    """The destination run that a completed earlier import made from src_run_id, if any."""
    run = find_earlier_import(client, experiment_id, src_run_id)
    return run.info.run_id if run and run.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE else None


class RunImporter:
    def __init__(self, client, import_source_tags=False, use_src_user_id=True, mlmodel_fix=True,
                 dst_notebook_dir=None, report=None):
        self.client = client
        self.import_source_tags = import_source_tags
        self.use_src_user_id = use_src_user_id
        self.mlmodel_fix = mlmodel_fix
        self.dst_notebook_dir = dst_notebook_dir  # where the run's exported notebook goes (Databricks)
        self.report = report if report is not None else Report()

    def import_run(self, experiment_id, input_dir, run_dct, dst_parent_id=None, reuse_run=None):
        """Create the run and fill it. A run that fails half-way is marked FAILED and deleted, so it never
        looks complete; its `mlflow_exim.import.state` tag stays 'started'. `reuse_run`, such a run left by
        an earlier import, is filled again instead of creating a twin (writes are idempotent: the same
        params, tags and metric points again)."""
        info = run_dct["info"]
        problem = find_over_limit_value(run_dct)
        if problem:  # refused before anything is written: MLflow would cut the value without an error
            raise MlflowExportImportException(
                f"Run '{info['run_id']}' from '{input_dir}' cannot be imported: {problem}", http_status_code=400)
        if reuse_run is not None:
            run_id = reuse_run.info.run_id
            if reuse_run.info.lifecycle_stage == "deleted":
                self.client.restore_run(run_id)
            self.client.update_run(run_id, status="RUNNING")
            for key, value in self._creation_tags(run_dct, dst_parent_id).items():
                self.client.set_tag(run_id, key, value)
        else:
            run = self.client.create_run(experiment_id, start_time=info.get("start_time"),
                                         tags=self._creation_tags(run_dct, dst_parent_id),
                                         run_name=info.get("run_name") or run_dct["tags"].get(MLFLOW_RUN_NAME))
            run_id = run.info.run_id
        for attempt in range(1, FILL_ATTEMPTS + 1):
            try:
                self._fill(run_id, input_dir, run_dct)
                return run_id
            except Exception as ex:
                if attempt < FILL_ATTEMPTS and is_transient_write_error(ex):
                    # a busy server is the common case and the next fill succeeds: not worth a warning
                    _logger.debug(f"Run '{info['run_id']}': {describe_error(ex)}; filling it again")
                    time.sleep(2 * attempt)
                    continue
                if is_transient_write_error(ex):
                    _logger.warning(f"Run '{info['run_id']}': the server stayed busy, gave up after {attempt} "
                                    f"attempts: {describe_error(ex)}")
                self._discard(run_id)
                raise MlflowExportImportException(
                    ex, f"Run '{info['run_id']}' from '{input_dir}' failed to import: {describe_error(ex)}")

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

    def _fill(self, run_id, input_dir, run_dct):
        info = run_dct["info"]
        # A source run that an import made carries that import's lineage and state: copied, they would undo this
        # import's own (state 'done' before the artifacts are in, the grandparent's id as source run).
        earlier_lineage = tuple(k for k in run_dct["tags"] if k.startswith(ImportTags.PREFIX))
        import_run_data(self.client, run_dct, run_id, extra_tags=self._lineage_tags(run_dct),
                        skip_tags=(MLFLOW_PARENT_RUN_ID, MLFLOW_USER) + earlier_lineage)
        self._log_dataset_inputs(run_id, run_dct["inputs"].get("dataset_inputs") or [])
        self._upload_artifacts(run_id, os.path.join(input_dir, "artifacts"))
        # before the run is marked done, so that a resumed import points the tags at the notebook again
        import_run_notebook(self.client, run_id, input_dir, run_dct, self.dst_notebook_dir, self.report)
        self._set_status(run_id, info.get("status") or "FINISHED", info.get("end_time"))
        self.client.set_tag(run_id, ImportTags.STATE, ImportTags.STATE_DONE)
        if info.get("lifecycle_stage") == "deleted":
            self.client.delete_run(run_id)

    def _lineage_tags(self, run_dct):
        return mk_run_source_tags(run_dct) if self.import_source_tags else {}

    def _log_dataset_inputs(self, run_id, dataset_inputs):
        datasets = [DatasetInput(Dataset(**_dataset_fields(di["dataset"])),
                                 [InputTag(t["key"], t["value"]) for t in di.get("tags") or []])
                    for di in dataset_inputs]
        if datasets:
            self.client.log_inputs(run_id, datasets=datasets)

    def _upload_artifacts(self, run_id, artifacts_dir):
        if not os.path.isdir(artifacts_dir) or not os.listdir(artifacts_dir):
            return
        self.client.log_artifacts(run_id, artifacts_dir)
        if self.mlmodel_fix:
            for path in find_mlmodel_files(artifacts_dir):
                self._upload_fixed_mlmodel(run_id, artifacts_dir, path)

    def _upload_fixed_mlmodel(self, run_id, artifacts_dir, path):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        fixed = re.sub(r"(?m)^run_id:.*$", f"run_id: {run_id}", text)
        if fixed == text:
            return
        rel_dir = os.path.relpath(os.path.dirname(path), artifacts_dir)
        with tempfile.TemporaryDirectory() as tmp:
            tmp_path = os.path.join(tmp, "MLmodel")
            with open(tmp_path, "w", encoding="utf-8") as f:
                f.write(fixed)
            self.client.log_artifact(run_id, tmp_path, None if rel_dir == "." else rel_dir)

    def _set_status(self, run_id, status, end_time):
        if status == RunStatus.to_string(RunStatus.RUNNING):
            return
        if end_time is None:
            self.client.update_run(run_id, status=status)
        else:
            self.client.set_terminated(run_id, status, end_time)

    def _discard(self, run_id):
        try:
            self.client.set_terminated(run_id, "FAILED")
            self.client.delete_run(run_id)
        except Exception as ex:
            _logger.warning(f"Could not mark the half-imported run '{run_id}' as failed: {describe_error(ex)}")


def is_transient_write_error(ex):
    """Errors a busy SQL-backed server answers with 400 (so MLflow's own 5xx retries never fire), or a lost
    race between two runs logging the same new dataset: filling the run again succeeds."""
    return isinstance(ex, MlflowException) and any(p in ex.message for p in TRANSIENT_SERVER_ERRORS)


def find_mlmodel_files(artifacts_dir):
    """Every MLmodel under artifacts_dir, except the registry's copies in 'metadata' folders."""
    for root, dirs, files in os.walk(artifacts_dir):
        dirs[:] = [d for d in dirs if d != "metadata"]
        if "MLmodel" in files:
            yield os.path.join(root, "MLmodel")


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
            from mlflow_export_import import dry_run as plans  # it imports every import module
            plans.plan_run(mk_client(read_only=True), input_dir, experiment_name, report)
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
