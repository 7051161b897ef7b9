"""What each kind of model registry can hold, and the documented rule for what it cannot.

- Open-source MLflow (and SageMaker): stages and aliases.
- Databricks workspace registry: stages, no aliases. A version's aliases are kept as the version tag
  `mlflow_exim.src_aliases` (comma-separated).
- Unity Catalog: aliases, no stages; three-level names `catalog.schema.model`; every version needs a model
  signature. An open-source Unity Catalog server (`uc:http://...`) holds no tags and no aliases either: what
  would go there is logged as not kept. A version's stage becomes an alias by the stage-alias rule (default: Production -> production,
  Staging -> staging, Archived and None -> no alias; override with $MLFLOW_EXPORT_IMPORT_STAGE_ALIASES, e.g.
  'Production=champion,Staging=challenger,Archived=archived'); when several versions share a stage, the
  highest-numbered one gets the alias (versions are imported in order). The stage itself is kept as the
  version tag `mlflow_exim.src_stage`."""
import os
import re

from mlflow_export_import.client import uris
from mlflow_export_import.client.scope import scoped_object
from mlflow_export_import.common import MlflowExportImportException, UsageError
from mlflow_export_import.common.logging_utils import get_logger

STAGE_TAG = "mlflow_exim.src_stage"
ALIASES_TAG = "mlflow_exim.src_aliases"
STAGE_ALIASES_ENV = "MLFLOW_EXPORT_IMPORT_STAGE_ALIASES"
DEFAULT_STAGE_ALIASES = {"production": "production", "staging": "staging"}

WORKSPACE = "workspace"
UNITY_CATALOG = "unity_catalog"
OSS = "oss"

_logger = get_logger(__name__)
_UC_PART = re.compile(r"^[^.\s/\x00-\x1f\x7f]{1,255}$")


def registry_kind(client):
    return uris.registry_kind(uris.registry_uri_of(client))


def holds_tags_and_aliases(client):
    """False for an open-source Unity Catalog server: MLflow's store for it implements neither."""
    return uris.parse(uris.registry_uri_of(client)).kind != uris.UC_OSS


def _not_kept(client, model_name, version, what):
    _logger.warning(f"Version {version} of '{model_name}': {what} not kept: the open-source Unity Catalog server "
                    f"{uris.registry_uri_of(client)} holds no tags or aliases")


def uc_name_problem(name):
    """Why `name` cannot name a Unity Catalog model, or None."""
    parts = name.split(".")
    if len(parts) != 3:
        return "a Unity Catalog model name has three parts: catalog.schema.model"
    for part in parts:
        if not _UC_PART.match(part):
            return f"'{part}' is not a Unity Catalog identifier (no spaces, '/', '.' or control characters)"
    return None


def check_model_names(client, names):
    """Before anything is written: every destination model name must suit the destination registry."""
    if registry_kind(client) != UNITY_CATALOG:
        return
    bad = [f"'{n}' ({problem})" for n in names if (problem := uc_name_problem(n))]
    if bad:
        raise UsageError(
            f"Not a Unity Catalog model name: {', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}. "
            "Map source names to catalog.schema.model with --model-rename-file (or --model / --dst-model)")


def stage_aliases():
    """{lower-case stage: alias} of the stage-alias rule (an empty alias: none for that stage)."""
    spec = os.environ.get(STAGE_ALIASES_ENV)
    if not spec:
        return dict(DEFAULT_STAGE_ALIASES)
    rule = {}
    for item in spec.split(","):
        stage, sep, alias = item.partition("=")
        if not sep or not stage.strip():
            raise UsageError(f"{STAGE_ALIASES_ENV}: '{item}' is not STAGE=ALIAS")
        rule[stage.strip().lower()] = alias.strip()
    return rule


def _stage_of(src_vr):
    stage = src_vr.get("current_stage")
    return stage if stage and stage.lower() != "none" else None


def registry_writer(client):
    """MLflow's registry client behind `client`, for the writes of an import to a model it made or checked:
    MlflowClient reads the model (registered-models/get) before each stage, alias, version tag or deletion,
    only to refuse a prompt, which such a model is not."""
    return scoped_object(client, client._get_registry_client())


def set_stage_and_aliases(client, model_name, version, src_vr):
    """Give the destination version the source version's stage and aliases, as the registry allows."""
    kind = registry_kind(client)
    stage, aliases = _stage_of(src_vr), list(src_vr.get("aliases") or [])
    if kind == UNITY_CATALOG:
        if stage and holds_tags_and_aliases(client):
            registry_writer(client).set_model_version_tag(model_name, version, STAGE_TAG, stage)
        elif stage:
            _not_kept(client, model_name, version, f"stage '{stage}'")
        alias = stage_aliases().get(stage.lower()) if stage else None
        if alias:
            aliases.append(alias)
    elif stage:
        registry_writer(client).transition_model_version_stage(model_name, version, stage,
                                                               archive_existing_versions=False)
    set_aliases(client, model_name, version, aliases, kind)


def set_aliases(client, model_name, version, aliases, kind=None):
    kind = kind or registry_kind(client)
    aliases = list(dict.fromkeys(a for a in aliases if a))
    if not aliases:
        return
    if not holds_tags_and_aliases(client):
        _not_kept(client, model_name, version, f"aliases {', '.join(aliases)}")
        return
    if kind == WORKSPACE:
        registry_writer(client).set_model_version_tag(model_name, version, ALIASES_TAG, ",".join(aliases))
        return
    for alias in aliases:
        registry_writer(client).set_registered_model_alias(model_name, alias, version)


def stage_unset(client, dst_vr, src_vr):
    """Whether the destination version still lacks what the source version's stage gives it."""
    stage = _stage_of(src_vr)
    if registry_kind(client) == UNITY_CATALOG:
        return bool(stage) and holds_tags_and_aliases(client) and (dst_vr.tags or {}).get(STAGE_TAG) != stage
    return (stage or "None").lower() != (dst_vr.current_stage or "None").lower()


def signature_error(ex, model_name, src_vr):
    """Unity Catalog refuses a version without a model signature: say which and how to add one."""
    text = str(ex)
    if "signature" not in text.lower():
        return None
    return MlflowExportImportException(
        ex, f"Version {src_vr.get('version')} of model '{src_vr.get('name') or model_name}' has no model signature, "
            f"which Unity Catalog requires for '{model_name}': add one to the source model with set-model-signature "
            "(list them with list-model-versions-without-signatures), then re-run; the other versions are copied",
        http_status_code=400)
