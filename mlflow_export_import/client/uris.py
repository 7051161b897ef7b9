"""What kind of place a tracking or registry URI names, checked before any request: Databricks workspaces
(`databricks`, `databricks://PROFILE`), their Unity Catalog registry (`databricks-uc[://PROFILE]`), an
open-source Unity Catalog server (`uc:http://HOST:PORT`), SageMaker MLflow ARNs, and plain MLflow servers
or local stores. Pure functions over strings and the Databricks config file: no request is sent here."""
import configparser
import os
import re
from dataclasses import dataclass

from mlflow_export_import.common import MlflowExportImportException

OSS = "oss"
DATABRICKS = "databricks"
DATABRICKS_UC = "databricks-uc"
UC_OSS = "uc"
SAGEMAKER = "sagemaker"

_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                     r"(?P<type>mlflow-tracking-server|mlflow-app)/(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]*)$")
_PROFILE_RE = re.compile(r"^[A-Za-z0-9_.@+-]+(:[A-Za-z0-9_.-]+)?$")


@dataclass(frozen=True)
class Target:
    """A parsed URI: its kind, the Databricks profile it names (None: the default), the SageMaker region."""
    uri: str
    kind: str
    profile: str = None
    region: str = None

    @property
    def is_databricks(self):
        return self.kind in (DATABRICKS, DATABRICKS_UC)


def parse(uri):
    """The Target a URI names, or one clear error saying what is wrong with it."""
    uri = (uri or "").strip()
    if uri.startswith("arn:"):
        return _parse_arn(uri)
    for scheme, kind in ((DATABRICKS_UC, DATABRICKS_UC), (DATABRICKS, DATABRICKS)):
        if uri == scheme:
            return Target(uri, kind)
        if uri.startswith(scheme + "://"):
            profile = uri[len(scheme) + 3:].strip("/")
            if not profile or not _PROFILE_RE.match(profile):
                raise MlflowExportImportException(
                    f"Bad Databricks URI '{uri}': use '{scheme}' (default profile) or '{scheme}://PROFILE'",
                    http_status_code=400)
            return Target(uri, kind, profile=profile)
    if uri.startswith("uc:"):
        rest = uri[len("uc:"):]
        if not rest.startswith(("http://", "https://")):
            raise MlflowExportImportException(
                f"Bad Unity Catalog URI '{uri}': use 'uc:http://HOST:PORT' for an open-source Unity Catalog server",
                http_status_code=400)
        return Target(uri, UC_OSS)
    return Target(uri, OSS)


def _parse_arn(uri):
    m = _ARN_RE.match(uri)
    if not m:
        raise MlflowExportImportException(
            f"Bad SageMaker MLflow ARN '{uri}': expected 'arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME'"
            " or 'arn:aws:sagemaker:REGION:ACCOUNT:mlflow-app/ID'", http_status_code=400)
    return Target(uri, SAGEMAKER, region=m.group("region"))


def tracking_uri_of_registry(registry_uri):
    """The tracking server a registry URI implies when no tracking URI is given: a Unity Catalog registry of
    a workspace lives beside that workspace's tracking server."""
    target = parse(registry_uri)
    if target.kind == DATABRICKS_UC:
        return DATABRICKS + registry_uri[len(DATABRICKS_UC):]
    if target.kind == UC_OSS:
        return None  # an open-source UC server holds no runs: the tracking server must be given
    return registry_uri


def registry_uri_of(client):
    """The registry a client (or any wrapper of one) writes models to: its registry URI, else its tracking URI."""
    return getattr(client, "_registry_uri", None) or client.tracking_uri


def registry_kind(registry_uri):
    """'workspace' (Databricks workspace registry: stages, no aliases), 'unity_catalog' (aliases, no stages,
    three-level names, signatures required) or 'oss' (both stages and aliases)."""
    kind = parse(registry_uri).kind if registry_uri else OSS
    if kind == DATABRICKS:
        return "workspace"
    if kind in (DATABRICKS_UC, UC_OSS):
        return "unity_catalog"
    return "oss"


def databricks_config_file():
    return os.path.expanduser(os.environ.get("DATABRICKS_CONFIG_FILE") or "~/.databrickscfg")


def check_databricks_profile(target):
    """A `databricks://PROFILE` URI whose profile is missing from the config file fails here with a message
    that names both, instead of MLflow's generic 'Reading Databricks credential configuration failed'."""
    if not target.is_databricks or target.profile is None or ":" in target.profile:
        return  # default credentials (env or DEFAULT) or a secret-scope URI: the SDK resolves them
    path = databricks_config_file()
    if not os.path.exists(path):
        raise MlflowExportImportException(
            f"Databricks profile '{target.profile}' of '{target.uri}' not found: there is no config file {path} "
            f"(create it with 'databricks configure --profile {target.profile}', or set DATABRICKS_CONFIG_FILE)",
            http_status_code=400)
    parser = configparser.ConfigParser(default_section="__no_default__", interpolation=None)
    try:
        parser.read(path)
    except configparser.Error as ex:
        raise MlflowExportImportException(f"Cannot read the Databricks config file {path}: {ex}".splitlines()[0],
                                          http_status_code=400)
    if not parser.has_section(target.profile):
        known = ", ".join(parser.sections()) or "none"
        raise MlflowExportImportException(
            f"Databricks profile '{target.profile}' of '{target.uri}' not found in {path} (profiles there: {known})",
            http_status_code=400)
    if not parser.get(target.profile, "host", fallback=None):
        raise MlflowExportImportException(
            f"Databricks profile '{target.profile}' in {path} has no 'host'", http_status_code=400)


def env_credentials_shadow_profile(target):
    """True when DATABRICKS_HOST/DATABRICKS_TOKEN are set although the URI names a profile: the Databricks SDK
    then takes the host and token from the environment, not from the profile."""
    return target.is_databricks and target.profile is not None and ":" not in target.profile and bool(
        os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_TOKEN"))


def check_sagemaker_plugin(target):
    if target.kind != SAGEMAKER:
        return
    try:
        import sagemaker_mlflow  # noqa: F401
    except ImportError:
        raise MlflowExportImportException(
            f"'{target.uri}' is a SageMaker MLflow ARN: install the SageMaker extra "
            "(pip install 'mlflow-export-import[sagemaker]', or pip install sagemaker-mlflow)", http_status_code=400)
