"""Params, metric histories and tags written with as few LogBatch requests as the REST limits allow."""
import json

from mlflow.entities import Metric, Param, RunTag
from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH, MAX_PARAM_VAL_LENGTH, MAX_TAG_VAL_LENGTH

from mlflow_export_import.common.source_tags import ExportTags, mk_source_tags, mk_source_tags_mlflow_tag
from mlflow_export_import.common.utils import create_mlflow_tags_for_databricks_import, set_dst_user_id

MAX_METRICS_PER_BATCH = 1000
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_ENTITIES_PER_BATCH = 1000
# The server refuses a LogBatch body over 1 MB (MAX_BATCH_LOG_REQUEST_SIZE); a run of many long params and
# tags (6000 and 8000 characters each) would pass the count limits and still exceed it.
MAX_BATCH_BYTES = 900_000
_ENTITY_OVERHEAD = 40  # JSON punctuation and field names of one param or tag
_METRIC_BYTES = 130  # a metric point but its key: value, timestamp, step and field names, generously


def mk_batches(params, metrics, tags, max_bytes=MAX_BATCH_BYTES):
    """Split into LogBatch payloads: at most 1000 metrics, 100 params, 100 tags, 1000 entities and max_bytes of
    JSON each. Params come first, then metrics, then tags; a request carries several kinds where room is left."""
    queues = [list(params), list(metrics), list(tags)]
    limits = [MAX_PARAMS_TAGS_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH]
    while any(queues):
        batch, room, size = [[], [], []], MAX_ENTITIES_PER_BATCH, 0
        for i, queue in enumerate(queues):
            n = 0
            while n < min(limits[i], room, len(queue)):
                grown = size + entity_bytes(queue[n])
                if grown > max_bytes and (n or any(batch)):  # a batch always takes one entity
                    break
                size, n = grown, n + 1
            batch[i], queues[i] = queue[:n], queue[n:]
            room -= n
        yield batch


def mk_final_batches(params, metrics, tags, last_tags, fold=True):
    """mk_batches, with last_tags in a final batch: the last data batch when it has room and fold is True (one
    request fewer), else a batch of their own. Callers write last_tags to say that everything before arrived."""
    batches = list(mk_batches(params, metrics, tags))
    last_tags = list(last_tags)
    if fold and batches and _has_room(batches[-1], last_tags):
        batches[-1][2] = batches[-1][2] + last_tags
    elif last_tags:
        batches.append([[], [], last_tags])
    return batches


def _has_room(batch, extra_tags):
    params, metrics, tags = batch
    return (len(tags) + len(extra_tags) <= MAX_PARAMS_TAGS_PER_BATCH
            and len(params) + len(metrics) + len(tags) + len(extra_tags) <= MAX_ENTITIES_PER_BATCH
            and sum(entity_bytes(e) for part in batch + [extra_tags] for e in part) <= MAX_BATCH_BYTES)


def entity_bytes(entity):
    """An upper bound of the JSON size of a param, tag or metric point in a LogBatch body."""
    if isinstance(entity, Metric):
        return len(json.dumps(entity.key)) + _METRIC_BYTES
    return len(json.dumps(entity.key)) + len(json.dumps(entity.value)) + _ENTITY_OVERHEAD


def import_run_data(mlflow_client, run_dct, run_id, import_source_tags=False, src_user_id=None, use_src_user_id=None,
                    in_databricks=False, extra_tags=None, skip_tags=()):
    """Log the exported params, every metric point and the tags (plus extra_tags, minus skip_tags) to run_id.
    The reference's arguments: import_source_tags adds the `mlflow_exim.*` copies of the source's system tags and
    run info; use_src_user_id (True/False) sets `mlflow.user` to src_user_id or to the importing user (None: the
    tag is left as exported); in_databricks drops the tags a workspace sets itself."""
    params = _params(run_dct)
    metrics = _metrics(run_dct)
    tags = _tags(run_dct, import_source_tags, src_user_id, use_src_user_id, in_databricks, extra_tags, skip_tags)
    for p, m, t in mk_batches(params, metrics, tags):
        mlflow_client.log_batch(run_id, metrics=m, params=p, tags=t)


def _params(run_dct, args=None):
    return [Param(k, str(v)) for k, v in run_dct.get("params", {}).items()]


def _metrics(run_dct, args=None):
    return [Metric(key, p["value"], p["timestamp"], p.get("step", 0))
            for key, points in run_dct.get("metrics", {}).items() for p in points]


def _tags(run_dct, import_source_tags=False, src_user_id=None, use_src_user_id=None, in_databricks=False,
          extra_tags=None, skip_tags=()):
    tags = {k: v for k, v in run_dct.get("tags", {}).items() if k not in skip_tags}
    if import_source_tags:
        tags.update(mk_run_source_tags(run_dct))
    tags.update(extra_tags or {})
    if use_src_user_id is not None and not in_databricks:
        set_dst_user_id(tags, src_user_id, use_src_user_id)
    if in_databricks:
        tags = create_mlflow_tags_for_databricks_import(tags)
    return [RunTag(k, str(v)) for k, v in tags.items()]


def mk_run_source_tags(run_dct):
    """The reference's lineage ("source") tags of a run: its system tags under `mlflow_exim.mlflow_tag.` and its
    info fields under `mlflow_exim.run_info.`."""
    tags = mk_source_tags_mlflow_tag(run_dct.get("tags", {}))
    tags.update(mk_source_tags(run_dct.get("info", {}), ExportTags.PREFIX_RUN_INFO))
    return tags


def _log_data(run_dct, run_id, batch_size, get_data, log_data, args_get_data=None):
    """get_data(run_dct, args_get_data) -> entities, logged by log_data(run_id, chunk) in chunks of batch_size."""
    items = get_data(run_dct, args_get_data)
    for start in range(0, len(items), batch_size):
        log_data(run_id, items[start:start + batch_size])


def _log_params(client, run_dct, run_id, batch_size=MAX_PARAMS_TAGS_PER_BATCH):
    _log_data(run_dct, run_id, batch_size, _params, lambda rid, chunk: client.log_batch(rid, params=chunk))


def _log_metrics(client, run_dct, run_id, batch_size=MAX_METRICS_PER_BATCH):
    _log_data(run_dct, run_id, batch_size, _metrics, lambda rid, chunk: client.log_batch(rid, metrics=chunk))


def _log_tags(client, run_dct, run_id, batch_size=MAX_PARAMS_TAGS_PER_BATCH, import_source_tags=False,
              in_databricks=False, src_user_id=None, use_src_user_id=None):
    args = (import_source_tags, src_user_id, use_src_user_id, in_databricks)
    _log_data(run_dct, run_id, batch_size, lambda dct, a: _tags(dct, *a),
              lambda rid, chunk: client.log_batch(rid, tags=chunk), args)


def find_over_limit_value(run_dct):
    """What MLflow would silently truncate (a param or tag value over its length limit), a key longer than MLflow
    allows (create_run, which carries the tags, does not check it), or a metric value that is not a number; None
    when the run's data can be written as it is."""
    for kind, keys in (("param", run_dct.get("params", {})), ("tag", run_dct.get("tags", {})),
                       ("metric", run_dct.get("metrics", {}))):
        for key in keys:
            if len(str(key)) > MAX_ENTITY_KEY_LENGTH:
                return f"{kind} key '{str(key)[:40]}...' exceeds the maximum length of {MAX_ENTITY_KEY_LENGTH} " \
                       "characters"
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
