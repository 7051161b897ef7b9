"""Databricks workspace permissions (the Permissions API) of experiments and workspace-registry models, in the
reference's shapes: an export holds `{"permission_levels": [...], "permissions": {"object_id", "object_type",
"access_control_list": [...]}}` as GET answers it; an import PATCHes one principal at a time.

Unlike the reference, an import takes only what the source granted on the object itself: inherited entries (from a
folder, or the `admins` group) are left out, so nothing is granted that the source did not grant directly, and a
principal that already holds the level (or a higher one) in the destination is left alone, so no level is lowered
or raised. `dbx_client` is a databricks-sdk WorkspaceClient or a client_utils/http_client DatabricksHttpClient."""
from mlflow_export_import.client.workspace_api import sdk_error, workspace_client_of

PRINCIPAL_KINDS = ("user_name", "group_name", "service_principal_name")
# Levels from lowest to highest: experiments use READ < EDIT < MANAGE, registered models all five.
LEVEL_ORDER = ("CAN_READ", "CAN_RUN", "CAN_EDIT", "CAN_MANAGE_STAGING_VERSIONS", "CAN_MANAGE_PRODUCTION_VERSIONS",
               "CAN_MANAGE")
GRANTED, HELD, UNKNOWN_PRINCIPAL, FAILED = "granted", "held", "unknown principal", "failed"


def _sdk(dbx_client):
    """The databricks-sdk client behind dbx_client."""
    return getattr(dbx_client, "workspace_client", None) or dbx_client


def _object_type(object_type):
    """'experiment' / 'registered-model' (the reference) or the plural form of the Permissions API path."""
    return object_type if object_type.endswith("s") else f"{object_type}s"


def get_permissions(dbx_client, object_type, object_id):
    w = _sdk(dbx_client)
    levels = w.permissions.get_permission_levels(_object_type(object_type), str(object_id)).as_dict()
    return {"permission_levels": levels.get("permission_levels", []),
            "permissions": w.permissions.get(_object_type(object_type), str(object_id)).as_dict()}


def get_experiment_permissions(dbx_client, experiment_id):
    return get_permissions(dbx_client, "experiments", experiment_id)


def get_model_permissions_by_id(dbx_client, model_id):
    return get_permissions(dbx_client, "registered-models", model_id)


def get_model_id(dbx_client, model_name):
    """The workspace registry's own id of a model: the Permissions API names models by it."""
    return _sdk(dbx_client).model_registry.get_model(model_name).registered_model_databricks.id


def get_model_permissions_by_name(mlflow_client, model_name):
    w = workspace_client_of(mlflow_client, registry=True)
    return get_model_permissions_by_id(w, get_model_id(w, model_name))


def acl_of(perms):
    """The access control list of an export, a GET answer, or the list itself."""
    if isinstance(perms, list):
        return perms
    perms = perms or {}
    inner = perms.get("permissions") if isinstance(perms.get("permissions"), dict) else perms
    return inner.get("access_control_list") or []


def _map_acl_element(elt):
    """The PATCH entries of one GET entry: its permissions granted on the object itself (not inherited), the
    highest one when there are several."""
    kinds = [k for k in PRINCIPAL_KINDS if elt.get(k)]
    direct = [p["permission_level"] for p in elt.get("all_permissions") or []
              if not p.get("inherited") and p.get("permission_level")]
    if not kinds or not direct:
        return []
    return [{kinds[0]: elt[kinds[0]], "permission_level": max(direct, key=_rank)}]


def map_acl(acl_get_format):
    """PATCH entries ({<user_name|group_name|service_principal_name>: name, "permission_level": p}) for what the
    GET answer grants directly, one per principal."""
    entries = {}
    for elt in acl_of(acl_get_format):
        for entry in _map_acl_element(elt):
            entries[principal_of(entry)] = entry
    return list(entries.values())


def principal_of(entry):
    """(kind, name) of an ACL entry."""
    for kind in PRINCIPAL_KINDS:
        if entry.get(kind):
            return kind, entry[kind]
    return None, None


def _rank(level):
    return LEVEL_ORDER.index(level) if level in LEVEL_ORDER else -1


def _held_levels(w, object_type, object_id):
    """{(kind, name): highest level held} in the destination, inherited levels included."""
    held = {}
    for elt in w.permissions.get(_object_type(object_type), str(object_id)).as_dict().get("access_control_list", []):
        levels = [p["permission_level"] for p in elt.get("all_permissions") or [] if p.get("permission_level")]
        if levels and principal_of(elt)[0]:
            held[principal_of(elt)] = max(levels, key=_rank)
    return held


def update_permissions(dbx_client, perms_in_get_format, object_type, object_name, object_id):
    """PATCH each directly granted entry of perms_in_get_format onto the object, one principal per request so that
    one refused principal does not stop the others. Returns [{"principal", "permission_level", "outcome",
    "reason"}] with outcome GRANTED, HELD (the destination already grants that much), UNKNOWN_PRINCIPAL or
    FAILED."""
    from databricks.sdk.service import iam
    w = _sdk(dbx_client)
    held = _held_levels(w, object_type, object_id)
    outcomes = []
    for entry in map_acl(perms_in_get_format):
        kind, name = principal_of(entry)
        level = entry["permission_level"]
        result = {"principal": name, "permission_level": level, "object": object_name, "reason": ""}
        if _rank(held.get((kind, name))) >= _rank(level):
            outcomes.append({**result, "outcome": HELD})
            continue
        try:
            request = iam.AccessControlRequest(**{kind: name}, permission_level=iam.PermissionLevel(level))
            w.permissions.update(_object_type(object_type), str(object_id), access_control_list=[request])
            outcomes.append({**result, "outcome": GRANTED})
        except Exception as ex:
            unknown = "Principal" in str(ex) and "does not exist" in str(ex)
            outcomes.append({**result, "outcome": UNKNOWN_PRINCIPAL if unknown else FAILED, "reason": sdk_error(ex)})
    return outcomes
