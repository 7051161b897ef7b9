"""Rewrite an export directory in place with your own Python functions, before importing it.
`python -m mlflow_export_import.tools.experimental.rewrite_export --input-dir out --custom-rewriters-module my.py`

my.py defines `rewrite_model(model_dct, model_dir)` and `rewrite_experiment(experiment_dct, experiment_dir)`; each
gets the whole loaded file (model.json / experiment.json: system, info, mlflow) and changes it in place. Each
file is first saved as `<file>.backup`; a file that has a backup already is left alone (so a second run does not
rewrite twice). A rewriter that fails leaves its file as it was and the others go on."""
import os
import runpy
import shutil

import click

from mlflow_export_import.common import UsageError, describe_error, io_utils
from mlflow_export_import.common.logging_utils import get_logger

BACKUP_SUFFIX = ".backup"
REWRITERS = ("rewrite_model", "rewrite_experiment")

_logger = get_logger(__name__)


def load_rewriters(path):
    """{name: function} of the two rewriters defined in the Python file at path."""
    if not os.path.isfile(path):
        raise UsageError(f"--custom-rewriters-module: no file '{path}'")
    try:
        namespace = runpy.run_path(path)
    except Exception as ex:
        raise UsageError(f"--custom-rewriters-module: '{path}' cannot be loaded: {describe_error(ex)}")
    missing = [name for name in REWRITERS if not callable(namespace.get(name))]
    if missing:
        raise UsageError(f"--custom-rewriters-module: '{path}' does not define {' and '.join(missing)}"
                         "(dct, dir)")
    return {name: namespace[name] for name in REWRITERS}


def rewrite_export(input_dir, custom_rewriters_module, report=None):
    """Apply the rewriters to every model and experiment of the export. Returns {"rewritten", "skipped",
    "failed"} lists of the files concerned."""
    rewriters = load_rewriters(custom_rewriters_module)
    result = {"rewritten": [], "skipped": [], "failed": []}
    for kind, path, obj_dir in _targets(input_dir):
        _rewrite_file(rewriters[f"rewrite_{kind}"], path, obj_dir, result, report, kind)
    return result


def _targets(input_dir):
    """(kind, file, folder) of each model and experiment the export lists."""
    models_file = os.path.join(input_dir, "models", "models.json")
    if os.path.exists(models_file):
        for name in io_utils.read_file_mlflow(models_file).get("models", []):
            model_dir = os.path.join(input_dir, "models", name)
            yield "model", os.path.join(model_dir, "model.json"), model_dir
    experiments_file = os.path.join(input_dir, "experiments", "experiments.json")
    if os.path.exists(experiments_file):
        for exp in io_utils.read_file_mlflow(experiments_file).get("experiments", []):
            exp_dir = os.path.join(input_dir, "experiments", str(exp["id"]))
            yield "experiment", os.path.join(exp_dir, "experiment.json"), exp_dir


def _rewrite_file(rewriter, path, obj_dir, result, report, kind):
    backup = path + BACKUP_SUFFIX
    if os.path.exists(backup):
        result["skipped"].append(path)
        if report is not None:
            report.skipped(f"{kind}s", path, f"already rewritten (backup {os.path.basename(backup)} exists)")
        return
    try:
        dct = io_utils.read_file(path)
        shutil.copy2(path, backup)
        rewriter(dct, obj_dir)
        io_utils.write_file(path, dct)
    except Exception as ex:
        if os.path.exists(backup):  # the file itself was not written: no backup, so a re-run tries again
            os.remove(backup)
        result["failed"].append(path)
        if report is not None:
            report.failed(f"{kind}s", path, describe_error(ex))
        _logger.error(f"Rewriting '{path}' failed: {describe_error(ex)}")
        return
    result["rewritten"].append(path)
    if report is not None:
        report.copied(f"{kind}s")


@click.command("rewrite-export")
@click.option("--input-dir", type=str, required=True, help="Export directory to rewrite in place.")
@click.option("--custom-rewriters-module", type=str, required=True,
              help="Python file defining rewrite_model(model_dct, model_dir) and "
                   "rewrite_experiment(experiment_dct, experiment_dir).")
def main(input_dir, custom_rewriters_module):
    """Rewrite the model.json and experiment.json files of an export with your own functions."""
    from mlflow_export_import.tools.tools_utils import tool_command
    with tool_command("rewrite-export", locals()) as report:
        if not os.path.isdir(input_dir):
            raise UsageError(f"--input-dir: no folder '{input_dir}'")
        result = rewrite_export(input_dir, custom_rewriters_module, report)
        report.facts["files rewritten"] = len(result["rewritten"])
        report.facts["already rewritten"] = len(result["skipped"])


if __name__ == "__main__":
    main()
