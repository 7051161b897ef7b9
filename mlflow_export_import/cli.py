"""`mlflow-export-import <command>`: every console script under one group, loaded on first use."""
import importlib

import click

COMMANDS = {
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
    "verify": "verify.verify",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return importlib.import_module(f"mlflow_export_import.{COMMANDS[name]}").main


@click.group(cls=LazyGroup)
def cli():
    """Copy MLflow objects between tracking servers: export to a directory, import from it, or copy."""
