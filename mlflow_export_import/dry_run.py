"""--dry-run: what an import or copy would do, worked out by reading the export and the destination only.

Each planner follows its import step by step with the same readers of the export files and the same lookups
of earlier imports (lineage tags, prompt and dataset content), so the dry run's counts of objects to copy,
skipped and refused are those the real import then reports. The destination client is read-only
(client_utils.ReadOnlyClient): a write reaching it is a bug, and raises instead of changing the server."""
import os

from mlflow_export_import.bulk.import_experiments import read_experiments_list
from mlflow_export_import.bulk.import_models import read_model_names
from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils, model_utils
from mlflow_export_import.common.capabilities import is_unsupported, unsupported_reason
from mlflow_export_import.evaluation_dataset import export_evaluation_dataset as datasets
from mlflow_export_import.evaluation_dataset.import_evaluation_dataset import read_dataset_file, records_to_upsert
from mlflow_export_import.experiment.export_experiment import EXPERIMENT_FILE
from mlflow_export_import.experiment.import_experiment import (
    ALREADY_PRESENT, check_experiment_importable, imported_runs, run_dirs_of)
from mlflow_export_import.logged_model.export_logged_model import KIND as LOGGED_MODELS, LOGGED_MODEL_FILE
from mlflow_export_import.logged_model.import_logged_model import (
    imported_logged_models, is_complete, read_logged_model, record_failure as record_logged_model_failure)
from mlflow_export_import.model.import_model import (
    MODEL_PRESENT, check_importable, check_same_source, read_model, stage_unset)
from mlflow_export_import.model.model_utils import imported_versions, src_version_key
from mlflow_export_import.model_version.import_model_version import read_version
from mlflow_export_import.prompt import export_prompt as prompts
from mlflow_export_import.prompt.import_prompt import find_same_version, list_dst_versions, read_prompt_file
from mlflow_export_import.run.import_run import find_earlier_import, is_deleted, is_finished, read_run
from mlflow_export_import.trace.export_trace import KIND as TRACES, TRACE_FILE
from mlflow_export_import.trace.import_trace import imported_traces, read_trace, record_failure as record_trace_failure


# ---- runs and experiments


def plan_run(client, run_dir, experiment_name, report):
    """import-run: the run is created, or finished when an earlier import left it half-done, or skipped."""
    run_dct = read_run(run_dir)
    exp = client.get_experiment_by_name(experiment_name)
    earlier = find_earlier_import(client, exp.experiment_id, run_dct["info"]["run_id"]) if exp else None
    _plan_one_run(run_dct, earlier, experiment_name, report, is_deleted(run_dct))
    plan_logged_models_dir(client, run_dir, exp.experiment_id if exp else None, experiment_name, report)


def _plan_one_run(run_dct, earlier, experiment_name, report, src_deleted=False):
    """src_deleted: the import ends the run's import by deleting it (see is_finished)."""
    src_id = run_dct["info"]["run_id"]
    if is_finished(earlier, src_deleted):
        report.skipped("runs", src_id, "already imported")
        return
    verb = "finish the half-imported" if earlier is not None else "create"
    name = run_dct["info"].get("run_name") or src_id
    report.would("runs", src_id, f"{verb} run '{name}' ({src_id}) in experiment '{experiment_name}'")


def plan_experiment(client, experiment_name, input_dir, report):
    path = os.path.join(input_dir, EXPERIMENT_FILE)
    mlflow_attr = io_utils.read_file_mlflow(path)
    if not isinstance(mlflow_attr.get("experiment"), dict):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.experiment' object",
                                          http_status_code=400)
    exp = check_experiment_importable(client, experiment_name, mlflow_attr["experiment"])
    exp_id = exp.experiment_id if exp else None
    existing = imported_runs(client, exp_id) if exp_id else {}
    exp_deleted = mlflow_attr["experiment"].get("lifecycle_stage") == "deleted"
    for src_id, run_dir in run_dirs_of(input_dir, mlflow_attr.get("runs")).items():
        try:
            run_dct = read_run(run_dir)
            _plan_one_run(run_dct, existing.get(src_id), experiment_name, report,
                          is_deleted(run_dct) and not exp_deleted)
        except MlflowExportImportException as ex:
            report.failed("runs", src_id, ex.message, name=experiment_name)
    models_dir = os.path.join(input_dir, "logged_models")
    if os.path.isdir(models_dir):
        plan_logged_models_dir(client, models_dir, exp_id, experiment_name, report)
    traces_dir = os.path.join(input_dir, "traces")
    if os.path.isdir(traces_dir):
        plan_traces_dir(client, traces_dir, exp_id, experiment_name, report)
    if exp:
        report.skipped("experiments", experiment_name, ALREADY_PRESENT)
    else:
        report.would("experiments", experiment_name, f"create experiment '{experiment_name}'")


def plan_experiments(client, input_dir, experiment_renames, report):
    renames = get_renames(experiment_renames)
    for exp in read_experiments_list(input_dir):
        name = rename(exp["name"], renames, "experiment")
        try:
            plan_experiment(client, name, os.path.join(input_dir, exp["id"]), report)
        except Exception as ex:
            report.failed("experiments", exp["id"], describe_error(ex), name=name)


# ---- registered models


def plan_models(client, input_dir, delete_model, experiment_renames, model_renames, report):
    model_names = read_model_names(input_dir)
    plan_experiments(client, os.path.join(input_dir, "experiments"), experiment_renames, report)
    renames = get_renames(model_renames)
    for src_name in model_names:
        try:
            model_dct = read_model(os.path.join(input_dir, "models", src_name))
            plan_model_versions(client, rename(src_name, renames, "model"), model_dct, delete_model, report)
        except Exception as ex:
            report.failed("models", src_name, describe_error(ex))


def plan_model(client, model_name, experiment_name, input_dir, delete_model, report):
    """import-model: the versions' runs (in input_dir/<run id>/), then the model and its versions."""
    model_dct = read_model(input_dir)
    check_importable(client, model_name, model_dct, delete_model)
    exp = client.get_experiment_by_name(experiment_name)
    existing = imported_runs(client, exp.experiment_id) if exp else {}
    for src_run_id in dict.fromkeys(v.get("run_id") for v in model_dct["versions"]):
        run_dir = os.path.join(input_dir, src_run_id or "")
        if src_run_id and os.path.exists(os.path.join(run_dir, "run.json")):
            _plan_one_run(read_run(run_dir), existing.get(src_run_id), experiment_name, report)
    plan_model_versions(client, model_name, model_dct, delete_model, report)


def plan_model_versions(client, model_name, model_dct, delete_model, report):
    """The model is refused when it exists and was not made by an import of the same source model (unless
    delete_model); its versions already imported are skipped."""
    check_importable(client, model_name, model_dct, delete_model)
    exists = model_utils.model_exists(client, model_name)
    existing = imported_versions(client, model_name) if exists and not delete_model else {}
    for src_vr in model_dct["versions"]:
        key = src_version_key({**src_vr, "name": src_vr.get("name") or model_dct["name"]})
        if key in existing:
            check_same_source(client, existing[key], src_vr, model_name)
            if stage_unset(client, existing[key], src_vr):
                report.would("model_versions", key, f"set the stage of version {existing[key].version} of model "
                                                    f"'{model_name}', which an earlier import left unset")
            else:
                report.skipped("model_versions", key, f"already imported as version {existing[key].version}")
        else:
            report.would("model_versions", key, f"create version {src_vr['version']} of model '{model_name}'")
    if exists and not delete_model:
        report.skipped("models", model_dct["name"], MODEL_PRESENT)
    else:
        report.would("models", model_dct["name"],
                     f"{'replace' if exists else 'create'} registered model '{model_name}'")


def plan_model_version(client, model_name, experiment_name, input_dir, create_model, report):
    src_vr = read_version(input_dir)
    if not create_model and not model_utils.model_exists(client, model_name):
        raise MlflowExportImportException(
            f"Registered model '{model_name}' does not exist in the destination: create it first or use "
            "--create-model", http_status_code=404)
    key = src_version_key(src_vr)
    earlier = imported_versions(client, model_name).get(key) if model_utils.model_exists(client, model_name) \
        else None
    if earlier is not None:
        report.skipped("model_versions", key, f"already imported as version {earlier.version} of '{model_name}'")
        return
    plan_run(client, os.path.join(input_dir, "run"), experiment_name, report)
    report.would("model_versions", key, f"create a version of model '{model_name}'")


# ---- MLflow 3 objects


def plan_logged_models_dir(client, input_dir, experiment_id, experiment_name, report, model_ids=None):
    if model_ids is None:
        model_ids = sorted(d for d in os.listdir(input_dir)
                           if os.path.exists(os.path.join(input_dir, d, LOGGED_MODEL_FILE)))
    try:
        existing = _earlier_imports(imported_logged_models, client, experiment_id)
    except Exception as ex:
        record_logged_model_failure(client, report, f"experiment {experiment_id}", ex)
        return
    for model_id in model_ids:
        model_dir = os.path.join(input_dir, model_id)
        try:
            dct = read_logged_model(model_dir)
        except Exception as ex:
            record_logged_model_failure(client, report, model_dir, ex)
            continue
        earlier = existing.get(dct["model_id"])
        if earlier is not None and is_complete(earlier, dct):
            report.skipped(LOGGED_MODELS, dct["model_id"], "already imported")
        else:
            verb = "replace the half-imported" if earlier is not None else "create"
            report.would(LOGGED_MODELS, dct["model_id"],
                         f"{verb} logged model '{dct['name']}' in experiment '{experiment_name}'")


def plan_traces_dir(client, input_dir, experiment_id, experiment_name, report, trace_ids=None):
    if trace_ids is None:
        trace_ids = sorted(d for d in os.listdir(input_dir) if os.path.exists(os.path.join(input_dir, d, TRACE_FILE)))
    try:
        existing = _earlier_imports(imported_traces, client, experiment_id)
    except Exception as ex:
        record_trace_failure(client, report, f"experiment {experiment_id}", ex)
        return
    for trace_id in trace_ids:
        try:
            info = read_trace(os.path.join(input_dir, trace_id))["info"]
        except Exception as ex:
            record_trace_failure(client, report, trace_id, ex)
            continue
        src_id = info.get("trace_id") or info.get("request_id")
        if src_id in existing:
            report.skipped(TRACES, src_id, "already imported")
        else:
            report.would(TRACES, src_id, f"create trace {src_id} in experiment '{experiment_name}'")


def _earlier_imports(lookup, client, experiment_id):
    """lookup(client, experiment id) of an experiment that exists; for one the import would create, the same
    search in the Default experiment only asks whether the server supports it (as the import finds out)."""
    if experiment_id is None:
        try:
            lookup(client, "0")
        except Exception as ex:
            if is_unsupported(ex):
                raise
        return {}
    return lookup(client, experiment_id)


def plan_logged_model(client, input_dir, experiment_name, report):
    _plan_single(client, input_dir, experiment_name, report, plan_logged_models_dir)


def plan_trace(client, input_dir, experiment_name, report):
    _plan_single(client, input_dir, experiment_name, report, plan_traces_dir)


def _plan_single(client, input_dir, experiment_name, report, plan_dir):
    parent, name = os.path.split(os.path.normpath(input_dir))
    exp = client.get_experiment_by_name(experiment_name)
    plan_dir(client, parent, exp.experiment_id if exp else None, experiment_name, report, [name])


def plan_exported_experiments(client, input_dir, list_file, key, plan_dir, report):
    """import-logged-models / import-traces: <list_file> names each experiment and the objects in it."""
    experiments = io_utils.read_file_mlflow(os.path.join(input_dir, list_file)).get("experiments") or []
    for exp in experiments:
        dst = client.get_experiment_by_name(exp["name"])
        plan_dir(client, input_dir, dst.experiment_id if dst else None, exp["name"], report, exp.get(key))


def plan_prompts(client, prompt_dirs, delete_prompt, report, prompt_name=None):
    """Prompt versions whose content is already in the destination prompt are skipped."""
    try:
        prompts.check_prompts_supported(client)
    except prompts.PromptsUnsupported:
        report.skipped(prompts.KIND, "all", unsupported_reason(client))
        return
    by_name = {}
    for path in prompt_dirs:
        try:
            src = read_prompt_file(os.path.join(path, prompts.PROMPT_FILE))
        except Exception as ex:
            prompts.record_failure(client, report, prompts.VERSION_KIND, os.path.join(path, prompts.PROMPT_FILE),
                                   ex, "import")
            continue
        by_name.setdefault(prompt_name or src["name"], []).append(src)
    for name, versions in sorted(by_name.items()):
        try:
            _plan_prompt(client, name, sorted(versions, key=lambda v: v["version"]), delete_prompt, report)
        except Exception as ex:
            prompts.record_failure(client, report, prompts.KIND, name, ex, "import")


def _plan_prompt(client, name, src_versions, delete_prompt, report):
    exists = client.get_prompt(name) is not None
    if not exists and model_utils.model_exists(client, name):
        raise MlflowExportImportException(
            f"A registered model named '{name}' exists in the destination: it cannot also be a prompt")
    dst_versions = list_dst_versions(client, name) if exists and not delete_prompt else []
    taken, new = [], 0
    for src in src_versions:
        obj_id = f"{name}/v{src['version']}"
        match = find_same_version(src, dst_versions, taken)
        if match is not None:
            taken.append(match)
            report.skipped(prompts.VERSION_KIND, obj_id, f"already in the destination as version {match}")
        else:
            new += 1
            report.would(prompts.VERSION_KIND, obj_id, f"create version {src['version']} of prompt '{name}'")
    if new:
        report.would(prompts.KIND, name, f"{'update' if exists else 'create'} prompt '{name}'")
    else:
        report.skipped(prompts.KIND, name, "no new version")


def plan_datasets(client, dataset_dirs, delete_dataset, report, dataset_name=None):
    """A dataset is skipped when one of its name has its tags and every record (same content)."""
    try:
        datasets.check_datasets_supported(client)
    except datasets.DatasetsUnsupported:
        report.skipped(datasets.KIND, "all", unsupported_reason(client))
        return
    for path in dataset_dirs:
        obj_id = dataset_name or path
        try:
            src = read_dataset_file(os.path.join(path, datasets.DATASET_FILE))
            obj_id = name = dataset_name or src["name"]
            named = datasets.datasets_named(client, name)
            if named and not delete_dataset and not _dataset_changes(client, named[0], src):
                report.skipped(datasets.KIND, name, "already in the destination")
            else:
                verb = "create" if not named else "replace" if delete_dataset else "update"
                report.would(datasets.KIND, name, f"{verb} evaluation dataset '{name}'")
        except Exception as ex:
            datasets.record_failure(client, report, obj_id, ex, "import")


def _dataset_changes(client, dataset, src):
    tags = {k: str(v) for k, v in (src.get("tags") or {}).items()}
    if any((dataset.tags or {}).get(k) != v for k, v in tags.items()):
        return True
    return bool(records_to_upsert(client, dataset.dataset_id, src.get("records") or []))


def plan_all(client, input_dir, delete_model, delete_prompt, delete_dataset, experiment_renames, model_renames,
             report):
    plan_models(client, input_dir, delete_model, experiment_renames, model_renames, report)
    prompts_dir = os.path.join(input_dir, "prompts")
    if os.path.isdir(prompts_dir):
        plan_prompts(client, subdirs(prompts_dir), delete_prompt, report)
    datasets_dir = os.path.join(input_dir, "evaluation_datasets")
    if os.path.isdir(datasets_dir):
        plan_datasets(client, subdirs(datasets_dir), delete_dataset, report)


def subdirs(input_dir):
    if not os.path.isdir(input_dir):
        raise MlflowExportImportException(f"Input directory '{input_dir}' does not exist", http_status_code=404)
    return [os.path.join(input_dir, d) for d in sorted(os.listdir(input_dir))
            if os.path.isdir(os.path.join(input_dir, d))]
