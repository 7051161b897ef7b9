"""Nested runs found through the `mlflow.parentRunId` tag (reference API): one search of the experiment's child
runs per experiment, however many runs are asked about."""
from mlflow_export_import.experiment.nested_runs_utils import child_runs, collect_nested_runs


def get_nested_runs_for_experiment(client, experiment_id):
    """Every run of the experiment that has a parent (deleted ones included)."""
    return child_runs(client, experiment_id)


def get_nested_runs(client, runs, parent_runs=None):
    """The runs (Run entities or ids) and all their descendants, each once, every parent before its children.
    parent_runs: the experiments' runs that have a parent, when already known (else searched)."""
    return collect_nested_runs(client, runs, parent_runs)
