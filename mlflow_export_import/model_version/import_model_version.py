"""Import one exported model version (export-model-version): its run into an experiment, then the version
with description, tags, stage and aliases, its source moved to the imported run (or logged model)."""
import os
import time

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
from mlflow_export_import.common import model_utils, registry_rules
from mlflow_export_import.common.click_options import (
    opt_dry_run,
    bool_option, opt_experiment_name, opt_import_permissions, opt_import_source_tags, opt_input_dir,
    opt_principal_map, opt_report)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ExportTags, fmt_timestamps, set_source_tags_for_field
from mlflow_export_import.model.model_utils import check_version_source, import_version_logged_models, resolve_source
from mlflow_export_import.model.plan import SRC_VERSION_TAG, find_imported_version, src_version_key
from mlflow_export_import.model_version.plan import plan_model_version, read_version
from mlflow_export_import.permissions.mapping import get_principal_map
from mlflow_export_import.permissions.transfer import import_model_permissions
from mlflow_export_import.run.import_run import import_run
from mlflow_export_import.tools import signature_utils

MODEL_FILE = "model.json"

_logger = get_logger(__name__)


def import_model_version(model_name, experiment_name, input_dir, create_model=False, import_permissions=False,
                         import_source_tags=False, import_stages_and_aliases=True, import_metadata=False,
                         model_id=None, mlflow_client=None, report=None, id_map=None, principal_map=None):
    """Import the version exported in input_dir as a new version of model_name; its run goes into
    experiment_name. With import_permissions, the exported model's Databricks permissions are granted on model_name
    (principals renamed by principal_map). Returns the destination ModelVersion."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    registry_rules.check_model_names(client, [model_name])
    src_vr = read_version(input_dir)
    model_dct = _read_model(input_dir) if import_metadata or create_model else {}
    if not create_model and not model_utils.model_exists(client, model_name):
        raise MlflowExportImportException(
            f"Registered model '{model_name}' does not exist in {client.tracking_uri}: create it first or use "
            "--create-model", http_status_code=404)
    earlier = find_imported_version(client, model_name, src_version_key(src_vr))
    if earlier is not None:
        report.skipped("model_versions", f"{src_vr['name']}/{src_vr['version']}",
                       f"already imported as version {earlier.version} of '{model_name}'")
        _import_permissions(client, model_name, input_dir, import_permissions, principal_map, report)
        return earlier
    run_dir = os.path.join(input_dir, "run")
    dst_run, _ = import_run(run_dir, experiment_name, import_source_tags=import_source_tags,
                            mlflow_client=client, report=report)
    src_run_info = io_utils.read_file_mlflow(os.path.join(run_dir, "run.json"))["info"]
    id_map = id_map if id_map is not None else IdMap()
    import_version_logged_models(client, input_dir, [src_vr], dst_run.info.experiment_id,
                                 {src_run_info["run_id"]: dst_run.info}, {src_run_info["run_id"]: run_dir}, report,
                                 id_map)
    try:
        dst_source, dst_model_id = resolve_source(client, src_vr, dst_run.info, src_run_info.get("artifact_uri"),
                                                  id_map=id_map)
        check_version_source(client, src_vr, dst_source, dst_run.info.run_id)
    except Exception:
        client.delete_run(dst_run.info.run_id)
        raise
    created = model_utils.create_model(client, model_name, model_dct, import_metadata) if create_model else False
    try:
        dst_vr = _import_model_version(client, model_name, with_src_version_tag(src_vr), dst_run.info.run_id,
                                       dst_source, import_stages_and_aliases, import_source_tags,
                                       model_id=model_id or dst_model_id)
    except Exception:
        client.delete_run(dst_run.info.run_id)
        if created:
            model_utils.delete_model_quietly(client, model_name)
        raise
    report.copied("model_versions")
    _import_permissions(client, model_name, input_dir, import_permissions, principal_map, report)
    return client.get_model_version(model_name, dst_vr.version)


def _import_permissions(client, model_name, input_dir, import_permissions, principal_map, report):
    if import_permissions:
        import_model_permissions(client, model_name, _read_model(input_dir).get("permissions"),
                                 get_principal_map(principal_map), report)


def _import_model_version(mlflow_client, model_name, src_vr, dst_run_id, dst_source,
                          import_stages_and_aliases=True, import_source_tags=False, model_id=None):
    """Create a version of model_name from the exported version dict src_vr: description and tags, then its
    stage and aliases. A version that cannot be completed is deleted again. Returns the new ModelVersion."""
    tags = dict(src_vr.get("tags") or {})
    if import_source_tags:
        tags.update(version_source_tags(src_vr))
    kwargs = {"model_id": model_id} if model_id else {}
    _check_signature_where_the_registry_does_not(mlflow_client, model_name, src_vr, dst_source)
    try:
        dst_vr = mlflow_client.create_model_version(model_name, dst_source, dst_run_id or None, tags=tags,
                                                    description=src_vr.get("description") or None,
                                                    await_creation_for=0, **kwargs)
    except MlflowException as ex:
        refused = registry_rules.registry_kind(mlflow_client) == registry_rules.UNITY_CATALOG and \
            registry_rules.signature_error(ex, model_name, src_vr)
        if refused:
            raise refused
        raise
    try:
        _await_ready(mlflow_client, dst_vr)
        if import_stages_and_aliases:
            set_stage_and_aliases(mlflow_client, model_name, dst_vr.version, src_vr)
    except Exception:
        _delete_version_quietly(mlflow_client, model_name, dst_vr.version)
        raise
    return dst_vr


def _check_signature_where_the_registry_does_not(client, model_name, src_vr, source):
    """Unity Catalog requires a model signature. MLflow checks it before registering in a Databricks UC registry,
    but not for an open-source UC server, which then fails the version without saying why: check it here."""
    if registry_rules.holds_tags_and_aliases(client) or registry_rules.registry_kind(client) != \
            registry_rules.UNITY_CATALOG:
        return
    signature = signature_utils.get_model_signature(source, mlflow_client=client)
    if not signature or not signature.get("inputs") or not signature.get("outputs"):
        raise registry_rules.signature_error(Exception("no signature"), model_name, src_vr)


def _await_ready(client, vr, timeout=300):
    """Registries that copy the files (Databricks, Unity Catalog) make a version READY later; OSS at once (no
    call). Polled with a growing interval, up to `timeout` seconds."""
    deadline = time.time() + timeout
    polls = 0
    while vr.status == "PENDING_REGISTRATION":
        if time.time() > deadline:
            raise MlflowExportImportException(f"Version {vr.version} of '{vr.name}' still pending after {timeout} s",
                                              http_status_code=504)
        time.sleep(min(5.0, 0.25 * 2 ** polls))
        polls += 1
        vr = client.get_model_version(vr.name, vr.version)
    if vr.status == "FAILED_REGISTRATION":
        raise MlflowExportImportException(f"Version {vr.version} of '{vr.name}' failed to register: "
                                          f"{vr.status_message}", http_status_code=500)


def set_stage_and_aliases(client, model_name, version, src_vr):
    """As the destination registry allows: see common/registry_rules.py."""
    registry_rules.set_stage_and_aliases(client, model_name, version, src_vr)


def version_source_tags(src_vr):
    """`mlflow_exim.field.*` lineage tags: every exported field of the version but its tags."""
    tags = {}
    set_source_tags_for_field({k: v for k, v in src_vr.items() if k != "tags"}, tags)
    for key in ("creation_timestamp", "last_updated_timestamp"):
        fmt_timestamps(key, src_vr, tags)
    return {k: v[:5000] for k, v in tags.items() if k.startswith(ExportTags.PREFIX_FIELD)}


def with_src_version_tag(src_vr):
    """The version dict with our import marker tag, by which a re-run recognises the version."""
    return {**src_vr, "tags": {**(src_vr.get("tags") or {}), SRC_VERSION_TAG: src_version_key(src_vr)}}


def _delete_version_quietly(client, model_name, version):
    try:
        client.delete_model_version(model_name, version)
    except MlflowException as ex:
        _logger.warning(f"Could not delete the half-made version {version} of '{model_name}': {describe_error(ex)}")


def _read_model(input_dir):
    path = os.path.join(input_dir, MODEL_FILE)
    if not os.path.exists(path):
        return {}
    return io_utils.read_file_mlflow(path).get("registered_model") or {}


@click.command("import-model-version")
@click.option("--model", help="Destination registered model name.", type=str, required=True)
@opt_experiment_name
@opt_input_dir
@bool_option("--create-model", "Create the registered model if it does not exist.")
@opt_import_permissions
@opt_principal_map
@opt_import_source_tags
@bool_option("--import-stages-and-aliases", "Give the new version the source version's stage and aliases.")
@bool_option("--import-metadata", "With --create-model: give the new model the source model's description and "
             "tags.")
@opt_dry_run
@opt_report
def main(model, experiment_name, input_dir, create_model, import_permissions, principal_map, import_source_tags,
         import_stages_and_aliases, import_metadata, dry_run, report_file):
    """Import a model version exported by export-model-version (its run goes into --experiment-name)."""
    with command("import-model-version", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_model_version(mk_client(read_only=True), model, experiment_name, input_dir, create_model, report)
            return
        vr = import_model_version(model, experiment_name, input_dir, create_model, import_permissions,
                                  import_source_tags, import_stages_and_aliases, import_metadata,
                                  mlflow_client=mk_client(), report=report, principal_map=principal_map)
        click.echo(f"Imported as version {vr.version} of model '{model}'")


if __name__ == "__main__":
    main()
