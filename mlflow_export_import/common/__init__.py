import json

from mlflow.exceptions import MlflowException

DEFAULT_HTTP_STATUS_CODE = -1


class MlflowExportImportException(Exception):
    """The one error this package raises: a message a user can act on, plus its source."""

    DEFAULT_HTTP_STATUS_CODE = DEFAULT_HTTP_STATUS_CODE

    def __init__(self, ex, message=None, http_status_code=DEFAULT_HTTP_STATUS_CODE, **kwargs):
        self.src_message = None
        self.http_status_code = http_status_code
        custom = dict(kwargs)
        if isinstance(ex, Exception):
            self.src_exception = ex
            self.message = str(ex)
            if isinstance(ex, MlflowException):
                self.http_status_code = ex.get_http_status_code()
                custom["mlflow_error_code"] = ex.error_code
            if message:
                self.message = message
                self.src_message = str(ex)
        else:
            self.src_exception = None
            self.message = str(ex)
        self.kwargs = {"message": self.message, "http_status_code": self.http_status_code, **custom}
        if self.src_message:
            self.kwargs["src_message"] = self.src_message
        super().__init__(json.dumps(self.kwargs))


class UsageError(MlflowExportImportException):
    """Bad options or names, found before anything is written: the command exits 2."""

    def __init__(self, message):
        super().__init__(message, http_status_code=400)


NOT_FOUND_CODES = ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND")  # MLflow and Databricks; open-source Unity Catalog


def is_not_found(ex):
    """Whether an MLflow error says the object does not exist, in any server's words."""
    return isinstance(ex, MlflowException) and ex.error_code in NOT_FOUND_CODES


def is_already_there(ex):
    """Whether an MLflow error says the object exists already (open-source Unity Catalog: ALREADY_EXISTS)."""
    return isinstance(ex, MlflowException) and ex.error_code in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS")


def describe_error(ex):
    """One line that says what went wrong, without a traceback, nor the password of a URI it quotes
    (MLflow's own messages quote the request URL as given)."""
    from mlflow_export_import.common.io_utils import redact_uri  # io_utils imports this module
    return redact_uri(_describe_error(ex))


def _describe_error(ex):
    if isinstance(ex, MlflowExportImportException):
        return ex.message
    if isinstance(ex, MlflowException):
        message = str(ex.message)  # a RestException's message already starts with its code
        text = message if message.startswith(f"{ex.error_code}:") else f"{ex.error_code}: {message}"
        return text.splitlines()[0][:500] if text.strip() else ex.error_code
    text = str(ex).strip()
    return f"{type(ex).__name__}: {text.splitlines()[0][:500]}" if text else type(ex).__name__
