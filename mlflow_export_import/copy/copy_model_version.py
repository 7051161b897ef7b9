"""Copy a registered model version to a model of the same or another registry.

Shallow copy: the new version points at the source version's run and files (both sides must share the
tracking server). Deep copy (`dst_experiment_name`): the run is copied too (logged model included for an
MLflow 3 `models:/<model id>` source) and the new version points at the copy."""
import os
import re
import tempfile

import click
import mlflow
from mlflow.entities import LoggedModelStatus
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import ReadOnlyClient
from mlflow_export_import.client.scope import side_scope
from mlflow_export_import.common import (
    MlflowExportImportException, describe_error, is_not_found, model_utils, registry_rules)
from mlflow_export_import.common.click_options import bool_option, opt_dry_run, opt_principal_map, opt_report
from mlflow_export_import.common.cli_utils import command
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.id_map import LOGGED_MODELS, IdMap
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ExportTags, ImportTags
from mlflow_export_import.copy import copy_run, copy_utils
from mlflow_export_import.model.model_utils import (
    SRC_MODEL_ID_TAG, check_version_source, find_dst_logged_model, resolve_source)
from mlflow_export_import.model.plan import logged_model_id_of
from mlflow_export_import.model_version.import_model_version import _import_model_version
from mlflow_export_import.permissions.mapping import get_principal_map
from mlflow_export_import.permissions.transfer import export_model_permissions, import_model_permissions
from mlflow_export_import.run.plan import find_earlier_import

LINEAGE_PREFIXES = ("src_version.", "src_client.", "dst_client.", "src_run.")
SRC_RUN_LINEAGE_TAGS = ("mlflow.databricks.workspaceURL", "mlflow.databricks.webappURL",
                        "mlflow.databricks.workspaceID", "mlflow.user")

_logger = get_logger(__name__)


def copy(src_model_name, src_model_version, dst_model_name, dst_experiment_name=None,
         src_tracking_uri=None, dst_tracking_uri=None, src_registry_uri=None, dst_registry_uri=None,
         copy_permissions=False, copy_stages_and_aliases=False, copy_lineage_tags=False, verbose=False,
         report=None, principal_map=None):
    """Returns (source ModelVersion, destination ModelVersion as re-read from the destination registry).
    copy_permissions: the source model's Databricks permissions onto the destination model (workspace levels
    mapped to Unity Catalog grants for a Unity Catalog destination), principals renamed by principal_map."""
    src_client = copy_utils.mk_client(src_tracking_uri, src_registry_uri)
    dst_client = copy_utils.mk_client(dst_tracking_uri, dst_registry_uri)
    return _copy(src_client, src_model_name, src_model_version, dst_client, dst_model_name, dst_experiment_name,
                 copy_permissions, copy_stages_and_aliases, copy_lineage_tags, verbose, report, principal_map)


def _copy(src_client, src_model_name, src_model_version, dst_client, dst_model_name, dst_experiment_name=None,
          copy_permissions=False, copy_stages_and_aliases=False, copy_lineage_tags=False, verbose=False,
          report=None, principal_map=None):
    report = report if report is not None else Report()
    registry_rules.check_model_names(dst_client, [dst_model_name])
    src_model = _get_registered_model(src_client, src_model_name)
    src_vr = _get_version(src_client, src_model_name, src_model_version)
    if not dst_experiment_name:
        _check_shared_tracking_server(src_client, dst_client, src_vr)
    src_run = _get_source_run(src_client, src_vr, required=bool(dst_experiment_name))
    vr_dct = model_utils.model_version_to_dict(src_vr)
    if dst_experiment_name:
        dst_run_id, dst_source, model_id = _deep_copy_files(src_client, vr_dct, src_run, dst_client,
                                                            dst_experiment_name, report)
    else:
        dst_run_id, dst_source, model_id = src_vr.run_id, src_vr.source, logged_model_id_of(vr_dct)
    earlier = find_copied_version(dst_client, dst_model_name, dst_run_id, dst_source)
    if earlier is not None:
        report.skipped("model_versions", f"{src_model_name}/{src_vr.version}",
                       f"already copied as version {earlier.version} of model '{dst_model_name}'")
        _copy_permissions(src_client, src_model_name, dst_client, dst_model_name, copy_permissions, principal_map,
                          report)
        return src_vr, earlier
    if copy_lineage_tags:
        vr_dct["tags"] = _with_lineage_tags(vr_dct["tags"], src_vr, src_run, src_client, dst_client, dst_model_name)
    existed = copy_utils.create_registered_model(dst_client, dst_model_name, src_model)
    try:
        dst_vr = _import_model_version(dst_client, dst_model_name, vr_dct, dst_run_id, dst_source,
                                       import_stages_and_aliases=copy_stages_and_aliases, model_id=model_id)
    except Exception as ex:
        if not existed:
            model_utils.delete_model_quietly(dst_client, dst_model_name)
        raise MlflowExportImportException(
            ex, f"Version {src_vr.version} of model '{src_model_name}' could not be copied to model "
                f"'{dst_model_name}' in {copy_utils.describe_client(dst_client)}: {describe_error(ex)}")
    report.copied("model_versions")
    _copy_permissions(src_client, src_model_name, dst_client, dst_model_name, copy_permissions, principal_map, report)
    dst_vr = dst_client.get_model_version(dst_model_name, dst_vr.version)
    _logger.info(f"Copied version {src_vr.version} of model '{src_model_name}' to version {dst_vr.version} of "
                 f"model '{dst_model_name}' ({'deep' if dst_experiment_name else 'shallow'} copy)")
    if verbose:
        _logger.info(f"Source version: {model_utils.model_version_to_dict(src_vr)}")
        _logger.info(f"Destination version: {model_utils.model_version_to_dict(dst_vr)}")
    return src_vr, dst_vr


def _copy_permissions(src_client, src_model_name, dst_client, dst_model_name, copy_permissions, principal_map,
                      report):
    if copy_permissions:
        perms = export_model_permissions(src_client, src_model_name, report)
        import_model_permissions(dst_client, dst_model_name, perms, get_principal_map(principal_map), report)


def _get_registered_model(client, model_name):
    try:
        model = client.get_registered_model(model_name)
    except MlflowException as ex:
        reason = "not found" if is_not_found(ex) else describe_error(ex)
        raise MlflowExportImportException(
            ex, f"Registered model '{model_name}' {reason} in {copy_utils.describe_client(client)}",
            http_status_code=ex.get_http_status_code())
    if model.tags.get(model_utils.PROMPT_TAG):
        raise MlflowExportImportException(
            f"Registered model '{model_name}' is a prompt: copy prompts with the prompt commands",
            http_status_code=400)
    return model


def _get_version(client, model_name, version):
    try:
        return client.get_model_version(model_name, str(version))
    except MlflowException as ex:
        reason = "not found" if (is_not_found(ex) or ex.error_code == "INVALID_PARAMETER_VALUE") \
            else describe_error(ex)
        raise MlflowExportImportException(
            ex, f"Version '{version}' of registered model '{model_name}' {reason} in "
                f"{copy_utils.describe_client(client)}", http_status_code=ex.get_http_status_code())


def _check_shared_tracking_server(src_client, dst_client, src_vr):
    """A shallow copy points at the source run: the destination must see it (same tracking server)."""
    if src_client.tracking_uri.rstrip("/") == dst_client.tracking_uri.rstrip("/") or not src_vr.run_id \
            or _sees_run(dst_client, src_vr.run_id):
        return
    raise MlflowExportImportException(
        f"A shallow copy (no --dst-experiment-name) makes the new version point at the source run "
        f"'{src_vr.run_id}', which only works when both sides share the tracking server: the destination "
        f"{redact_uri(dst_client.tracking_uri)} does not know that run of {redact_uri(src_client.tracking_uri)}. "
        "Give --dst-experiment-name for a deep copy that copies the run too.", http_status_code=400)


def _sees_run(client, run_id):
    try:
        client.get_run(run_id)
        return True
    except MlflowException:
        return False


def _get_source_run(client, src_vr, required):
    """The version's run; a deep copy cannot do without it, lineage tags can."""
    if not src_vr.run_id:
        if required:
            raise MlflowExportImportException(
                f"Version {src_vr.version} of model '{src_vr.name}' has no run (source '{src_vr.source}'): "
                "a deep copy has no run to copy", http_status_code=400)
        return None
    try:
        return copy_run.get_run(client, src_vr.run_id)
    except MlflowExportImportException as ex:
        if required:
            raise MlflowExportImportException(
                f"Version {src_vr.version} of model '{src_vr.name}': {ex.message}", http_status_code=404)
        return None


def _deep_copy_files(src_client, vr_dct, src_run, dst_client, dst_experiment_name, report):
    """Copy the run (and a logged model source) to the destination. Returns (run id, source, model id)."""
    dst_run = copy_run._copy(src_run.info.run_id, dst_experiment_name, src_client, dst_client, report)
    id_map = IdMap()
    src_model_id = logged_model_id_of(vr_dct)
    if src_model_id:
        id_map.put(LOGGED_MODELS, src_model_id, _copy_logged_model(src_client, src_model_id, dst_client, dst_run,
                                                                   report))
    dst_source, model_id = resolve_source(dst_client, vr_dct, dst_run.info, src_run.info.artifact_uri, id_map)
    check_version_source(dst_client, vr_dct, dst_source, dst_run.info.run_id)
    return dst_run.info.run_id, dst_source, model_id


def _copy_logged_model(src_client, src_model_id, dst_client, dst_run, report):
    """A copy of the logged model in the destination run's experiment, made once: an earlier copy (marked with
    the source model id) is reused. Its MLmodel points at the new model and run."""
    try:
        earlier = find_dst_logged_model(dst_client, src_model_id, dst_run.info)
        report.skipped("logged_models", src_model_id, f"already copied as '{earlier.model_id}'")
        return earlier.model_id
    except MlflowExportImportException:
        pass
    src_model = src_client.get_logged_model(src_model_id)
    dst_model = dst_client.create_logged_model(
        dst_run.info.experiment_id, name=src_model.name, source_run_id=dst_run.info.run_id,
        tags={**src_model.tags, SRC_MODEL_ID_TAG: src_model_id}, params=src_model.params,
        model_type=src_model.model_type)
    try:
        with tempfile.TemporaryDirectory(prefix="mlflow-copy-model-") as tmp:
            with side_scope(src_client):
                local = mlflow.artifacts.download_artifacts(artifact_uri=src_model.artifact_location, dst_path=tmp,
                                                            tracking_uri=src_client.tracking_uri)
            _point_mlmodel_at(os.path.join(local, "MLmodel"), dst_model.model_id, dst_run.info.run_id)
            dst_client.log_model_artifacts(dst_model.model_id, local)
        if src_model.status != LoggedModelStatus.PENDING:
            dst_client.finalize_logged_model(dst_model.model_id, src_model.status)
    except Exception:
        dst_client.delete_logged_model(dst_model.model_id)
        raise
    report.copied("logged_models")
    return dst_model.model_id


def _point_mlmodel_at(path, model_id, run_id):
    if not os.path.exists(path):
        return
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"(?m)^model_id:.*$", f"model_id: {model_id}", text)
    text = re.sub(r"(?m)^run_id:.*$", f"run_id: {run_id}", text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def find_copied_version(dst_client, dst_model_name, dst_run_id, dst_source):
    """The version of the destination model an earlier copy made from the same run and files, if any."""
    if not model_utils.model_exists(dst_client, dst_model_name):
        return None
    for vr in model_utils.search_model_versions(dst_client, f"name='{model_utils.quote(dst_model_name)}'"):
        if vr.run_id == dst_run_id and vr.source == dst_source:
            return vr
    return None


def plan_copy(src_client, src_model_name, src_model_version, dst_client, dst_model_name, dst_experiment_name,
              report):
    """--dry-run: the same checks of the source and destination as a copy, and what it would create."""
    registry_rules.check_model_names(dst_client, [dst_model_name])
    _get_registered_model(src_client, src_model_name)
    src_vr = _get_version(src_client, src_model_name, src_model_version)
    key = f"{src_model_name}/{src_vr.version}"
    if dst_experiment_name:
        _get_source_run(src_client, src_vr, required=True)
        exp = dst_client.get_experiment_by_name(dst_experiment_name)
        earlier = find_earlier_import(dst_client, exp.experiment_id, src_vr.run_id) if exp else None
        if earlier is None or earlier.data.tags.get(ImportTags.STATE) != ImportTags.STATE_DONE:
            report.would("runs", src_vr.run_id, f"copy run {src_vr.run_id} into experiment '{dst_experiment_name}'")
            report.would("model_versions", key, f"create a version of model '{dst_model_name}'")
            return
        report.skipped("runs", src_vr.run_id, f"already copied as run '{earlier.info.run_id}'")
        dst_run_id = earlier.info.run_id
        copied = [vr for vr in _versions_if_any(dst_client, dst_model_name) if vr.run_id == dst_run_id]
    else:
        _check_shared_tracking_server(src_client, dst_client, src_vr)
        copied = [vr for vr in _versions_if_any(dst_client, dst_model_name)
                  if vr.run_id == src_vr.run_id and vr.source == src_vr.source]
    if copied:
        report.skipped("model_versions", key, f"already copied as version {copied[0].version} of model "
                                              f"'{dst_model_name}'")
    else:
        report.would("model_versions", key, f"create a version of model '{dst_model_name}'")


def _versions_if_any(client, model_name):
    if not model_utils.model_exists(client, model_name):
        return []
    return model_utils.search_model_versions(client, f"name='{model_utils.quote(model_name)}'")


def _with_lineage_tags(tags, src_vr, src_run, src_client, dst_client, dst_model_name):
    """The version's tags without lineage of an earlier copy, plus this copy's `mlflow_exim.*` tags
    (dots turned into '_' for a Unity Catalog model, whose tag keys cannot hold them)."""
    prefix = ExportTags.PREFIX_ROOT
    old = tuple(f"{prefix}.{p}" for p in LINEAGE_PREFIXES) + tuple(f"{prefix}_{p.replace('.', '_')}"
                                                                     for p in LINEAGE_PREFIXES)
    tags = {k: v for k, v in tags.items() if not k.startswith(old)}
    lineage = {
        f"{prefix}.src_version.name": src_vr.name,
        f"{prefix}.src_version.version": str(src_vr.version),
        f"{prefix}.src_version.run_id": src_vr.run_id or "",
        f"{prefix}.src_client.tracking_uri": redact_uri(src_client.tracking_uri),
        f"{prefix}.dst_client.tracking_uri": redact_uri(dst_client.tracking_uri),
    }
    if src_run is not None:
        for key in SRC_RUN_LINEAGE_TAGS:
            copy_utils.add_tag(src_run.data.tags, lineage, key, f"{prefix}.src_run")
    if registry_rules.registry_kind(dst_client) == registry_rules.UNITY_CATALOG or \
            model_utils.is_unity_catalog_model(dst_model_name):  # the reference decides by the name
        lineage = {k.replace(".", "_"): v for k, v in lineage.items()}
    return {**tags, **lineage}


@click.command("copy-model-version")
@click.option("--src-model", help="Source registered model.", type=str, required=True)
@click.option("--src-version", help="Source model version.", type=str, required=True)
@click.option("--dst-model", help="Destination registered model.", type=str, required=True)
@click.option("--src-registry-uri", "--src-registry-uri:", "src_registry_uri", type=str, default=None,
              help="Source MLflow registry URI, which names the tracking server too (databricks-uc://p -> "
                   "databricks://p). Default: $MLFLOW_TRACKING_URI. (The spelling with a colon, as in the "
                   "reference's README, is accepted too.)")
@click.option("--dst-registry-uri", "--dst-registry-uri:", "dst_registry_uri", type=str, default=None,
              help="Destination MLflow registry URI, which names the tracking server too. "
                   "Default: $MLFLOW_TRACKING_URI.")
@click.option("--src-mlflow-uri", type=str, default=None,
              help="Source tracking server, when it is not the one the registry URI names (e.g. with a "
                   "uc:http://HOST:PORT open-source Unity Catalog registry).")
@click.option("--dst-mlflow-uri", type=str, default=None,
              help="Destination tracking server, when it is not the one the registry URI names.")
@click.option("--dst-experiment-name", type=str, default=None,
              help="Destination experiment name. If specified, copy the version's run to a new run (deep copy). "
                   "Else the new version points at the source version's run (shallow copy: both sides must "
                   "share the tracking server).")
@bool_option("--copy-permissions", "Copy the model's Databricks permissions (workspace registry permissions, "
             "Unity Catalog grants; workspace levels become Unity Catalog grants by a documented table).")
@opt_principal_map
@bool_option("--copy-stages-and-aliases", "Give the new version the source version's stage and aliases.")
@bool_option("--copy-lineage-tags", "Add source lineage info to the destination version as tags starting with "
             "'mlflow_exim'.")
@bool_option("--verbose", "Verbose.")
@opt_dry_run
@opt_report
def main(src_model, src_version, dst_model, src_registry_uri, dst_registry_uri, src_mlflow_uri, dst_mlflow_uri,
         dst_experiment_name, copy_permissions, principal_map, copy_stages_and_aliases, copy_lineage_tags, verbose,
         dry_run, report_file):
    """Copy a registered model version (and, with --dst-experiment-name, its run) to another model."""
    with command("copy-model-version", copy_utils.redact_options(locals()), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_copy(copy_utils.mk_client(src_mlflow_uri, src_registry_uri), src_model, src_version,
                      ReadOnlyClient(copy_utils.mk_client(dst_mlflow_uri, dst_registry_uri)), dst_model,
                      dst_experiment_name, report)
            return
        src_vr, dst_vr = copy(src_model, src_version, dst_model, dst_experiment_name,
                              src_tracking_uri=src_mlflow_uri, dst_tracking_uri=dst_mlflow_uri,
                              src_registry_uri=src_registry_uri, dst_registry_uri=dst_registry_uri,
                              copy_permissions=copy_permissions, copy_stages_and_aliases=copy_stages_and_aliases,
                              copy_lineage_tags=copy_lineage_tags, verbose=verbose, report=report,
                              principal_map=principal_map)
        click.echo(f"Version {src_vr.version} of model '{src_model}' copied as version {dst_vr.version} of model "
                   f"'{dst_model}'")


if __name__ == "__main__":
    main()
