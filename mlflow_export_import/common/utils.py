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
