"""Import one exported MLflow 3 logged model: name, type, params, tags, metrics, status and artifacts (MLmodel
rewritten for the new ids), linked to the destination copy of its source run when there is one.

Never creates a run: a model whose source run was not imported has no source run in the destination. A model
imported earlier (lineage tag `mlflow_exim.import.src_model_id`) is found and not duplicated."""
import math
import os
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager

import click
from mlflow.entities import LoggedModelInput, LoggedModelOutput, LoggedModelStatus, Metric, Run, RunData

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.artifact_upload import find_mlmodel_files, log_artifacts_to
from mlflow_export_import.common.click_options import (
    opt_dry_run,
    bool_option, opt_experiment_name, opt_input_dir, opt_report)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.logged_model.export_logged_model import KIND, LOGGED_MODEL_FILE
from mlflow_export_import.logged_model.plan import (
    REPLACE, SKIP, SRC_MODEL_ID_TAG, imported_logged_models, model_action, plan_logged_model, read_logged_model,
    record_failure)
from mlflow_export_import.run.plan import read_run

SERVER_SET_TAGS = ("mlflow.modelVersions",)  # set by the registry when versions point at the model

_logger = get_logger(__name__)
_locks_lock = threading.Lock()
_run_locks = {}


def import_logged_model(input_dir, experiment_name, run_id=None, mlmodel_fix=True, model_type=None, step=None,
                        mlflow_client=None, report=None, id_map=None, run_id_map=None):
    """Import the logged model exported in input_dir into experiment_name (created if missing).
    `run_id`: the destination run that stands for the model's source run, to which the model is linked as an
    input when model_type == "input", else as an output at `step`. `run_id_map` ({src run id: dst run id})
    maps its source run and its metrics' runs. Returns the destination LoggedModel (None if it failed; the
    reason is in the report)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    run_id_map = dict(run_id_map or {})
    try:
        source_run_id = read_logged_model(input_dir).get("source_run_id")  # fails before the experiment is created
        if run_id:
            run_id_map[source_run_id] = run_id
        experiment_id, _ = set_experiment(client, experiment_name)
        importer = LoggedModelImporter(client, mlmodel_fix, report, id_map)
        logged_model = importer.import_model(experiment_id, input_dir, run_id_map)
        if run_id:
            link_models(client, run_id, [logged_model.model_id] if model_type == "input" else [],
                        [] if model_type == "input" else [(logged_model.model_id, step or 0)])
        return logged_model
    except Exception as ex:
        record_failure(client, report, input_dir, ex)
        return None


class LoggedModelImporter:
    def __init__(self, client, mlmodel_fix=True, report=None, id_map=None, new_runs=None):
        """new_runs: {destination run id: RunInfo} of runs this import created, not read again (see
        while_active)."""
        self.client = client
        self.mlmodel_fix = mlmodel_fix
        self.report = report if report is not None else Report()
        self.id_map = id_map
        self.new_runs = new_runs or {}

    def import_model(self, experiment_id, input_dir, run_id_map, existing=None):
        """Returns the destination LoggedModel. `existing`: imported_logged_models() of the experiment, when
        the caller already has it."""
        dct = read_logged_model(input_dir)
        src_id = dct["model_id"]
        if existing is None:
            existing = imported_logged_models(self.client, experiment_id)
        earlier = existing.get(src_id)
        action = model_action(earlier, dct)
        if action == SKIP:
            self._remember(src_id, earlier.model_id)
            self.report.skipped(KIND, src_id, "already imported")
            return earlier
        if action == REPLACE:  # left half-done by an interrupted import
            self.client.delete_logged_model(earlier.model_id)
        dst_run_id = run_id_map.get(dct.get("source_run_id"))
        logged_model = self.client.create_logged_model(
            experiment_id=experiment_id, name=dct["name"], source_run_id=dst_run_id,
            tags={**{k: v for k, v in (dct.get("tags") or {}).items() if k not in SERVER_SET_TAGS},
                  SRC_MODEL_ID_TAG: src_id},
            params=dct.get("params") or None, model_type=dct.get("model_type") or None)
        try:
            logged_model = self._fill(logged_model, src_id, input_dir, dct, run_id_map, dst_run_id)
        except Exception as ex:
            self._discard(logged_model.model_id)
            raise MlflowExportImportException(
                ex, f"Logged model '{src_id}' from '{input_dir}' failed to import: {describe_error(ex)}")
        self._remember(src_id, logged_model.model_id)
        self.report.copied(KIND)
        return logged_model

    def _fill(self, logged_model, src_id, input_dir, dct, run_id_map, dst_run_id):
        """Returns the LoggedModel as the server answered its last write (no read back)."""
        model_id = logged_model.model_id
        self._log_metrics(model_id, src_id, dct.get("metrics") or [], run_id_map)
        self._upload_artifacts(logged_model, src_id, os.path.join(input_dir, "artifacts"), dst_run_id)
        status = dct.get("status") or "READY"
        if status != LoggedModelStatus.PENDING.value:
            return self.client.finalize_logged_model(model_id, status)
        return logged_model

    def _log_metrics(self, model_id, src_id, metrics, run_id_map):
        """Model metrics live in the runs that logged them; points already there from the run import are
        deduplicated by the server. Metrics of a run that was not imported have nowhere to go."""
        by_run, lost = {}, 0
        for m in metrics:
            dst_run_id = run_id_map.get(m.get("run_id"))
            if dst_run_id is None:
                lost += 1
                continue
            by_run.setdefault(dst_run_id, []).append(Metric(
                m["key"], m["value"], m["timestamp"], m.get("step") or 0, model_id=model_id,
                dataset_name=m.get("dataset_name"), dataset_digest=m.get("dataset_digest"), run_id=dst_run_id))
        for run_id, points in by_run.items():
            points = _as_run_has_them(self.client, run_id, points)
            with while_active(self.client, run_id, self.new_runs.get(run_id)):
                for i in range(0, len(points), 1000):
                    self.client.log_batch(run_id, metrics=points[i:i + 1000], synchronous=True)
        if lost:
            self.report.note(f"logged model {src_id}: {lost} metric point(s) not imported: their run was not imported")

    def _upload_artifacts(self, logged_model, src_id, artifacts_dir, dst_run_id):
        if not os.path.isdir(artifacts_dir) or not os.listdir(artifacts_dir):
            return
        location = logged_model.artifact_location
        if not self.mlmodel_fix:
            log_artifacts_to(self.client, location, artifacts_dir)
            return
        with tempfile.TemporaryDirectory() as tmp:
            staged = os.path.join(tmp, "artifacts")
            shutil.copytree(artifacts_dir, staged)
            for path in find_mlmodel_files(staged):
                _fix_mlmodel(path, src_id, logged_model.model_id, dst_run_id)
            log_artifacts_to(self.client, location, staged)

    def _remember(self, src_id, dst_id):
        if self.id_map is not None:
            self.id_map.put(id_maps.LOGGED_MODELS, src_id, dst_id)

    def _discard(self, model_id):
        try:
            self.client.delete_logged_model(model_id)
        except Exception as ex:
            _logger.warning(f"Could not delete the half-imported logged model '{model_id}': {describe_error(ex)}")


def _as_run_has_them(client, run_id, points):
    """Logging a model metric also logs it on its run, where the run import put it already; the server skips
    a point it has. But a model keeps a NaN as 0.0 while the run keeps NaN: such a point is logged as the NaN
    of the run, else the run would get a 0.0 the source never had."""
    suspects = {p.key for p in points if p.value == 0.0}
    if not suspects:
        return points
    nan_at = {(key, m.step, m.timestamp) for key in suspects for m in client.get_metric_history(run_id, key)
              if math.isnan(m.value)}
    return [Metric(p.key, float("nan"), p.timestamp, p.step, model_id=p.model_id, dataset_name=p.dataset_name,
                   dataset_digest=p.dataset_digest, run_id=p.run_id)
            if p.value == 0.0 and (p.key, p.step, p.timestamp) in nan_at else p for p in points]


def _fix_mlmodel(path, src_id, model_id, dst_run_id):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    fixed = re.sub(r"(?m)^model_id:.*$", f"model_id: {model_id}", text)
    fixed = re.sub(r"(?m)^run_id:.*$", f"run_id: {dst_run_id}" if dst_run_id else "run_id: null", fixed)
    src_hex, dst_hex = src_id.replace("m-", "", 1), model_id.replace("m-", "", 1)
    fixed = re.sub(rf"(?m)^model_uuid: {re.escape(src_hex)}\s*$", f"model_uuid: {dst_hex}", fixed)
    if fixed != text:
        with open(path, "w", encoding="utf-8") as f:
            f.write(fixed)


def link_models(client, run_id, input_model_ids, output_models, new_run=None):
    """Link logged models to a run as inputs ([model id]) and outputs ([(model id, step)]), skipping links the
    run already has (the server refuses duplicates). Never changes the run's status or end time. new_run: the
    RunInfo of a run this import created (see while_active)."""
    with while_active(client, run_id, new_run) as run:
        return _link_models(client, run, input_model_ids, output_models)


def _link_models(client, run, input_model_ids, output_models):
    run_id = run.info.run_id
    have_in = {m.model_id for m in (getattr(run.inputs, "model_inputs", None) or [])}
    have_out = {m.model_id for m in (getattr(getattr(run, "outputs", None), "model_outputs", None) or [])}
    inputs = [LoggedModelInput(m) for m in dict.fromkeys(input_model_ids) if m not in have_in]
    outputs = [LoggedModelOutput(m, step) for m, step in dict(output_models).items() if m not in have_out]
    if inputs:
        client.log_inputs(run_id, models=inputs)
    if outputs:
        client.log_outputs(run_id, outputs)
    return len(inputs) + len(outputs)


def import_logged_models_dir(client, input_dir, experiment_id, run_id_map, report, id_map=None, mlmodel_fix=True,
                             workers=None, model_ids=None, new_runs=None, existing=None):
    """Import the models exported in input_dir/<model id>/ (all, or model_ids) into the experiment. new_runs: as
    for LoggedModelImporter; existing: imported_logged_models() of the experiment, when the caller has it."""
    if model_ids is None:
        model_ids = sorted(d for d in os.listdir(input_dir)
                           if os.path.exists(os.path.join(input_dir, d, LOGGED_MODEL_FILE)))
    try:
        existing = imported_logged_models(client, experiment_id) if existing is None else existing
    except Exception as ex:
        record_failure(client, report, f"experiment {experiment_id}", ex)
        return
    importer = LoggedModelImporter(client, mlmodel_fix, report, id_map, new_runs)

    def import_one(model_id):
        return importer.import_model(experiment_id, os.path.join(input_dir, model_id), run_id_map, existing)

    for model_id, _, ex in map_bounded(import_one, model_ids, workers):
        if ex is not None:
            record_failure(client, report, model_id, ex)


@contextmanager
def while_active(client, run_id, new_run=None):
    """Yields the run, restored for the duration if it is deleted (a deleted run takes no writes). One writer
    per run at a time, so that parallel model imports do not delete it under each other. new_run: the RunInfo
    of a run this import created, as the import left it: it is not read, and has no logged model links yet."""
    with _locks_lock:
        lock = _run_locks.setdefault(run_id, threading.Lock())
    with lock:
        run = Run(new_run, RunData()) if new_run is not None else client.get_run(run_id)
        deleted = run.info.lifecycle_stage == "deleted"
        if deleted:
            client.restore_run(run_id)
        try:
            yield run
        finally:
            if deleted:
                client.delete_run(run_id)


def link_runs_to_models(client, run_dirs, run_id_map, model_id_map, report, new_runs=None):
    """Give each imported run the model inputs and outputs of its source run. run_dirs: {src run id: run dir};
    new_runs: {destination run id: RunInfo} of the runs this import created (not read again)."""
    new_runs = new_runs or {}
    for src_run_id, run_dir in run_dirs.items():
        try:
            run_dct = read_run(run_dir)
            inputs = [m["model_id"] for m in run_dct["inputs"].get("model_inputs") or []]
            outputs = [(m["model_id"], m.get("step") or 0) for m in run_dct["outputs"].get("model_outputs") or []]
            missing = [m for m in inputs + [m for m, _ in outputs] if m not in model_id_map]
            if missing:
                report.note(f"run {src_run_id}: not linked to logged model(s) {', '.join(sorted(set(missing)))}, "
                            "which were not imported")
            if len(missing) < len(inputs) + len(outputs):
                link_models(client, run_id_map[src_run_id], [model_id_map[m] for m in inputs if m in model_id_map],
                            [(model_id_map[m], step) for m, step in outputs if m in model_id_map],
                            new_runs.get(run_id_map[src_run_id]))
        except Exception as ex:
            report.failed("runs", src_run_id, f"Run could not be linked to its logged models: {describe_error(ex)}")


@click.command("import-logged-model")
@opt_input_dir
@opt_experiment_name
@bool_option("--mlmodel-fix", "Point the ids in every imported MLmodel file at the new model and run.", default=True)
@opt_dry_run
@opt_report
def main(input_dir, experiment_name, mlmodel_fix, dry_run, report_file):
    """Import an MLflow 3 logged model exported by export-logged-model."""
    with command("import-logged-model", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_logged_model(mk_client(read_only=True), input_dir, experiment_name, report)
            return
        client = mk_client()
        logged_model = import_logged_model(input_dir, experiment_name, mlmodel_fix=mlmodel_fix, mlflow_client=client,
                                           report=report)
        if logged_model is not None:
            click.echo(f"Imported logged model '{logged_model.model_id}' into experiment '{experiment_name}'")


if __name__ == "__main__":
    main()
