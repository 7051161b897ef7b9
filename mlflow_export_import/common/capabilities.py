"""What a server can store is asked of the server: an endpoint it lacks answers 404 / ENDPOINT_NOT_FOUND /
NOT_IMPLEMENTED, whatever the installed client library supports."""
from mlflow.exceptions import MlflowException

from mlflow_export_import.common.io_utils import redact_uri

_UNSUPPORTED_CODES = ("ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "FEATURE_DISABLED")


def is_unsupported(ex):
    if isinstance(ex, NotImplementedError):
        return True
    if isinstance(ex, MlflowException):
        if ex.error_code in _UNSUPPORTED_CODES:
            return True
        return ex.get_http_status_code() in (404, 501) and "not found" in ex.message.lower() \
            and "endpoint" in ex.message.lower()
    return False


def unsupported_reason(client):
    return f"not supported by {redact_uri(client.tracking_uri)}"
