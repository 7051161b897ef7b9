import getpass
import os


def string_to_list(s):
    """'a,b' -> ['a', 'b']; None or '' -> []; a list is returned as it is."""
    if s is None:
        return []
    if isinstance(s, (list, tuple)):
        return list(s)
    return [x.strip() for x in s.split(",") if x.strip()]


def mk_tags_dict(tags_array):
    return mk_key_value_array_dict(tags_array, "key", "value")


def mk_key_value_array_dict(kv_array, key_name, value_name):
    if kv_array is None:
        return {}
    if isinstance(kv_array, dict):
        return dict(kv_array)
    return {x[key_name]: x[value_name] for x in kv_array}


def strip_underscores(obj):
    """The public attributes of an MLflow entity as a dict ('_run_id' -> 'run_id')."""
    return {k.lstrip("_"): v for k, v in vars(obj).items()}


def get_user():
    try:
        return getpass.getuser()
    except Exception:
        return os.environ.get("USER", "unknown")


# ---- reference API (common/utils.py of the reference tool), over the helpers above

MLFLOW_USER = "mlflow.user"
MLFLOW_PARENT_RUN_ID = "mlflow.parentRunId"
# Tags a Databricks workspace sets itself (the user comes from the token) or that name source-side objects.
DATABRICKS_SKIP_TAGS = ("mlflow.user", "mlflow.log-model.history", "mlflow.rootRunId",
                        "mlflow.experiment.sourceType", "mlflow.experiment.sourceId")


def getLogger(name):
    from mlflow_export_import.common.logging_utils import get_logger
    return get_logger(name)


def calling_databricks(dbx_client=None):
    """Whether the calls go to Databricks: decided from the client given (an MlflowClient, or a REST client of
    client/rest_client.py), else from MLflow's default tracking URI. Nothing is cached: a copy between a
    workspace and an open-source server asks per side."""
    import mlflow
    from mlflow_export_import.client import uris
    if dbx_client is not None and getattr(dbx_client, "tracking_uri", None) is None:
        return bool(getattr(dbx_client, "is_databricks", False))
    uri = dbx_client.tracking_uri if dbx_client is not None else mlflow.get_tracking_uri()
    try:
        return uris.parse(str(uri)).is_databricks
    except Exception:  # a URI we cannot parse is no workspace
        return False


def create_mlflow_tags_for_databricks_import(tags):
    """The tags without those a Databricks workspace refuses or sets itself; same shape as given (a dict, or a
    list of RunTag / {key, value})."""
    if isinstance(tags, dict):
        return {k: v for k, v in tags.items() if k not in DATABRICKS_SKIP_TAGS}
    return [t for t in tags if _tag_key(t) not in DATABRICKS_SKIP_TAGS]


def _tag_key(tag):
    return tag["key"] if isinstance(tag, dict) else tag.key


def set_dst_user_id(tags, user_id, use_src_user_id):
    """Set the `mlflow.user` tag to the source user (use_src_user_id) or to the importing user. tags: a dict or
    a list of RunTag (a tag is appended). Returns tags."""
    from mlflow.entities import RunTag
    user = user_id if use_src_user_id and user_id else get_user_id()
    if isinstance(tags, dict):
        tags[MLFLOW_USER] = user
        return tags
    tags[:] = [t for t in tags if _tag_key(t) != MLFLOW_USER]
    tags.append(RunTag(MLFLOW_USER, user))
    return tags


def get_obj_key_values(obj, keys):
    """{key: value} of the named public attributes of an MLflow entity."""
    attrs = strip_underscores(obj)
    return {k: attrs.get(k) for k in keys}


def get_user_id():
    """The user MLflow stamps on runs it creates here."""
    try:
        from mlflow.tracking.context.default_context import _get_user
        return _get_user() or get_user()
    except ImportError:
        return get_user()


def nested_tags(dst_client, run_ids_mapping):
    """Point each imported child run at its imported parent. run_ids_mapping: {src_run_id: {"dst_run_id",
    "src_parent_run_id"}}. A child whose parent is not in the mapping keeps its source parent id in the
    lineage tag and is left unlinked (the reference raises KeyError there). Returns the number linked."""
    from mlflow_export_import.common.logging_utils import get_logger
    linked = 0
    for src_run_id, ids in run_ids_mapping.items():
        src_parent = ids.get("src_parent_run_id")
        if not src_parent:
            continue
        parent = run_ids_mapping.get(src_parent)
        if parent is None:
            get_logger(__name__).warning(f"Run '{src_run_id}': its parent '{src_parent}' was not imported")
            continue
        dst_client.set_tag(ids["dst_run_id"], MLFLOW_PARENT_RUN_ID, parent["dst_run_id"])
        linked += 1
    return linked


def show_table(title, lst, columns):
    import pandas as pd
    print(title)
    print(pd.DataFrame(lst, columns=columns).to_string(index=False))


def get_threads(use_threads=False):
    """Pool size: one worker unless use_threads (the reference's precedence bug gave cpu_count() always)."""
    return (os.cpu_count() or 4) if use_threads else 1
