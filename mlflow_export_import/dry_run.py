"""--dry-run: what an import or copy would do, worked out by reading the export and the destination only.

The plan of each object type is in <type>/plan.py, next to its importer, which takes the same decisions from the
same functions (the readers of the export files, the lookups of earlier imports, the decision itself); each
import command's --dry-run calls its plan from there. Here: the plan of import-all, which is of no one object
type, and the plan functions by name for callers of this module. The destination client is read-only
(client_utils.ReadOnlyClient): a write reaching it is a bug, and raises instead of changing the server."""
import os

from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common.io_utils import subdirs
from mlflow_export_import.evaluation_dataset.plan import plan_datasets, sibling_experiment_names
from mlflow_export_import.experiment.plan import plan_experiment, plan_experiments, plan_exported_experiments
from mlflow_export_import.logged_model.plan import plan_logged_model, plan_logged_models_dir
from mlflow_export_import.model.plan import plan_model, plan_model_versions, plan_models
from mlflow_export_import.model_version.plan import plan_model_version
from mlflow_export_import.prompt.plan import plan_prompts
from mlflow_export_import.run.plan import plan_run
from mlflow_export_import.trace.plan import plan_trace, plan_traces_dir

__all__ = ["plan_all", "plan_datasets", "plan_experiment", "plan_experiments", "plan_exported_experiments",
           "plan_logged_model", "plan_logged_models_dir", "plan_model", "plan_model_version", "plan_model_versions",
           "plan_models", "plan_prompts", "plan_run", "plan_trace", "plan_traces_dir", "subdirs"]


def plan_all(client, input_dir, delete_model, delete_prompt, delete_dataset, experiment_renames, model_renames,
             report):
    plan_models(client, input_dir, delete_model, experiment_renames, model_renames, report)
    prompts_dir = os.path.join(input_dir, "prompts")
    if os.path.isdir(prompts_dir):
        plan_prompts(client, subdirs(prompts_dir), delete_prompt, report)
    datasets_dir = os.path.join(input_dir, "evaluation_datasets")
    if os.path.isdir(datasets_dir):
        # the experiments import-all creates first (renamed as it renames them) get the datasets' links
        renames = get_renames(experiment_renames)
        names = {src_id: rename(name, renames) for src_id, name in sibling_experiment_names(datasets_dir).items()}
        plan_datasets(client, subdirs(datasets_dir), delete_dataset, report, experiment_names=names,
                      experiments_to_create=set(names.values()))
