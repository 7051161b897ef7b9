"""`mlflow-export-import <command>`: every console script under one group."""
import click

from mlflow_export_import.bulk import export_experiments, import_experiments
from mlflow_export_import.experiment import export_experiment, import_experiment
from mlflow_export_import.run import export_run, import_run

COMMANDS = [
    export_run.main, import_run.main,
    export_experiment.main, import_experiment.main,
    export_experiments.main, import_experiments.main,
]


@click.group()
def cli():
    """Copy MLflow objects between tracking servers: export to a directory, import from it."""


for _command in COMMANDS:
    cli.add_command(_command)
