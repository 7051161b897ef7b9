"""An MLflow 3 LoggedModel entity as the JSON of logged_model.json."""
from mlflow_export_import.common.timestamp_utils import adjust_timestamps
from mlflow_export_import.common.utils import strip_underscores


def logged_model_to_json(logged_model):
    dct = strip_underscores(logged_model)
    dct["status"] = getattr(logged_model.status, "value", str(logged_model.status))
    dct["tags"] = dict(sorted((logged_model.tags or {}).items()))
    dct["params"] = dict(logged_model.params or {})
    dct["metrics"] = [strip_underscores(m) for m in (logged_model.metrics or [])]
    adjust_timestamps(dct, ["creation_time", "last_updated_timestamp"])
    return dct
