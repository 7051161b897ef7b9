"""Permissions of experiments and registered models from one side to the other, each outcome in the report.

Experiments: the workspace Permissions API on both sides. Models: the Permissions API of the workspace registry,
Unity Catalog grants of a Unity Catalog model, and workspace levels mapped to grants by permissions/mapping.py when
a workspace-registry model goes to Unity Catalog. Only what the source granted on the object itself is imported,
under the principal's mapped name; a principal the destination does not know is reported and skipped. Permission
problems never stop the import of the object they belong to."""
from mlflow_export_import.client.workspace_api import sdk_error, workspace_client_of
from mlflow_export_import.common import registry_rules, uc_permissions_utils, ws_permissions_utils
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.ws_permissions_utils import FAILED, GRANTED, HELD, UNKNOWN_PRINCIPAL
from mlflow_export_import.permissions import mapping

KIND = "permissions"


def _note_once(report, text):
    if text not in report.notes:
        report.note(text)


def _not_databricks(report, client, option, what):
    _note_once(report, f"{option}: {redact_uri(client.tracking_uri)} is not a Databricks workspace: {what} there "
                       "have no Databricks permissions")


# ------------------------------------------------------------------ export
def export_experiment_permissions(client, experiment_id, experiment_name, report):
    """The experiment's permissions in the reference's shape, or None (not Databricks, or unreadable: reported)."""
    workspace = workspace_client_of(client)
    if workspace is None:
        _not_databricks(report, client, "--export-permissions", "experiments")
        return None
    try:
        return ws_permissions_utils.get_experiment_permissions(workspace, experiment_id)
    except Exception as ex:
        report.failed(KIND, f"experiment '{experiment_name}'", f"cannot read its permissions: {sdk_error(ex)}")
        return None


def export_model_permissions(client, model_name, report):
    """Workspace-registry permissions or Unity Catalog grants of the model, or None."""
    kind = registry_rules.registry_kind(client)
    try:
        if kind == registry_rules.WORKSPACE:
            return ws_permissions_utils.get_model_permissions_by_name(client, model_name)
        if kind == registry_rules.UNITY_CATALOG and workspace_client_of(client, registry=True) is not None:
            return uc_permissions_utils.get_permissions(client, model_name)
    except Exception as ex:
        report.failed(KIND, f"model '{model_name}'", f"cannot read its permissions: {sdk_error(ex)}")
        return None
    _not_databricks(report, client, "--export-permissions", "registered models")
    return None


# ------------------------------------------------------------------ import
def import_experiment_permissions(client, experiment_id, experiment_name, perms, principal_map, report):
    if not perms:
        return
    workspace = workspace_client_of(client)
    if workspace is None:
        _not_databricks(report, client, "--import-permissions", "experiments")
        return
    what = f"experiment '{experiment_name}'"
    try:
        outcomes = ws_permissions_utils.update_permissions(workspace, renamed_acl(perms, principal_map),
                                                           "experiments", experiment_name, experiment_id)
    except Exception as ex:
        report.failed(KIND, what, sdk_error(ex))
        return
    report_outcomes(report, outcomes, what)


def import_model_permissions(client, model_name, perms, principal_map, report):
    """Workspace-registry permissions or Unity Catalog grants onto the destination model, as its registry has
    them."""
    if not perms:
        return
    what = f"model '{model_name}'"
    kind = registry_rules.registry_kind(client)
    try:
        if kind == registry_rules.WORKSPACE:
            outcomes = _to_workspace_model(client, model_name, perms, principal_map, report)
        elif kind == registry_rules.UNITY_CATALOG and workspace_client_of(client, registry=True) is not None:
            outcomes = _to_uc_model(client, model_name, perms, principal_map, report)
        else:
            _not_databricks(report, client, "--import-permissions", "registered models")
            return
    except Exception as ex:
        report.failed(KIND, what, sdk_error(ex))
        return
    report_outcomes(report, outcomes, what)


def is_uc_format(perms):
    return isinstance(perms, dict) and ("effective_permissions" in perms or "privilege_assignments" in (
        perms.get("permissions") or {}))


def _to_workspace_model(client, model_name, perms, principal_map, report):
    if is_uc_format(perms):
        _note_once(report, "permissions: Unity Catalog grants are not turned into workspace-registry "
                           f"permissions (Databricks documents no such mapping): none set on model '{model_name}'")
        return []
    workspace = workspace_client_of(client, registry=True)
    model_id = ws_permissions_utils.get_model_id(workspace, model_name)
    return ws_permissions_utils.update_permissions(workspace, renamed_acl(perms, principal_map), "registered-models",
                                                   model_name, model_id)


def _to_uc_model(client, model_name, perms, principal_map, report):
    if is_uc_format(perms):
        grants = [(mapping.map_principal(p, principal_map), privileges)
                  for p, privileges in uc_permissions_utils.direct_assignments(perms)]
    else:
        grants = _mapped_levels(model_name, perms, principal_map, report)
    uc_perms = {"permissions": {"privilege_assignments": [{"principal": p, "privileges": list(privileges)}
                                                          for p, privileges in grants if privileges]}}
    return uc_permissions_utils.update_permissions(client, model_name, uc_perms)


def _mapped_levels(model_name, perms, principal_map, report):
    """[(principal, privileges)] of a workspace-registry ACL by the WS_TO_UC table; what has no equivalent noted."""
    grants = []
    for entry in ws_permissions_utils.map_acl(perms):
        _, name = ws_permissions_utils.principal_of(entry)
        level = entry["permission_level"]
        privileges = mapping.uc_privileges(level)
        if not privileges:
            report.skipped(KIND, f"model '{model_name}' {name}", f"no Unity Catalog equivalent of {level}")
            continue
        if mapping.NO_UC_EQUIVALENT.get(level):
            _note_once(report, f"permissions: {level} becomes {', '.join(privileges)} in Unity Catalog; "
                               f"not carried over: {mapping.NO_UC_EQUIVALENT[level]}")
        grants.append((mapping.map_principal(name, principal_map), privileges))
    return grants


def renamed_acl(perms, principal_map):
    """The access control list of perms with every principal under its mapped name."""
    acl = []
    for elt in ws_permissions_utils.acl_of(perms):
        kind, name = ws_permissions_utils.principal_of(elt)
        acl.append({**elt, kind: mapping.map_principal(name, principal_map)} if kind else elt)
    return {"permissions": {"access_control_list": acl}}


def report_outcomes(report, outcomes, what):
    for o in outcomes:
        obj = f"{what} {o['principal']}"
        if o["outcome"] == GRANTED:
            report.copied(KIND)
        elif o["outcome"] == HELD:
            report.skipped(KIND, obj, "already granted in the destination")
        elif o["outcome"] == UNKNOWN_PRINCIPAL:
            report.skipped(KIND, obj, f"principal '{o['principal']}' does not exist in the destination ({o['reason']})")
        elif o["outcome"] == FAILED:
            report.failed(KIND, obj, o["reason"])
