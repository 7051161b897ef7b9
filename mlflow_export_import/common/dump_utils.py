"""Print MLflow objects and clients for a look in a notebook (reference API). Nothing secret is printed: URIs
lose their user:password part and host credentials show only whether a token or password is set."""
import json

from mlflow_export_import.common.io_utils import redact_uri


def obj_to_dict(obj):
    """The public attributes of an object, recursively; enums by value, other objects by their str."""
    if isinstance(obj, dict):
        return {k: obj_to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [obj_to_dict(v) for v in obj]
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "value") and type(obj).__module__ == "enum":
        return obj.value
    if hasattr(obj, "__dict__"):
        return {k.lstrip("_"): obj_to_dict(v) for k, v in vars(obj).items()}
    return str(obj)


def dict_to_json(dct, sort_keys=None, indent=2):
    return json.dumps(dct, sort_keys=bool(sort_keys), indent=indent, default=str)


def dump_as_json(dct, title=None, sort_keys=None, indent=2):
    if title:
        print(f"{title}:")
    print(dict_to_json(dct, sort_keys, indent))


def dump_obj_as_json(obj, title=None):
    dump_as_json(obj_to_dict(obj), title or type(obj).__name__)


def dump_dict(dct, title=None):
    if title:
        print(f"{title}:")
    for k, v in dct.items():
        print(f"  {k}: {v}")


def dump_obj(obj, title=None):
    dump_dict(obj_to_dict(obj) if not isinstance(obj, dict) else obj, title or type(obj).__name__)


def dump_mlflow_client(client, msg=""):
    """The client's tracking and registry URIs and how it authenticates (never the secret itself)."""
    print(f"MlflowClient {msg}:".replace(" :", ":"))
    print(f"  tracking_uri: {redact_uri(client.tracking_uri)}")
    print(f"  registry_uri: {redact_uri(getattr(client, '_registry_uri', None))}")
    creds = _host_creds(client)
    if creds is not None:
        print(f"  host: {redact_uri(creds.host)}")
        print(f"  username: {creds.username or ''}")
        print(f"  password set: {bool(creds.password)}")
        print(f"  token set: {bool(creds.token)}")


def _host_creds(client):
    try:
        return client._tracking_client.store.get_host_creds()
    except Exception:  # a local store (sqlite:, file:) has no host
        return None
