"""What a server can store is asked of the server: an endpoint it lacks answers 404 / ENDPOINT_NOT_FOUND /
NOT_IMPLEMENTED, whatever the installed client library supports."""
from mlflow.exceptions import MlflowException

from mlflow_export_import.common import describe_error
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.logging_utils import get_logger

_UNSUPPORTED_CODES = ("ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "FEATURE_DISABLED")


_logger = get_logger(__name__)


class Unsupported(Exception):
    """Raised by a check that found the server lacks a feature."""


def is_unsupported(ex):
    if isinstance(ex, (NotImplementedError, Unsupported)):
        return True
    if isinstance(ex, MlflowException):
        if ex.error_code in _UNSUPPORTED_CODES:
            return True
        return ex.get_http_status_code() in (404, 501) and "not found" in ex.message.lower() \
            and "endpoint" in ex.message.lower()
    return False


def unsupported_reason(client):
    return f"not supported by {redact_uri(client.tracking_uri)}"


def record_failure(report, kind, obj_id, ex, unsupported, what):
    """An object that could not be copied: 'skipped' with the reason `unsupported` when the server lacks the
    feature, else 'failed' with '<what>: <error>'."""
    if is_unsupported(ex):
        report.skipped(kind, obj_id, unsupported)
    else:
        report.failed(kind, obj_id, f"{what}: {describe_error(ex)}")
        _logger.error(f"{what}: {describe_error(ex)}")


def earlier_imports(lookup, client, experiment_id):
    """lookup(client, experiment id) of an experiment that exists; for one the import would create, the same
    search in the Default experiment only asks whether the server supports it (as the import finds out)."""
    if experiment_id is None:
        try:
            lookup(client, "0")
        except Exception as ex:
            if is_unsupported(ex):
                raise
        return {}
    return lookup(client, experiment_id)
