"""What an import does with an exported evaluation dataset, decided before anything is written: the export read,
the records the destination dataset lacks, and the decision. import-evaluation-dataset(s), copy-datasets and
their --dry-run take it from here; this module imports no importer."""
import json
import os

from mlflow_export_import.bulk.export_experiments import EXPERIMENTS_FILE
from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common import id_map as id_maps
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


def sibling_experiment_names(input_dir):
    """{source experiment id: name} from <input_dir>/../experiments/experiments.json, if there is one."""
    path = os.path.join(os.path.dirname(os.path.abspath(input_dir)), "experiments", EXPERIMENTS_FILE)
    if not os.path.isfile(path):
        return {}
    try:
        experiments = io_utils.read_file_mlflow(path).get("experiments") or []
    except MlflowExportImportException:
        return {}
    return {str(e["id"]): e["name"] for e in experiments if isinstance(e, dict) and e.get("id") and e.get("name")}


def destination_experiment_ids(client, src, id_map=None, experiment_names=None, dropped=None):
    """The destination ids of the dataset's experiments: by the IdMap of this import, else by the exported
    names, else by names given for the source ids. An experiment that is not in the destination is left out;
    dropped(name or source id), when given, is told of each."""
    src_ids = [str(x) for x in src.get("experiment_ids") or []]
    names = list(src.get("experiment_names") or []) + [None] * len(src_ids)
    dst_ids = []
    for src_id, exp_name in zip(src_ids, names):
        dst_id = id_map.get(id_maps.EXPERIMENTS, src_id) if id_map is not None else None
        exp_name = exp_name or (experiment_names or {}).get(src_id)
        if dst_id is None and exp_name:
            exp = client.get_experiment_by_name(exp_name)
            dst_id = exp.experiment_id if exp is not None and exp.lifecycle_stage == "active" else None
        if dst_id is None:
            if dropped:
                dropped(exp_name or src_id)
        elif dst_id not in dst_ids:
            dst_ids.append(dst_id)
    return dst_ids


def new_links(client, dataset_id, experiment_ids):
    """The experiments the destination dataset is not linked to yet."""
    linked = set(store(client).get_dataset_experiment_ids(dataset_id))
    return [x for x in experiment_ids if x not in linked]


def plan_datasets(client, dataset_dirs, delete_dataset, report, dataset_name=None, experiment_names=None,
                  experiments_to_create=()):
    """A dataset is skipped when one of its name has its tags, its links to the destination's experiments and
    every record (same content). experiment_names: {source experiment id: name}, as the import is given them;
    experiments_to_create: the names of experiments the planned import creates first (import-all), which the
    dataset would then be linked to."""
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
            if named and not delete_dataset and \
                    not _dataset_changes(client, named[0], src, experiment_names, experiments_to_create):
                report.skipped(datasets.KIND, name, "already in the destination")
            else:
                verb = "create" if not named else "replace" if delete_dataset else "update"
                report.would(datasets.KIND, name, f"{verb} evaluation dataset '{name}'")
        except Exception as ex:
            datasets.record_failure(client, report, obj_id, ex, "import")


def _dataset_changes(client, dataset, src, experiment_names, experiments_to_create):
    """Whether the import would change the destination dataset: tags, experiment links or records it lacks
    (each read only when the ones before show no change)."""
    if missing_tags(dataset, src):
        return True
    created_later = []
    experiment_ids = destination_experiment_ids(client, src, None, experiment_names, created_later.append)
    if set(created_later) & set(experiments_to_create) or new_links(client, dataset.dataset_id, experiment_ids):
        return True
    return bool(records_to_upsert(client, dataset.dataset_id, src.get("records") or []))
