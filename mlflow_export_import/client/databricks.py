"""The Databricks workspace surface that MLflow's client does not cover: a bounded reachability and token
check, workspace folders for experiment paths, and the Databricks error codes turned into clear lines."""
import posixpath

import requests

from mlflow_export_import.client import uris
from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.logging_utils import get_logger

_logger = get_logger(__name__)

# The SDK's default retry budget against an unreachable host is 5 minutes per client.
RETRY_TIMEOUT_SECONDS = 10
REQUEST_TIMEOUT_SECONDS = 15


def sdk_config(target):
    """databricks-sdk Config for the profile a URI names (None: env variables or DEFAULT), bounded retries."""
    from databricks.sdk.core import Config
    profile = target.profile if target.profile and ":" not in target.profile else None
    try:
        return Config(profile=profile, retry_timeout_seconds=RETRY_TIMEOUT_SECONDS)
    except ValueError as ex:
        where = f"profile '{profile}' of " if profile else ""
        raise MlflowExportImportException(
            ex, f"Cannot configure Databricks credentials for {where}'{target.uri}': {str(ex).splitlines()[0][:300]}",
            http_status_code=400)


def workspace_client(target):
    from databricks.sdk import WorkspaceClient
    return WorkspaceClient(config=sdk_config(target))


def _describe_target(target, host):
    profile = f" (profile '{target.profile}')" if target.profile else ""
    return f"the Databricks workspace {redact_uri(host)}{profile}"


def check_workspace(target):
    """One MLflow request with the side's own credentials: unreachable host, bad or expired token and missing
    permissions each give one line, within about RETRY_TIMEOUT_SECONDS + REQUEST_TIMEOUT_SECONDS."""
    config = sdk_config(target)
    what = _describe_target(target, config.host)
    try:
        headers = config.authenticate()
        resp = requests.get(f"{config.host.rstrip('/')}/api/2.0/mlflow/experiments/search",
                            params={"max_results": 1}, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
    except requests.RequestException as ex:
        reason = "connection refused" if "refused" in str(ex) else str(ex).splitlines()[0][:200]
        raise MlflowExportImportException(ex, f"Cannot reach {what}: {reason}", http_status_code=503)
    except Exception as ex:  # the SDK's own auth errors (OAuth, expired credentials)
        raise MlflowExportImportException(ex, f"Cannot authenticate to {what}: {str(ex).splitlines()[0][:300]}",
                                          http_status_code=401)
    if resp.status_code in (401, 403):
        code, message = error_of(resp)
        hint = "the token is wrong or expired" if code != "PERMISSION_DENIED" else "the user may not use MLflow"
        raise MlflowExportImportException(
            f"{what[0].upper()}{what[1:]} refused the credentials (HTTP {resp.status_code} {code}: {message}): {hint}",
            http_status_code=resp.status_code)
    if resp.status_code == 429:
        raise MlflowExportImportException(f"{what[0].upper()}{what[1:]} answers REQUEST_LIMIT_EXCEEDED: retry later",
                                          http_status_code=429)
    if resp.status_code >= 400:
        code, message = error_of(resp)
        raise MlflowExportImportException(f"{what[0].upper()}{what[1:]} answers HTTP {resp.status_code} {code}: "
                                          f"{message}", http_status_code=resp.status_code)


def error_of(resp):
    """(error_code, message) of a Databricks error answer."""
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200].strip()
    return str(body.get("error_code") or ""), str(body.get("message") or "")[:300]


def ensure_experiment_folder(client, experiment_name):
    """Create the workspace folder of an experiment path such as /Users/me@x.com/team/exp when it is missing,
    as Databricks requires the parent to exist (mkdirs is idempotent: one request per new experiment). Other
    tracking servers: nothing to do."""
    target = uris.parse(client.tracking_uri)
    if not target.is_databricks or not experiment_name.startswith("/"):
        return
    folder = posixpath.dirname(experiment_name.rstrip("/"))
    if folder in ("", "/"):
        return
    config = sdk_config(target)
    resp = requests.post(f"{config.host.rstrip('/')}/api/2.0/workspace/mkdirs", json={"path": folder},
                         headers=config.authenticate(), timeout=REQUEST_TIMEOUT_SECONDS)
    if resp.status_code >= 400:
        code, message = error_of(resp)
        raise MlflowExportImportException(
            f"Cannot create the workspace folder '{folder}' for experiment '{experiment_name}' in "
            f"{_describe_target(target, config.host)}: {code} {message}".rstrip(), http_status_code=resp.status_code)
    _logger.debug(f"Workspace folder '{folder}' is there")
