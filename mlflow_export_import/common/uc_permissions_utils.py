"""Unity Catalog grants of registered models (securable type FUNCTION), in the reference's shapes: an export holds
`{"permissions": <GET permissions answer>, "effective_permissions": <GET effective-permissions answer>}`, each
`{"privilege_assignments": [{"principal", "privileges": [...]}]}`; an import PATCHes
`{"changes": [{"principal", "add": [...]}]}`, one principal per request by default.

Unlike the reference, an import adds only the privileges granted on the model itself: privileges the source model
inherited from its catalog or schema are left out (they belong to the destination's catalog and schema), and
privileges a principal already holds are not sent again."""
from mlflow_export_import.client.workspace_api import sdk_error, workspace_client_of
from mlflow_export_import.common.ws_permissions_utils import FAILED, GRANTED, HELD, UNKNOWN_PRINCIPAL

SECURABLE_TYPE = "function"  # a Unity Catalog model is granted as a function


class UcPermissionsClient:
    """Grants of the models of the Unity Catalog registry behind mlflow_client (its databricks-uc:// URI)."""

    def __init__(self, mlflow_client):
        self.workspace = workspace_client_of(mlflow_client, registry=True)

    def get_permissions(self, model_name):
        return self.workspace.grants.get(SECURABLE_TYPE, model_name).as_dict()

    def get_effective_permissions(self, model_name):
        return self.workspace.grants.get_effective(SECURABLE_TYPE, model_name).as_dict()

    def update_permissions(self, model_name, changes):
        from databricks.sdk.service import catalog
        requests = [catalog.PermissionsChange(principal=c["principal"],
                                              add=[catalog.Privilege(p) for p in c.get("add") or []],
                                              remove=[catalog.Privilege(p) for p in c.get("remove") or []] or None)
                    for c in changes["changes"]]
        return self.workspace.grants.update(SECURABLE_TYPE, model_name, changes=requests).as_dict()


def get_permissions(mlflow_client, model_name):
    """{"permissions", "effective_permissions"} of a Unity Catalog model, or {} when the registry is not one."""
    client = UcPermissionsClient(mlflow_client)
    if client.workspace is None:
        return {}
    return {"permissions": client.get_permissions(model_name),
            "effective_permissions": client.get_effective_permissions(model_name)}


def direct_assignments(perms):
    """[(principal, [privilege])] granted on the model itself: the `permissions` answer, or the effective
    permissions without inherited ones (an export that holds only those)."""
    perms = perms or {}
    if isinstance(perms.get("permissions"), dict):
        return [(a["principal"], list(a.get("privileges") or []))
                for a in perms["permissions"].get("privilege_assignments") or []]
    assignments = []
    for a in (perms.get("effective_permissions") or {}).get("privilege_assignments") or []:
        privileges = [p["privilege"] for p in a.get("privileges") or []
                      if not p.get("inherited_from_type") and not p.get("inherited_from_name")]
        assignments.append((a["principal"], privileges))
    return assignments


def _mk_update_changes(perms):
    """{"changes": [{"principal", "add": [...]}]} for the privileges granted on the model itself, each once."""
    changes = {}
    for principal, privileges in direct_assignments(perms):
        add = changes.setdefault(principal, [])
        add.extend(p for p in privileges if p not in add)
    return {"changes": [{"principal": p, "add": add} for p, add in changes.items() if add]}


def _mk_unrolled_changes(changes):
    """One request per principal, so that one refused principal does not stop the others."""
    return [{"changes": [change]} for change in changes["changes"]]


def _held(client, model_name):
    return {a["principal"]: set(a.get("privileges") or [])
            for a in client.get_permissions(model_name).get("privilege_assignments") or []}


def update_permissions(mlflow_client, model_name, perms, unroll_changes=True):
    """Add the directly granted privileges of perms to the model. Returns [{"principal", "privileges", "outcome",
    "reason"}] with outcome GRANTED, HELD (nothing to add), UNKNOWN_PRINCIPAL or FAILED."""
    client = UcPermissionsClient(mlflow_client)
    held = _held(client, model_name)
    changes = {"changes": []}
    outcomes = []
    for change in _mk_update_changes(perms)["changes"]:
        have = held.get(change["principal"], set())
        add = [p for p in change["add"] if p not in have and "ALL_PRIVILEGES" not in have]
        if add:
            changes["changes"].append({"principal": change["principal"], "add": add})
        else:
            outcomes.append(_outcome(change, model_name, HELD))
    for request in (_mk_unrolled_changes(changes) if unroll_changes else [changes]):
        outcomes.extend(_apply(client, model_name, request))
    return outcomes


def _apply(client, model_name, request):
    try:
        client.update_permissions(model_name, request)
        return [_outcome(c, model_name, GRANTED) for c in request["changes"]]
    except Exception as ex:
        outcome = UNKNOWN_PRINCIPAL if getattr(ex, "error_code", "") == "PRINCIPAL_DOES_NOT_EXIST" else FAILED
        return [_outcome(c, model_name, outcome, sdk_error(ex)) for c in request["changes"]]


def _outcome(change, model_name, outcome, reason=""):
    return {"principal": change["principal"], "privileges": change["add"], "object": model_name,
            "outcome": outcome, "reason": reason}
