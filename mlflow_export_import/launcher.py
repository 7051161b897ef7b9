"""Where every console script starts. `SCRIPT --help` is answered from help_cache.json without importing the
command's module (which imports MLflow: about two seconds); anything else runs the command itself. The cache is
written by `python -m mlflow_export_import.launcher` and a test fails when it no longer matches the commands."""
import importlib
import json
import os
import sys

# script name -> module (under mlflow_export_import) whose `main` is the click command
SCRIPTS = {
    "export-all": "bulk.export_all",
    "import-all": "bulk.import_all",
    "export-models": "bulk.export_models",
    "import-models": "bulk.import_models",
    "export-run": "run.export_run",
    "import-run": "run.import_run",
    "export-experiment": "experiment.export_experiment",
    "import-experiment": "experiment.import_experiment",
    "export-experiments": "bulk.export_experiments",
    "import-experiments": "bulk.import_experiments",
    "export-model": "model.export_model",
    "import-model": "model.import_model",
    "export-model-version": "model_version.export_model_version",
    "import-model-version": "model_version.import_model_version",
    "copy-model-version": "copy.copy_model_version",
    "copy-run": "copy.copy_run",
    "export-logged-models": "bulk.export_logged_models",
    "export-logged-model": "logged_model.export_logged_model",
    "import-logged-models": "bulk.import_logged_models",
    "import-logged-model": "logged_model.import_logged_model",
    "export-traces": "bulk.export_traces",
    "import-traces": "bulk.import_traces",
    "export-trace": "trace.export_trace",
    "import-trace": "trace.import_trace",
    "export-prompt": "prompt.export_prompt",
    "import-prompt": "prompt.import_prompt",
    "export-prompts": "bulk.export_prompts",
    "import-prompts": "bulk.import_prompts",
    "export-evaluation-dataset": "evaluation_dataset.export_evaluation_dataset",
    "import-evaluation-dataset": "evaluation_dataset.import_evaluation_dataset",
    "export-evaluation-datasets": "bulk.export_evaluation_datasets",
    "import-evaluation-datasets": "bulk.import_evaluation_datasets",
    "get-model-signature": "tools.get_model_signature",
    "set-model-signature": "tools.set_model_signature",
    "list-model-versions-without-signatures": "tools.list_model_versions_without_signatures",
    "download-notebook": "notebook.download_notebook",
    "http-client": "tools.http_client_cli",
    "verify": "verify.verify",
}

CACHE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "help_cache.json")
HELP_WIDTH = 78  # what click uses on a terminal: at most 80 columns, less a margin of 2


def __getattr__(attr):
    """`mlflow_export_import.launcher:export_all` (what the console script imports) runs `export-all`."""
    name = attr.replace("_", "-")
    if name not in SCRIPTS:
        raise AttributeError(attr)
    return LazyScript(name)


class LazyScript:
    """Called without arguments (as a console script): run(name). Anything else (CliRunner, `.params`, `.main`)
    goes to the click command itself, imported then."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        if args or kwargs:
            return command(self.name)(*args, **kwargs)
        return run(self.name)

    def __getattr__(self, attr):
        return getattr(command(self.name), attr)


def run(name):
    if sys.argv[1:] in (["--help"], ["-h"]):
        text = cached_help(name)
        if text is not None:
            sys.stdout.write(text)
            sys.exit(0)
    command(name)()


def command(name):
    return with_defaults_shown(importlib.import_module(f"mlflow_export_import.{SCRIPTS[name]}").main)


def with_defaults_shown(cmd):
    """Every option's default in --help, whatever the command module says."""
    cmd.context_settings.setdefault("show_default", True)
    return cmd


def cached_help(name):
    try:
        with open(CACHE_FILE, encoding="utf-8") as f:
            return json.load(f).get(name)
    except (OSError, ValueError):
        return None  # no cache (or a broken one): the command prints its own help


def render_help(name):
    from click.testing import CliRunner
    result = CliRunner().invoke(command(name), ["--help"], prog_name=name, terminal_width=HELP_WIDTH)
    return result.output


def write_cache():
    with open(CACHE_FILE, "w", encoding="utf-8") as f:
        json.dump({name: render_help(name) for name in sorted(SCRIPTS)}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    write_cache()
    print(f"wrote {CACHE_FILE}")
