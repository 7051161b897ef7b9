"""Selectors of the bulk commands: names or ids (comma list), 'all', 'prefix*', or a .txt file."""
import os

from mlflow.entities import ViewType

from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.iterators import (
    SearchExperimentsIterator, SearchLoggedModelsIterator, SearchRegisteredModelsIterator, SearchTracesIterator)
from mlflow_export_import.common.mlflow_utils import get_experiment


def read_list_file(path):
    if not os.path.exists(path):
        raise MlflowExportImportException(f"List file '{path}' does not exist", http_status_code=400)
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip() and not line.strip().startswith("#")]


def _selector_items(selector):
    if isinstance(selector, str):
        selector = selector.strip()
        if selector.endswith(".txt"):
            return read_list_file(selector)
        return [x.strip() for x in selector.split(",") if x.strip()]
    return list(selector)


def get_experiment_ids(mlflow_client, experiment_ids, include_deleted=False):
    """Experiment ids for a selector (names or ids, 'all', 'name_prefix*', a .txt file, or a list); a name or id
    that does not exist raises one clear error."""
    view_type = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
    items = _selector_items(experiment_ids)
    if items == ["all"]:
        return [e.experiment_id for e in SearchExperimentsIterator(mlflow_client, view_type=view_type)]
    ids = []
    for item in items:
        if item.endswith("*"):
            prefix = item[:-1]
            ids.extend(e.experiment_id for e in SearchExperimentsIterator(mlflow_client, view_type=view_type)
                       if e.name.startswith(prefix))
        else:
            ids.append(get_experiment(mlflow_client, item).experiment_id)
    return list(dict.fromkeys(ids))


def get_model_names(mlflow_client, model_names):
    """Registered model names for a selector ('all' or '*', 'prefix*', names, .txt); prompts excluded."""
    items = _selector_items(model_names)
    if items in (["all"], ["*"]):
        return [m.name for m in SearchRegisteredModelsIterator(mlflow_client) if not is_prompt(m)]
    names = []
    for item in items:
        if item.endswith("*"):
            names.extend(m.name for m in SearchRegisteredModelsIterator(mlflow_client)
                         if m.name.startswith(item[:-1]) and not is_prompt(m))
        else:
            names.append(item)
    return list(dict.fromkeys(names))


def is_prompt(registered_model):
    tags = registered_model.tags or {}
    return str(tags.get("mlflow.prompt.is_prompt", "")).lower() == "true"


def get_logged_models(mlflow_client, experiment_ids):
    """Every logged model of the experiments (a selector, as get_experiment_ids takes)."""
    ids = get_experiment_ids(mlflow_client, experiment_ids)
    return list(SearchLoggedModelsIterator(mlflow_client, ids)) if ids else []


def get_traces(mlflow_client, experiment_ids, run_id=None):
    """Every trace of the experiments (a selector, as get_experiment_ids takes), or only those of run_id."""
    ids = get_experiment_ids(mlflow_client, experiment_ids)
    return list(SearchTracesIterator(mlflow_client, ids, run_id=run_id)) if ids else []
