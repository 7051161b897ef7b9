"""The runs behind registered model versions."""
from collections import defaultdict

from mlflow.exceptions import MlflowException

from mlflow_export_import.common import describe_error
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.model_utils import list_model_versions

_logger = get_logger(__name__)


def get_experiments_runs_of_models(client, model_names, show_experiments=False, show_runs=False):
    """{experiment_id: [run_id, ...]} of the runs of every version of the models; runs that no longer exist
    are left out (their versions keep the registry's copy of their files)."""
    run_ids = dict.fromkeys(vr.run_id for name in model_names for vr in list_model_versions(client, name)
                            if vr.run_id)
    return experiments_of_runs(client, run_ids)


def experiments_of_runs(client, run_ids):
    found = defaultdict(list)
    for run_id in run_ids:
        try:
            run = client.get_run(run_id)
        except MlflowException as ex:
            _logger.warning(f"Run '{run_id}' of a model version is not exported: {describe_error(ex)}")
            continue
        found[run.info.experiment_id].append(run_id)
    return dict(found)
