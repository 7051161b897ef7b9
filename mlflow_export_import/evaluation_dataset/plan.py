"""What an import does with an exported evaluation dataset, decided before anything is written: the export read,
the records the destination dataset lacks, and the decision. import-evaluation-dataset(s), copy-datasets and
their --dry-run take it from here; this module imports no importer."""
import json
import os

from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common.capabilities import unsupported_reason
from mlflow_export_import.evaluation_dataset import export_evaluation_dataset as datasets
from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import store

RECORD_FIELDS = ("inputs", "outputs", "expectations", "tags", "source")


def read_dataset_file(path):
    dct = io_utils.read_file_mlflow(path).get("evaluation_dataset")
    if not isinstance(dct, dict) or not dct.get("name") or not isinstance(dct.get("records", []), list):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no evaluation dataset name and records",
                                          http_status_code=400)
    return dct


def dataset_tags(src):
    """The exported dataset's tags, as the destination keeps them (strings)."""
    return {k: str(v) for k, v in (src.get("tags") or {}).items()}


def missing_tags(dataset, src):
    """The exported dataset's tags that the destination dataset lacks or holds with another value."""
    return {k: v for k, v in dataset_tags(src).items() if (dataset.tags or {}).get(k) != v}


def records_to_upsert(client, dataset_id, src_records, new_dataset=False):
    """The source records the destination does not have with the same content (new_dataset: one just created,
    which has none)."""
    have = set() if new_dataset else \
        {record_key(r.to_dict()) for r in store(client)._load_dataset_records(dataset_id, max_results=None)[0]}
    todo, seen = [], set()
    for src in src_records:
        record = to_upsert_record(src)
        key = record_key(record)
        if key not in have and key not in seen:
            seen.add(key)
            todo.append(record)
    return todo


def to_upsert_record(src):
    """A record as the server's upsert takes it. Old exports call expectations 'targets' and may have no source:
    the source type is then inferred as MLflow's merge_records does (expectations: HUMAN, else CODE)."""
    record = {k: src[k] for k in RECORD_FIELDS if src.get(k) is not None}
    if "expectations" not in record and isinstance(src.get("targets"), dict):
        record["expectations"] = src["targets"]
    record.setdefault("inputs", {})
    if "source" not in record:
        source_type = "HUMAN" if record.get("expectations") else "CODE"
        record["source"] = {"source_type": src.get("source_type") or source_type, "source_data": {}}
    return record


def record_key(record):
    return json.dumps({k: record.get(k) or None for k in RECORD_FIELDS}, sort_keys=True, default=str)


def plan_datasets(client, dataset_dirs, delete_dataset, report, dataset_name=None):
    """A dataset is skipped when one of its name has its tags and every record (same content)."""
    try:
        datasets.check_datasets_supported(client)
    except datasets.DatasetsUnsupported:
        report.skipped(datasets.KIND, "all", unsupported_reason(client))
        return
    for path in dataset_dirs:
        obj_id = dataset_name or path
        try:
            src = read_dataset_file(os.path.join(path, datasets.DATASET_FILE))
            obj_id = name = dataset_name or src["name"]
            named = datasets.datasets_named(client, name)
            if named and not delete_dataset and not _dataset_changes(client, named[0], src):
                report.skipped(datasets.KIND, name, "already in the destination")
            else:
                verb = "create" if not named else "replace" if delete_dataset else "update"
                report.would(datasets.KIND, name, f"{verb} evaluation dataset '{name}'")
        except Exception as ex:
            datasets.record_failure(client, report, obj_id, ex, "import")


def _dataset_changes(client, dataset, src):
    """Whether the import would change the destination dataset: tags or records it lacks (the records are not
    read when a tag is missing already)."""
    if missing_tags(dataset, src):
        return True
    return bool(records_to_upsert(client, dataset.dataset_id, src.get("records") or []))
