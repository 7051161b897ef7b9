"""Params, metric histories and tags written with as few LogBatch requests as the REST limits allow."""
from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000


def mk_batches(params, metrics, tags):
    """Split into LogBatch payloads: at most 1000 metrics, 100 params, 100 tags and 1000 entities each.
    Params come first, then metrics, then tags; a request carries several kinds where room is left."""
    queues = [list(params), list(metrics), list(tags)]
    limits = [MAX_PARAMS_TAGS_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH]
    while any(queues):
        batch, room = [[], [], []], MAX_ENTITIES_PER_BATCH
        for i, queue in enumerate(queues):
            n = min(limits[i], room, len(queue))
            batch[i], queues[i] = queue[:n], queue[n:]
            room -= n
        yield batch


def import_run_data(mlflow_client, run_dct, run_id, extra_tags=None, skip_tags=()):
    """Log the exported params, every metric point and the tags (plus extra_tags) to run_id."""
    params = [Param(k, str(v)) for k, v in run_dct.get("params", {}).items()]
    metrics = [Metric(key, p["value"], p["timestamp"], p.get("step", 0))
               for key, points in run_dct.get("metrics", {}).items() for p in points]
    tags = {k: v for k, v in run_dct.get("tags", {}).items() if k not in skip_tags}
    tags.update(extra_tags or {})
    tag_entities = [RunTag(k, str(v)) for k, v in tags.items()]
    for p, m, t in mk_batches(params, metrics, tag_entities):
        mlflow_client.log_batch(run_id, metrics=m, params=p, tags=t)


def find_over_limit_value(run_dct):
    """What MLflow would silently truncate (a param or tag value over its length limit), or a metric value
    that is not a number; None when the run's data can be written as it is."""
    for kind, values, limit in (("param", run_dct.get("params", {}), MAX_PARAM_VAL_LENGTH),
                                ("tag", run_dct.get("tags", {}), MAX_TAG_VAL_LENGTH)):
        for key, value in values.items():
            if len(str(value)) > limit:
                return f"{kind} '{key}' has a value of {len(str(value))} characters, more than the {limit} MLflow keeps"
    for key, points in run_dct.get("metrics", {}).items():
        for p in points:
            if isinstance(p["value"], bool) or not isinstance(p["value"], (int, float)):
                return f"metric '{key}' has a value that is not a number: {str(p['value'])[:50]!r}"
    return None
