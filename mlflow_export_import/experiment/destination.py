"""The destination experiment of an import or a copy: created, or found and brought level with the source's tags
(restored when an import of a deleted experiment stopped half-way). Shared by import-experiment, the Spark import
and the copy engine, none of which the others import."""
from mlflow.exceptions import MlflowException

from mlflow_export_import.common import mlflow_utils
from mlflow_export_import.common.source_tags import (
    ExportTags, fmt_timestamps, mk_source_tags_mlflow_tag, set_source_tags_for_field)
from mlflow_export_import.experiment.plan import check_experiment_importable


def create_or_update_experiment(client, name, src_exp, import_source_tags, dst_experiments=None):
    """Returns (experiment id, whether it was created). src_exp: the experiment as exported (a dict);
    dst_experiments: {name: Experiment} of a listing of the destination made by the caller (None: look it up)."""
    tags = dict(src_exp.get("tags") or {})
    if import_source_tags:
        tags.update(mk_source_tags_mlflow_tag(tags))
        fields = {k: v for k, v in src_exp.items() if k not in ("creation_time", "last_update_time")}
        set_source_tags_for_field(fields, tags)
        for key in ("creation_time", "last_update_time"):
            fmt_timestamps(key, src_exp, tags)
        tags = {k: v for k, v in tags.items() if not k.startswith(f"{ExportTags.PREFIX_FIELD}.tags")}
    exp = check_experiment_importable(client, name, src_exp, dst_experiments)
    if exp is None:
        try:
            return mlflow_utils.create_experiment(client, name, tags), True
        except MlflowException as ex:
            if ex.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
            exp = check_experiment_importable(client, name, src_exp)  # created since it was looked up
    if exp.lifecycle_stage == "deleted":
        client.restore_experiment(exp.experiment_id)  # resuming the import of a deleted experiment
    for key, value in tags.items():
        if exp.tags.get(key) != value:
            client.set_experiment_tag(exp.experiment_id, key, value)
    return exp.experiment_id, False
