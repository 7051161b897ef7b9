"""Workspace model registry permission levels -> Unity Catalog privileges, and principal maps.

The table follows what Databricks documents for each side:
- "Share MLflow models" (workspace registry ACLs): CAN_READ views and downloads; CAN_EDIT also adds versions, edits
  descriptions and tags; CAN_MANAGE_STAGING_VERSIONS / CAN_MANAGE_PRODUCTION_VERSIONS also move versions between
  stages and answer transition requests; CAN_MANAGE also renames, deletes and changes permissions.
- "Upgrade ML workflows to target models in Unity Catalog": loading and serving a model (inference) needs EXECUTE;
  creating versions and setting aliases (what stages become) need ownership of the model.
- "Unity Catalog privileges reference": APPLY TAG sets tags; MANAGE grants and revokes privileges, renames and
  drops the object.
Each level gets the privileges that allow no more than the level did; what a level allows that no grantable
privilege covers is listed in NO_UC_EQUIVALENT and reported, never approximated by a broader grant (ALL PRIVILEGES
would also carry privileges added to Unity Catalog later)."""
from mlflow_export_import.common import UsageError

WS_TO_UC = {
    "CAN_READ": ("EXECUTE",),
    "CAN_EDIT": ("EXECUTE", "APPLY_TAG"),
    "CAN_MANAGE_STAGING_VERSIONS": ("EXECUTE", "APPLY_TAG"),
    "CAN_MANAGE_PRODUCTION_VERSIONS": ("EXECUTE", "APPLY_TAG"),
    "CAN_MANAGE": ("EXECUTE", "APPLY_TAG", "MANAGE"),
}

_EDIT = "adding versions and editing descriptions (only the owner can in Unity Catalog)"
_STAGES = "stage transitions and transition requests (aliases, which replace stages, are set by the owner only)"
NO_UC_EQUIVALENT = {
    "CAN_READ": "",
    "CAN_EDIT": _EDIT,
    "CAN_MANAGE_STAGING_VERSIONS": f"{_EDIT}; {_STAGES}",
    "CAN_MANAGE_PRODUCTION_VERSIONS": f"{_EDIT}; {_STAGES}",
    "CAN_MANAGE": f"{_EDIT}; {_STAGES}; ownership (the destination model is owned by the importing user)",
}


def uc_privileges(level):
    """The Unity Catalog privileges of a workspace-registry level; () for a level the table does not know."""
    return WS_TO_UC.get(level, ())


def read_principal_map(path):
    """A principal map file: one 'old,new' per line (user, group or service principal names; blank lines and
    lines starting with '#' are skipped). A bad file is a usage error: nothing is written."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as ex:
        raise UsageError(f"Cannot read principal map file '{path}': {ex.strerror}")
    mapping = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        old, sep, new = line.partition(",")
        if not sep or not old.strip() or not new.strip():
            raise UsageError(f"Principal map file '{path}' line {n}: expected 'old,new', got '{line}'")
        mapping[old.strip()] = new.strip()
    return mapping


def get_principal_map(path_or_dict):
    """None, a dict, or the path of a principal map file -> dict."""
    if not path_or_dict:
        return {}
    if isinstance(path_or_dict, dict):
        return dict(path_or_dict)
    return read_principal_map(path_or_dict)


def map_principal(name, principal_map):
    """A principal's destination name: exact match in the map (names are not prefixes), else unchanged."""
    return (principal_map or {}).get(name, name)
