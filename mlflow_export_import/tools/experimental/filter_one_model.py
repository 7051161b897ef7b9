"""Cut one registered model out of an export-models / export-all directory into a new export directory: the model
(optionally renamed), and the experiments of its versions' runs holding only those runs (optionally renamed to
one experiment) with the logged models of those runs. Traces, prompts and evaluation datasets are not taken.
`python -m mlflow_export_import.tools.experimental.filter_one_model --input-dir out --output-dir one
 --src-model m [--dst-model m2] [--dst-experiment e2]`"""
import os
import shutil

import click

from mlflow_export_import.common import MlflowExportImportException, UsageError, io_utils
from mlflow_export_import.model.plan import logged_model_id_of

MANIFEST = "manifest.json"


def filter_one_model(input_dir, output_dir, src_model, dst_model=None, dst_experiment=None):
    """Write the new export into output_dir. Returns {"model", "experiments": [ids], "runs": n, "logged_models": n}."""
    dst_model = dst_model or src_model
    src_model_dir = os.path.join(input_dir, "models", src_model)
    if not os.path.exists(os.path.join(src_model_dir, "model.json")):
        raise MlflowExportImportException(f"Model '{src_model}' is not in the export '{input_dir}' (no "
                                          f"{os.path.join(src_model_dir, 'model.json')})", http_status_code=404)
    if os.path.exists(output_dir) and os.listdir(output_dir):
        raise UsageError(f"--output-dir '{output_dir}' is not empty")
    versions = _copy_model(src_model_dir, os.path.join(output_dir, "models", dst_model), dst_model, dst_experiment)
    run_ids = {v["run_id"] for v in versions if v.get("run_id")}
    model_ids = {logged_model_id_of(v) for v in versions} - {None}
    experiments = _experiments_of_runs(input_dir, run_ids)
    if dst_experiment and len(experiments) > 1:
        raise UsageError(f"The versions' runs of '{src_model}' are in {len(experiments)} experiments: they cannot "
                         f"all be renamed to '{dst_experiment}'")
    entries, counts = [], {"runs": 0, "logged_models": 0}
    for exp, kept in experiments:
        entry = _copy_experiment(input_dir, output_dir, exp, kept, model_ids, dst_experiment, counts)
        entries.append(entry)
    _write_lists(input_dir, output_dir, dst_model, entries, src_model, dst_experiment)
    return {"model": dst_model, "experiments": [e["id"] for e in entries], **counts}


def _copy_model(src_dir, dst_dir, dst_model, dst_experiment):
    shutil.copytree(src_dir, dst_dir)
    path = os.path.join(dst_dir, "model.json")
    dct = io_utils.read_file(path)
    model = dct["mlflow"]["registered_model"]
    model["name"] = dst_model
    for vr in model.get("versions", model.get("latest_versions")) or []:
        vr["name"] = dst_model
        if dst_experiment:
            vr["_experiment_name"] = dst_experiment
    io_utils.write_file(path, dct)
    return model.get("versions", model.get("latest_versions")) or []


def _experiments_of_runs(input_dir, run_ids):
    """[(experiments.json entry, [run ids of run_ids exported in it])] for the experiments holding any of them."""
    path = os.path.join(input_dir, "experiments", "experiments.json")
    if not os.path.exists(path):
        return []
    found = []
    for exp in io_utils.read_file_mlflow(path).get("experiments", []):
        exp_dir = os.path.join(input_dir, "experiments", str(exp["id"]))
        kept = sorted(r for r in run_ids if _run_dir(exp_dir, r))
        if kept:
            found.append((exp, kept))
    return found


def _run_dir(exp_dir, run_id):
    """The run's folder: runs/<id> (current layout) or <id> (older exports), None if absent."""
    for rel in (os.path.join("runs", run_id), run_id):
        if os.path.exists(os.path.join(exp_dir, rel, "run.json")):
            return rel
    return None


def _copy_experiment(input_dir, output_dir, exp, kept, model_ids, dst_experiment, counts):
    src_dir = os.path.join(input_dir, "experiments", str(exp["id"]))
    dst_dir = os.path.join(output_dir, "experiments", str(exp["id"]))
    for run_id in kept:
        rel = _run_dir(src_dir, run_id)
        shutil.copytree(os.path.join(src_dir, rel), os.path.join(dst_dir, rel))
    logged = _copy_logged_models(src_dir, dst_dir, set(kept), model_ids)
    dct = io_utils.read_file(os.path.join(src_dir, "experiment.json"))
    mlflow_attr, info = dct["mlflow"], dct.get("info", {})
    mlflow_attr["runs"] = kept
    mlflow_attr.pop("traces", None)
    if "logged_models" in mlflow_attr:
        mlflow_attr["logged_models"] = logged
    if dst_experiment:
        mlflow_attr["experiment"]["name"] = dst_experiment
    info.update(num_total_runs=len(kept), num_ok_runs=len(kept), num_failed_runs=0, failed_runs=[])
    io_utils.write_file(os.path.join(dst_dir, "experiment.json"), dct)
    counts["runs"] += len(kept)
    counts["logged_models"] += len(logged)
    return {**exp, "name": dst_experiment or exp.get("name"), "ok_runs": len(kept), "failed_runs": 0}


def _copy_logged_models(src_exp_dir, dst_exp_dir, run_ids, model_ids):
    """The experiment's logged models made by the kept runs or named by a version; logged_models.json follows."""
    src_dir = os.path.join(src_exp_dir, "logged_models")
    if not os.path.isdir(src_dir):
        return []
    kept = []
    for model_id in sorted(os.listdir(src_dir)):
        path = os.path.join(src_dir, model_id, "logged_model.json")
        if not os.path.exists(path):
            continue
        if model_id in model_ids or io_utils.read_file_mlflow(path).get("source_run_id") in run_ids:
            shutil.copytree(os.path.join(src_dir, model_id), os.path.join(dst_exp_dir, "logged_models", model_id))
            kept.append(model_id)
    list_file = os.path.join(src_dir, "logged_models.json")
    if kept and os.path.exists(list_file):
        dct = io_utils.read_file(list_file)
        for entry in dct["mlflow"].get("experiments", []):
            entry["logged_models"] = [m for m in entry.get("logged_models", []) if m in kept]
        io_utils.write_file(os.path.join(dst_exp_dir, "logged_models", "logged_models.json"), dct)
    return kept


def _write_lists(input_dir, output_dir, dst_model, entries, src_model, dst_experiment):
    io_utils.write_export_file(os.path.join(output_dir, "models"), "models.json", __file__, {"models": [dst_model]},
                               {"model_names": [dst_model], "num_total_models": 1, "num_ok_models": 1,
                                "num_failed_models": 0, "failed_models": []})
    io_utils.write_export_file(os.path.join(output_dir, "experiments"), "experiments.json", __file__,
                               {"experiments": entries},
                               {"experiment_names": [e["name"] for e in entries],
                                "status": {"experiments": len(entries),
                                           "total_runs": sum(e["ok_runs"] for e in entries),
                                           "ok_runs": sum(e["ok_runs"] for e in entries), "failed_runs": 0}})
    filter_info = {"input_dir": input_dir, "src_model": src_model, "dst_model": dst_model,
                   "dst_experiment": dst_experiment}
    manifest = os.path.join(input_dir, MANIFEST)
    dct = io_utils.read_file(manifest) if os.path.exists(manifest) else {"system": {}, "info": {}, "mlflow": {}}
    dct.setdefault("info", {})["filter_info"] = filter_info
    io_utils.write_file(os.path.join(output_dir, MANIFEST), dct)


@click.command("filter-one-model")
@click.option("--input-dir", type=str, required=True, help="An export-models or export-all directory.")
@click.option("--output-dir", type=str, required=True, help="New export directory (must be empty or absent).")
@click.option("--src-model", type=str, required=True, help="The model to take.")
@click.option("--dst-model", type=str, default=None, help="Its name in the new export. Default: the same.")
@click.option("--dst-experiment", type=str, default=None,
              help="Name of the experiment of its runs in the new export. Default: the same.")
def main(input_dir, output_dir, src_model, dst_model, dst_experiment):
    """Cut one registered model, with the runs its versions need, out of an export directory."""
    from mlflow_export_import.tools.tools_utils import tool_command
    with tool_command("filter-one-model", locals()) as report:
        result = filter_one_model(input_dir, output_dir, src_model, dst_model, dst_experiment)
        report.facts["model"] = result["model"]
        report.facts["experiments"] = len(result["experiments"])
        report.facts["runs"] = result["runs"]
        report.facts["logged models"] = result["logged_models"]


if __name__ == "__main__":
    main()
