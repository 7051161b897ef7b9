"""Which MLflow 3 object kinds the installed MLflow client library knows (reference API). What a *server*
supports is asked of the server (common/capabilities.py); these gates only say whether the library has the
calls at all."""
import mlflow
from packaging.version import Version

from mlflow_export_import.common.logging_utils import get_logger

TRACES_SINCE = "2.14.0"
PROMPTS_SINCE = "2.21.0"
LOGGED_MODELS_SINCE = "3.0.0"
ASSESSMENTS_SINCE = "3.2.0"
EVALUATION_DATASETS_SINCE = "3.4.0"

_logger = get_logger(__name__)


def get_mlflow_version():
    return mlflow.__version__


def _at_least(since):
    # a dev or rc build counts as its release: '3.4.0rc1' has the 3.4 calls
    return Version(Version(get_mlflow_version()).base_version) >= Version(since)


def has_trace_support():
    return _at_least(TRACES_SINCE)


def has_prompt_support():
    return _at_least(PROMPTS_SINCE)


def has_logged_model_support():
    return _at_least(LOGGED_MODELS_SINCE)


def has_assessment_support():
    return _at_least(ASSESSMENTS_SINCE)


def has_evaluation_dataset_support():
    return _at_least(EVALUATION_DATASETS_SINCE)


def get_version_info():
    return {
        "mlflow_version": get_mlflow_version(),
        "supports_traces": has_trace_support(),
        "supports_prompts": has_prompt_support(),
        "supports_logged_models": has_logged_model_support(),
        "supports_evaluation_datasets": has_evaluation_dataset_support(),
    }


def log_version_info():
    info = get_version_info()
    _logger.info("MLflow version and the object kinds it supports:")
    for key, value in info.items():
        _logger.info(f"  {key}: {value}")
    return info
