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
    "copy-experiments": "engine.copy_experiments",
    "copy-models": "engine.copy_models",
    "copy-all": "engine.copy_all",
    "sync": "engine.sync",
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
    "http-client": "tools.http_client_cli",
    "download-notebook": "notebook.download_notebook",
    "verify": "verify.verify",
}


def with_defaults_shown(cmd):
    """Every option's default in --help, whatever the command module says."""
    cmd.context_settings.setdefault("show_default", True)
    return cmd


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        return with_defaults_shown(importlib.import_module(f"mlflow_export_import.{COMMANDS[name]}").main)

    def format_commands(self, ctx, formatter):
        """Names only: each command's summary would import its module, and with it MLflow (seconds, for help)."""
        names = self.list_commands(ctx)
        width = max(map(len, names)) + 2
        with formatter.section("Commands"):
            for i in range(0, len(names), 2):
                formatter.write(" " * formatter.current_indent + "".join(n.ljust(width) for n in names[i:i + 2])
                                .rstrip() + "\n")
            formatter.write_text(f"'{ctx.info_name} COMMAND --help' describes one, with an example.")


def print_version(ctx, param, value):
    """--version, of the group and of every command: the installed versions of this tool and of MLflow (read from
    the distributions: MLflow itself is not imported)."""
    if not value or ctx.resilient_parsing:
        return
    mlflow_version = _version("mlflow") or f"{_version('mlflow-skinny')} (mlflow-skinny)"
    click.echo(f"{ctx.info_name} (mlflow-export-import) {_version('mlflow-export-import') or 'not installed'}, "
               f"mlflow {mlflow_version}")
    ctx.exit()


def _version(distribution):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


@click.group(cls=LazyGroup)
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=print_version,
              help="Show the versions of this tool and of MLflow, and exit.")
def cli():
    """Copy MLflow objects between tracking servers: export to a directory, import from it, or copy."""
