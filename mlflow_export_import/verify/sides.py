"""The two sides of a comparison, a tracking server or an export directory, read into one normalized shape.

Each side lists experiments, the runs of one experiment (a light `RunRef`), the full content of one run,
the artifacts of a run and the registered models. Ids stay those of the side; `verify` matches them.
"""
import hashlib
import json
import math
import os
import tempfile

from mlflow.entities import Span, ViewType
from mlflow.exceptions import MlflowException
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_export_import.bulk import bulk_utils
from mlflow_export_import.client.scope import scoped_object, side_scope
from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.iterators import (
    BaseIterator, SearchExperimentsIterator, SearchLoggedModelsIterator, SearchModelVersionsIterator,
    SearchRegisteredModelsIterator, SearchRunsIterator)
from mlflow_export_import.common.model_utils import quote
from mlflow_export_import.common.source_tags import ExportTags, ImportTags
from mlflow_export_import.common.utils import mk_tags_dict
from mlflow_export_import.engine.source_dir import exported_runs
from mlflow_export_import.experiment.plan import run_dirs_of
from mlflow_export_import.logged_model.import_logged_model import SERVER_SET_TAGS, SRC_MODEL_ID_TAG
from mlflow_export_import.model.plan import SRC_VERSION_TAG
from mlflow_export_import.trace.export_trace import SOURCE_RUN, get_full_trace
from mlflow_export_import.trace.import_trace import REQUEST_ID_ATTR, SERVER_SET_TAGS as TRACE_SERVER_SET_TAGS
from mlflow_export_import.trace.import_trace import SRC_TRACE_ID_TAG, read_trace
from mlflow_export_import.run.import_run import MLFLOW_PARENT_RUN_ID, read_run

IGNORED_TAG_PREFIX = f"{ExportTags.PREFIX_ROOT}."
DESCRIPTION_TAG = "mlflow.note.content"
RUN_INFO_FIELDS = ("run_name", "status", "start_time", "end_time", "user_id", "lifecycle_stage")
HASH_CHUNK = 1 << 20


class RunRef:
    """What matching needs of a run: its id, the lineage of an imported run, and name + start time."""

    def __init__(self, run_id, name, start_time, tags, handle):
        self.id = run_id
        self.name = name
        self.start_time = start_time
        self.lineage = tags.get(ImportTags.SRC_RUN_ID)
        self.parent_id = tags.get(MLFLOW_PARENT_RUN_ID)
        self.lineage_parent = tags.get(ImportTags.SRC_PARENT_RUN_ID)
        self.handle = handle


def compared_tags(tags):
    """Tags as compared: our lineage tags and the parent link (compared through lineage) left out."""
    return {k: v for k, v in (tags or {}).items()
            if not k.startswith(IGNORED_TAG_PREFIX) and k != MLFLOW_PARENT_RUN_ID}


def metric_point(step, timestamp, value):
    value = float(value) if value is not None else None
    return (int(step or 0), int(timestamp or 0), "nan" if value is not None and math.isnan(value) else value)


def point_order(point):
    """Sort key of a metric point tuple: a NaN (kept as "nan", which equals itself) and a number at the same
    step and timestamp cannot be compared with '<'; numbers sort before "nan" and None."""
    return tuple((0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)) for v in point)


def dataset_key(dataset, tags):
    fields = tuple(dataset.get(k) for k in ("name", "digest", "source_type", "source", "schema", "profile"))
    return fields + (tuple(sorted((t["key"], t["value"]) for t in tags or [])),)


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def logged_model_dict(model_id, name, status, model_type, params, tags, metrics, source_run_id, handle):
    """metrics: [(key, step, timestamp, value)]. `lineage`: the source model id of an imported model."""
    tags = dict(tags or {})
    return {"id": model_id, "lineage": tags.get(SRC_MODEL_ID_TAG), "name": name, "status": status,
            "model_type": model_type or "", "params": dict(params or {}),
            "tags": {k: v for k, v in compared_tags(tags).items() if k not in SERVER_SET_TAGS},
            "metrics": sorted(((k,) + metric_point(step, ts, value) for k, step, ts, value in metrics),
                              key=point_order),
            "source_run_id": source_run_id or None, "handle": handle}


TRACE_INFO_FIELDS = ("state", "request_time", "execution_duration", "request_preview", "response_preview",
                     "client_request_id")
TRACE_ID_METADATA = (SOURCE_RUN, "mlflow.modelId")  # ids: the source run is compared through lineage
TRACE_SERVER_METADATA_PREFIX = "mlflow.trace.size"


class TraceRef:
    def __init__(self, trace_id, tags, request_time, handle):
        self.id = trace_id
        self.lineage = tags.get(SRC_TRACE_ID_TAG)
        self.name = tags.get("mlflow.traceName")
        self.request_time = request_time
        self.handle = handle


def trace_dict(info, spans, assessments):
    """info: a TraceInfo-shaped dict; spans: {span id: fields} (None when the export has only span names)."""
    metadata = dict(info.get("trace_metadata") or info.get("request_metadata") or {})
    return {"info": {f: info.get(f) for f in TRACE_INFO_FIELDS},
            "tags": {k: v for k, v in compared_tags(info.get("tags")).items() if k not in TRACE_SERVER_SET_TAGS},
            "metadata": {k: v for k, v in metadata.items()
                         if k not in TRACE_ID_METADATA and not k.startswith(TRACE_SERVER_METADATA_PREFIX)},
            "source_run_id": metadata.get(SOURCE_RUN), "spans": spans, "assessments": sorted(assessments)}


def span_fields(span):
    attributes = {k: v for k, v in (span.attributes or {}).items() if k != REQUEST_ID_ATTR}
    return {"name": span.name, "parent_id": span.parent_id, "start_time_ns": span.start_time_ns,
            "end_time_ns": span.end_time_ns, "status": str(getattr(span.status, "status_code", span.status)),
            "attributes": repr(sorted(attributes.items())), "events": len(span.events or [])}


def assessment_key(name, value):
    return (str(name), repr(value))


def prompt_dict(description, tags, versions):
    """description and tags None: not known on this side (an export), not compared."""
    return {"description": None if tags is None else description or "",
            "tags": None if tags is None else _prompt_tags(tags), "versions": {str(v["version"]): v for v in versions}}


def prompt_version_dict(version, template, commit_message, tags, aliases, model_config=None, response_format=None):
    return {"version": str(version), "template": repr(template), "commit_message": commit_message or "",
            "tags": _prompt_tags(tags), "aliases": sorted(aliases or []), "model_config": repr(model_config or None),
            "response_format": repr(response_format or None)}


def _prompt_tags(tags):
    """Prompt tags as compared: without the registry's internal `_mlflow*` links."""
    return {k: v for k, v in compared_tags(tags).items() if not k.startswith("_mlflow")}


def dataset_dict(name, tags, schema, profile, experiment_names, records):
    """An evaluation dataset; records as a sorted list of comparable tuples."""
    return {"name": name, "tags": compared_tags(tags), "schema": _json_text(schema), "profile": _json_text(profile),
            "experiments": sorted(experiment_names), "records": sorted(records)}


def dataset_record(inputs, expectations, outputs, source_type, tags):
    return (_json_text(inputs), _json_text(expectations), _json_text(outputs or {}), str(source_type),
            _json_text(compared_tags(tags)))


def _json_text(value):
    """Canonical JSON text of a value that may come as a JSON string (servers) or an object (older exports)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, sort_keys=True, default=str)


def experiment_dict(exp_id, name, lifecycle_stage, tags):
    return {"id": str(exp_id), "name": name, "lifecycle_stage": lifecycle_stage, "tags": dict(tags or {})}


def model_dict(description, tags, aliases, versions):
    """aliases: {alias: version}; versions: [dict with version, current_stage, description, status, tags, run_id]."""
    return {"description": description or "", "tags": compared_tags(tags), "aliases": dict(aliases),
            "versions": {str(v["version"]): v for v in versions}}


def version_dict(version, current_stage, description, status, tags, run_id):
    return {"version": str(version), "current_stage": current_stage or "None", "description": description or "",
            "status": status, "tags": dict(tags or {}), "run_id": run_id}


def selector_items(selector):
    """'a,b' / ['a', 'b'] / 'list.txt' -> the items of a selector."""
    if isinstance(selector, str):
        if selector.strip().endswith(".txt"):
            return bulk_utils.read_list_file(selector.strip())
        return [x.strip() for x in selector.split(",") if x.strip()]
    return list(selector)


def _select_names(items, names, what):
    """Names chosen by selector items ('all', 'prefix*', names) among `names`; an unknown name is an error."""
    if items in (["all"], ["*"]):
        return list(names)
    chosen = []
    for item in items:
        if item.endswith("*"):
            chosen.extend(n for n in names if n.startswith(item[:-1]))
        elif item in names:
            chosen.append(item)
        else:
            raise MlflowExportImportException(f"{what} '{item}' not found", http_status_code=404)
    return list(dict.fromkeys(chosen))


class ServerSide:
    def __init__(self, client, include_deleted=False):
        self.client = client
        self.label = redact_uri(client.tracking_uri)
        self.view_type = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        self._run_keys = {}

    # experiments

    def select_experiments(self, selector):
        ids = bulk_utils.get_experiment_ids(self.client, selector, self.view_type == ViewType.ALL)
        return [self._experiment(self.client.get_experiment(i)) for i in ids]

    def experiment_names(self):
        return [e.name for e in SearchExperimentsIterator(self.client, view_type=self.view_type)]

    def find_experiment(self, name):
        exp = self.client.get_experiment_by_name(name)
        if exp is None or (exp.lifecycle_stage == "deleted" and self.view_type != ViewType.ALL):
            return None
        return self._experiment(exp)

    @staticmethod
    def _experiment(exp):
        return experiment_dict(exp.experiment_id, exp.name, exp.lifecycle_stage, exp.tags)

    # runs

    def runs(self, experiment):
        for run in SearchRunsIterator(self.client, experiment["id"], view_type=self.view_type):
            yield RunRef(run.info.run_id, run.info.run_name, run.info.start_time, run.data.tags, run.info.run_id)

    def run(self, ref):
        run = self.client.get_run(ref.handle)
        info = {f: getattr(run.info, f) for f in RUN_INFO_FIELDS}
        metrics = {key: sorted((metric_point(m.step, m.timestamp, m.value)
                                for m in self.client.get_metric_history(ref.handle, key)), key=point_order)
                   for key in run.data.metrics}
        datasets = sorted(dataset_key(vars_public(di.dataset), [{"key": t.key, "value": t.value} for t in di.tags])
                          for di in (run.inputs.dataset_inputs if run.inputs else []) or [])
        return {"info": info, "params": dict(run.data.params), "tags": compared_tags(run.data.tags),
                "metrics": metrics, "datasets": datasets}

    def artifacts(self, ref, path=None):
        files = {}
        for fi in self.client.list_artifacts(ref.handle, path):
            if fi.is_dir:
                files.update(self.artifacts(ref, fi.path))
            else:
                files[fi.path] = fi.file_size
        return files

    def artifact_sha256(self, ref, path):
        """Download one file to a temporary directory, hash it, and delete it."""
        with tempfile.TemporaryDirectory() as tmp:
            return sha256_file(self.client.download_artifacts(ref.handle, path, tmp))

    def logged_models(self, experiment):
        for lm in SearchLoggedModelsIterator(self.client, [experiment["id"]]):
            metrics = [(m.key, m.step, m.timestamp, m.value) for m in lm.metrics or []]
            yield logged_model_dict(lm.model_id, lm.name, getattr(lm.status, "value", str(lm.status)), lm.model_type,
                                    lm.params, lm.tags, metrics, lm.source_run_id, lm)

    def logged_model_artifacts(self, model, path=None):
        files = {}
        for fi in self.client.list_logged_model_artifacts(model["id"], path):
            if fi.is_dir:
                files.update(self.logged_model_artifacts(model, fi.path))
            else:
                files[fi.path] = fi.file_size
        return files

    def logged_model_sha256(self, model, path):
        with side_scope(self.client), tempfile.TemporaryDirectory() as tmp:
            repo = get_artifact_repository(model["handle"].artifact_location, tracking_uri=self.client.tracking_uri)
            return sha256_file(repo.download_artifacts(path, tmp))

    def traces(self, experiment):
        pages = BaseIterator(self.client.search_traces, 100, None, locations=[experiment["id"]], include_spans=False)
        for trace in pages:
            yield TraceRef(trace.info.trace_id, trace.info.tags or {}, trace.info.request_time, trace.info.trace_id)

    def trace(self, ref):
        trace = get_full_trace(self.client, ref.handle)
        info = trace.info
        info_dct = {f: getattr(info, f, None) for f in TRACE_INFO_FIELDS}
        info_dct.update(state=getattr(info.state, "value", info.state), tags=info.tags,
                        trace_metadata=info.trace_metadata)
        spans = {s.span_id: span_fields(s) for s in (trace.data.spans if trace.data else [])}
        assessments = [assessment_key(a.name, getattr(a, "value", None)) for a in info.assessments or []]
        return trace_dict(info_dct, spans, assessments)

    def run_key(self, run_id):
        """The source run id an imported run came from (its lineage tag), else its own id."""
        if run_id not in self._run_keys:
            try:
                tags = self.client.get_run(run_id).data.tags
            except MlflowException:
                tags = {}
            self._run_keys[run_id] = tags.get(ImportTags.SRC_RUN_ID) or run_id
        return self._run_keys[run_id]

    # registered models

    def model_names(self):
        return [m.name for m in SearchRegisteredModelsIterator(self.client) if not bulk_utils.is_prompt(m)]

    def prompt_names(self):
        return [p.name for p in BaseIterator(self.client.search_prompts, 1000, None)]

    def prompt(self, name):
        prompt = self.client.get_prompt(name)
        if prompt is None:
            return None
        search = lambda **kwargs: self.client.search_prompt_versions(name, **kwargs)  # noqa: E731
        versions = [self._prompt_version(name, v.version) for v in BaseIterator(search, 1000, None)]
        return prompt_dict(prompt.description, prompt.tags, versions)

    def dataset_names(self):
        return list(dict.fromkeys(d.name for d in BaseIterator(self.client.search_datasets, 50, None)))

    def dataset(self, name):
        """The evaluation dataset of that name (the first, if several share it) with all its records."""
        matches = list(BaseIterator(self.client.search_datasets, 50, f"name = '{quote(name)}'"))
        if not matches:
            return None
        ds = matches[0]
        store = scoped_object(self.client, self.client._tracking_client.store)  # not ds.records: that reads the global tracking URI
        records, _ = store._load_dataset_records(ds.dataset_id, max_results=None)
        # not ds.experiment_ids either: it too reads through the global tracking URI
        experiments = [self._experiment_name(i) for i in store.get_dataset_experiment_ids(ds.dataset_id) or []]
        return dataset_dict(ds.name, ds.tags, ds.schema, ds.profile, experiments,
                            [dataset_record(r.inputs, r.expectations, r.outputs,
                                            getattr(r.source_type, "value", r.source_type), r.tags) for r in records])

    def _experiment_name(self, experiment_id):
        try:
            return self.client.get_experiment(experiment_id).name
        except MlflowException:
            return f"?{experiment_id}"

    def _prompt_version(self, name, number):
        """One version read on its own: a version search leaves the aliases out."""
        v = self.client.get_prompt_version(name, number)
        return prompt_version_dict(v.version, v.template, v.commit_message, v.tags, v.aliases,
                                   getattr(v, "model_config", None), getattr(v, "response_format", None))

    def model(self, name):
        try:
            model = self.client.get_registered_model(name)
        except MlflowException as ex:
            if ex.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        versions = [version_dict(v.version, v.current_stage, v.description, v.status, v.tags, v.run_id)
                    for v in SearchModelVersionsIterator(self.client, filter=f"name='{quote(name)}'")]
        return model_dict(model.description, model.tags, {a: str(v) for a, v in (model.aliases or {}).items()},
                          versions)


def vars_public(entity):
    return {k.lstrip("_"): v for k, v in vars(entity).items()}


class DirSide:
    """An export directory: export-experiments / export-all / export-models, or a single export-experiment."""

    def __init__(self, path, include_deleted=False):
        if not os.path.isdir(path):
            raise MlflowExportImportException(f"Export directory '{path}' does not exist", http_status_code=404)
        self.path = path
        self.label = path
        self.include_deleted = include_deleted
        self.experiments_root = self._find_experiments_root(path)
        self.models_root = next((d for d in (os.path.join(path, "models"), path)
                                 if os.path.exists(os.path.join(d, "models.json"))), None)
        self.prompts_root = next((d for d in (os.path.join(path, "prompts"), path)
                                  if os.path.exists(os.path.join(d, "prompts_summary.json"))), None)
        self.datasets_root = next((d for d in (os.path.join(path, "evaluation_datasets"), path)
                                   if os.path.exists(os.path.join(d, "evaluation_datasets_summary.json"))), None)
        if not (self.experiments_root or self.models_root or self.prompts_root or self.datasets_root):
            raise MlflowExportImportException(
                f"'{path}' is not an export directory: no experiments.json, experiment.json, models/models.json, "
                "prompts/prompts_summary.json or evaluation_datasets/evaluation_datasets_summary.json",
                http_status_code=400)

    @staticmethod
    def _find_experiments_root(path):
        for root in (path, os.path.join(path, "experiments")):
            if os.path.exists(os.path.join(root, "experiments.json")):
                return root
        return path if os.path.exists(os.path.join(path, "experiment.json")) else None

    # experiments

    def _experiment_dirs(self):
        """{name: experiment dir} of the exported experiments."""
        if self.experiments_root is None:
            return {}
        if not os.path.exists(os.path.join(self.experiments_root, "experiments.json")):
            exp = self._read_experiment(self.experiments_root)
            return {exp["name"]: self.experiments_root}
        listed = io_utils.read_file_mlflow(os.path.join(self.experiments_root, "experiments.json"))
        return {e["name"]: os.path.join(self.experiments_root, str(e["id"])) for e in listed.get("experiments") or []}

    def _read_experiment(self, exp_dir):
        path = os.path.join(exp_dir, "experiment.json")
        dct = io_utils.read_file_mlflow(path)
        exp = dct.get("experiment")
        if not isinstance(exp, dict) or "name" not in exp:
            raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.experiment'",
                                              http_status_code=400)
        result = experiment_dict(exp.get("experiment_id"), exp["name"], exp.get("lifecycle_stage", "active"),
                                 mk_tags_dict(exp.get("tags")))
        result["dir"] = exp_dir
        result["run_ids"] = dct.get("runs")
        return result

    def _visible(self, exp):
        return self.include_deleted or exp["lifecycle_stage"] != "deleted"

    def select_experiments(self, selector):
        dirs = self._experiment_dirs()
        ids = {os.path.basename(d): name for name, d in dirs.items()}
        items = [ids.get(i, i) for i in selector_items(selector)]
        names = _select_names(items, list(dirs), "Experiment")
        return [e for e in (self._read_experiment(dirs[n]) for n in names) if self._visible(e)]

    def experiment_names(self):
        return list(self._experiment_dirs())

    def find_experiment(self, name):
        exp_dir = self._experiment_dirs().get(name)
        if exp_dir is None:
            return None
        exp = self._read_experiment(exp_dir)
        return exp if self._visible(exp) else None

    # runs

    def runs(self, experiment):
        run_dirs = run_dirs_of(experiment["dir"], experiment.get("run_ids"))
        for run_id, run_dir, dct, ex in exported_runs(run_dirs):
            if ex is not None:  # matched by its directory name; reading it again names the error
                yield RunRef(run_id, None, None, {}, run_dir)
                continue
            info = dct["info"]
            if info.get("lifecycle_stage") == "deleted" and not self.include_deleted:
                continue
            yield RunRef(info["run_id"], info.get("run_name") or dct["tags"].get("mlflow.runName"),
                         info.get("start_time"), dct["tags"], run_dir)

    def run(self, ref):
        dct = read_run(ref.handle)
        src_info = dct["info"]
        info = {f: src_info.get(f) for f in RUN_INFO_FIELDS}
        info["run_name"] = info["run_name"] or dct["tags"].get("mlflow.runName")
        metrics = {key: sorted((metric_point(p.get("step"), p.get("timestamp"), p.get("value")) for p in points),
                               key=point_order)
                   for key, points in dct["metrics"].items()}
        datasets = sorted(dataset_key(di.get("dataset") or {}, di.get("tags"))
                          for di in dct["inputs"].get("dataset_inputs") or [])
        return {"info": info, "params": dict(dct["params"]), "tags": compared_tags(dct["tags"]),
                "metrics": metrics, "datasets": datasets}

    def artifacts(self, ref):
        return _tree_sizes(os.path.join(ref.handle, "artifacts"))

    def artifact_sha256(self, ref, path):
        return sha256_file(os.path.join(ref.handle, "artifacts", path))

    def run_key(self, run_id):
        return run_id

    def traces(self, experiment):
        root = os.path.join(experiment["dir"], "traces")
        if not os.path.isdir(root):
            return
        for trace_id in sorted(os.listdir(root)):
            if os.path.exists(os.path.join(root, trace_id, "trace.json")):
                info = read_trace(os.path.join(root, trace_id))["info"]
                yield TraceRef(info.get("trace_id") or info.get("request_id"), info.get("tags") or {},
                               info.get("request_time") or info.get("timestamp_ms"), os.path.join(root, trace_id))

    def trace(self, ref):
        dct = read_trace(ref.handle)
        info = dct["info"]
        if dct.get("spans") is not None:
            spans = {s.span_id: span_fields(s) for s in (Span.from_dict(d) for d in dct["spans"])}
        else:
            spans = None  # a reference export: span names and parents only, compared as such
        assessments = [assessment_key(a.get("name") or a.get("assessment_name"),
                                      (a.get("feedback") or a.get("expectation") or {}).get("value"))
                       for a in info.get("assessments") or []]
        return trace_dict(info, spans if spans is not None else _span_summaries(dct.get("data")), assessments)

    def logged_models(self, experiment):
        root = os.path.join(experiment["dir"], "logged_models")
        if not os.path.isdir(root):
            return
        for model_id in sorted(os.listdir(root)):
            model_dir = os.path.join(root, model_id)
            if not os.path.exists(os.path.join(model_dir, "logged_model.json")):
                continue
            lm = io_utils.read_file_mlflow(os.path.join(model_dir, "logged_model.json"))
            metrics = [(m.get("key"), m.get("step"), m.get("timestamp"), m.get("value"))
                       for m in lm.get("metrics") or []]
            yield logged_model_dict(lm.get("model_id"), lm.get("name"), lm.get("status"), lm.get("model_type"),
                                    lm.get("params"), lm.get("tags"), metrics, lm.get("source_run_id"), model_dir)

    def logged_model_artifacts(self, model):
        return _tree_sizes(os.path.join(model["handle"], "artifacts"))

    def logged_model_sha256(self, model, path):
        return sha256_file(os.path.join(model["handle"], "artifacts", path))

    # registered models

    def model_names(self):
        if self.models_root is None:
            return []
        return list(io_utils.read_file_mlflow(os.path.join(self.models_root, "models.json")).get("models") or [])

    def _datasets(self):
        """{dataset name: exported dataset dict} of <evaluation_datasets>/<name>_<id>/evaluation_dataset.json."""
        found = {}
        if self.datasets_root is None:
            return found
        for entry in sorted(os.listdir(self.datasets_root)):
            path = os.path.join(self.datasets_root, entry, "evaluation_dataset.json")
            if os.path.exists(path):
                ds = io_utils.read_file_mlflow(path).get("evaluation_dataset")
                if not isinstance(ds, dict) or "name" not in ds:
                    raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.evaluation_dataset'",
                                                      http_status_code=400)
                found.setdefault(ds["name"], ds)
        return found

    def dataset_names(self):
        return list(self._datasets())

    def dataset(self, name):
        ds = self._datasets().get(name)
        if ds is None:
            return None
        names = {os.path.basename(d): n for n, d in self._experiment_dirs().items()}
        experiments = [names.get(str(i), f"?{i}") for i in ds.get("experiment_ids") or []]
        records = [dataset_record(r.get("inputs"), r.get("expectations"), r.get("outputs"),
                                  r.get("source_type") or (r.get("source") or {}).get("source_type"), r.get("tags"))
                   for r in ds.get("records") or []]
        return dataset_dict(ds["name"], ds.get("tags"), ds.get("schema"), ds.get("profile"), experiments, records)

    def _prompt_versions(self):
        """{prompt name: [exported version dicts]} of <prompts>/<name>_v<version>/prompt.json."""
        found = {}
        if self.prompts_root is None:
            return found
        for entry in sorted(os.listdir(self.prompts_root)):
            path = os.path.join(self.prompts_root, entry, "prompt.json")
            if os.path.exists(path):
                version = io_utils.read_file_mlflow(path).get("prompt")
                if not isinstance(version, dict) or "name" not in version or "version" not in version:
                    raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.prompt'",
                                                      http_status_code=400)
                found.setdefault(version["name"], []).append(version)
        return found

    def prompt_names(self):
        return list(self._prompt_versions())

    def prompt(self, name):
        exported = self._prompt_versions().get(name)
        if not exported:
            return None
        versions = [prompt_version_dict(v["version"], v.get("template"), v.get("commit_message"), v.get("tags"),
                                        v.get("aliases"), v.get("model_config"), v.get("response_format"))
                    for v in exported]
        return prompt_dict(None, None, versions)  # the export keeps no prompt-level description and tags

    def model(self, name):
        if self.models_root is None:
            return None
        path = os.path.join(self.models_root, name, "model.json")
        if not os.path.exists(path):
            return None
        model = io_utils.read_file_mlflow(path).get("registered_model")
        if not isinstance(model, dict):
            raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow.registered_model'",
                                              http_status_code=400)
        aliases = {a["alias"]: str(a["version"]) for a in model.get("aliases") or []}
        versions = [version_dict(v["version"], v.get("current_stage"), v.get("description"), v.get("status"),
                                 mk_tags_dict(v.get("tags")), v.get("run_id"))
                    for v in model.get("versions") or model.get("latest_versions") or []]
        return model_dict(model.get("description"), mk_tags_dict(model.get("tags")), aliases, versions)


def _span_summaries(data):
    return {s["span_id"]: {"name": s.get("name"), "parent_id": s.get("parent_id"), "summary_only": True}
            for s in data or []}


def _tree_sizes(root):
    """{relative path: size} of every file under root."""
    files = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            full = os.path.join(dirpath, name)
            files[os.path.relpath(full, root).replace(os.sep, "/")] = os.path.getsize(full)
    return files


def select_model_names(side, selector):
    """Model names chosen on a side by a selector ('all', 'prefix*', names, a .txt file)."""
    return _select_names(selector_items(selector), side.model_names(), "Registered model")


def select_dataset_names(side, selector):
    return _select_names(selector_items(selector), side.dataset_names(), "Evaluation dataset")


def select_prompt_names(side, selector):
    return _select_names(selector_items(selector), side.prompt_names(), "Prompt")


def version_key(version):
    """The source version an imported version came from (its lineage tag), else its own number."""
    lineage = version["tags"].get(SRC_VERSION_TAG)
    return lineage.rsplit("/", 1)[-1] if lineage else version["version"]
