"""Find artifacts of a run by file name, e.g. every MLflow model (an `MLmodel` file) a run logged.
`python -m mlflow_export_import.common.find_artifacts --run-id ID --target MLmodel` (MLFLOW_TRACKING_URI)."""
import posixpath
import sys

import click

MLMODEL = "MLmodel"
# The registry keeps a copy of a model's files in a 'metadata' folder beside it: not a model of its own.
SKIPPED_DIRS = ("metadata",)


def find_artifacts(mlflow_client, run_id, path, target, max_level=sys.maxsize):
    """Paths of the run's artifacts named `target` under `path` ("" = the root), depth first in listing order,
    looking at most max_level folders deep (0: only `path` itself)."""
    found = []
    _walk(mlflow_client, run_id, path or None, target, max_level, 0, found)
    return found


def _walk(client, run_id, path, target, max_level, level, found):
    for info in client.list_artifacts(run_id, path):
        name = posixpath.basename(info.path)
        if info.is_dir:
            if level < max_level and name not in SKIPPED_DIRS:
                _walk(client, run_id, info.path, target, max_level, level + 1, found)
        elif name == target:
            found.append(info.path)


def find_run_model_names(mlflow_client, run_id):
    """The artifact folders of the run that hold an MLflow model: "" for a model at the root, else e.g. "model"
    or "other_models/model-onnx"."""
    return [posixpath.dirname(p) for p in find_artifacts(mlflow_client, run_id, "", MLMODEL)]


@click.command("find-artifacts")
@click.option("--run-id", type=str, required=True, help="Run ID.")
@click.option("--path", type=str, default="", show_default=True, help="Artifact folder to start in.")
@click.option("--target", type=str, required=True, help="File name to find, e.g. MLmodel.")
@click.option("--max-level", type=int, default=sys.maxsize, help="How many folders deep to look.")
def main(run_id, path, target, max_level):
    """List the run's artifacts named --target (tracking server: $MLFLOW_TRACKING_URI)."""
    from mlflow_export_import.common.cli_utils import mk_client
    from mlflow_export_import.tools.tools_utils import tool_command
    with tool_command("find-artifacts", locals()) as report:
        found = find_artifacts(mk_client(), run_id, path, target, max_level)
        for artifact_path in found:
            click.echo(artifact_path)
        report.facts["run"] = run_id
        report.facts[f"files named {target}"] = len(found)


if __name__ == "__main__":
    main()
