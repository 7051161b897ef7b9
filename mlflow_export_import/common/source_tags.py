"""Lineage tags (`mlflow_exim.*`): where an imported object came from.

Two families:
- the reference's optional "source tags" (`--import-source-tags`): copies of the source object's
  fields and system tags;
- our own always-on import markers, which let a re-run find what an earlier run already imported.
"""
from mlflow_export_import.common.timestamp_utils import fmt_ts_millis


class ExportFields:
    SYSTEM = "system"
    INFO = "info"
    MLFLOW = "mlflow"
    SPANS = "spans"


class ExportTags:
    PREFIX_ROOT = "mlflow_exim"
    PREFIX_FIELD = f"{PREFIX_ROOT}.field"
    PREFIX_RUN_INFO = f"{PREFIX_ROOT}.run_info"
    PREFIX_MLFLOW_TAG = f"{PREFIX_ROOT}.mlflow_tag"


class ImportTags:
    """Always written on imported runs: the source run id and whether the import finished."""
    PREFIX = f"{ExportTags.PREFIX_ROOT}.import."
    SRC_RUN_ID = f"{ExportTags.PREFIX_ROOT}.import.src_run_id"
    SRC_PARENT_RUN_ID = f"{ExportTags.PREFIX_ROOT}.import.src_parent_run_id"
    STATE = f"{ExportTags.PREFIX_ROOT}.import.state"
    STATE_STARTED = "started"
    STATE_DONE = "done"


def fmt_timestamps(tag, dct, tags):
    ts = dct.get(tag)
    if ts is not None:
        tags[f"{ExportTags.PREFIX_FIELD}.{tag}"] = str(ts)
        tags[f"{ExportTags.PREFIX_FIELD}._{tag}"] = fmt_ts_millis(int(ts))


def set_source_tags_for_field(dct, tags):
    for k, v in dct.items():
        if k != "tags":
            tags[f"{ExportTags.PREFIX_FIELD}.{k}"] = str(v)


def mk_source_tags_mlflow_tag(tags):
    prefix = "mlflow."
    return {f"{ExportTags.PREFIX_MLFLOW_TAG}.{k[len(prefix):]}": str(v)
            for k, v in tags.items() if k.startswith(prefix)}


def mk_source_tags(tags, dst_prefix):
    return {f"{dst_prefix}.{k}": str(v) for k, v in tags.items()}
