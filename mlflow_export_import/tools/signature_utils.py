"""Model signatures: read one from a model's MLmodel file, infer one from example files, write one into the
MLmodel file of a model's artifacts. Unity Catalog only accepts model versions that have a signature.

A model is named by any of: `runs:/<run_id>/<path>`, an artifact URI (`mlflow-artifacts:/...`, `s3://...`,
`dbfs:/...`, a local path), `models:/<logged model id>`, or a registered version `models:/<name>/<version>`
(also `/<stage>`, `/latest`, `@<alias>`). Every call goes through an explicit MlflowClient; the MLflow
functions that only use the global tracking URI are run inside tools_utils.global_mlflow_uris.
"""
import json
import os
import re
import tempfile
import urllib.parse

import yaml
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.model_utils import quote
from mlflow_export_import.tools.tools_utils import (
    global_mlflow_uris, is_databricks_registry, is_unity_catalog_registry, registry_uri_of)

MLMODEL = "MLmodel"
SIGNATURE_FIELDS = ("inputs", "outputs", "params")

_logger = get_logger(__name__)


# ---- reading ----------------------------------------------------------------------------------------------

def get_model_signature(model_uri, use_get_model_info=False, mlflow_client=None):
    """The signature of the model at `model_uri` as a dict {"inputs": [...], "outputs": [...], "params": ...}
    (each field JSON-decoded), or None when the model has none. By default only the MLmodel file is read;
    with use_get_model_info, mlflow.models.get_model_info reads it."""
    client = use_client(mlflow_client)
    if use_get_model_info:
        return to_json_signature(_signature_from_model_info(client, model_uri))
    return to_json_signature(read_mlmodel(client, model_uri).get("signature"))


def to_json_signature(signature):
    """A signature (ModelSignature, or the `signature` dict of an MLmodel file, whose fields are JSON strings)
    as a plain dict with every field decoded; None stays None."""
    if signature is None:
        return None
    if hasattr(signature, "to_dict"):
        signature = signature.to_dict()
    dct = {field: None for field in SIGNATURE_FIELDS}
    for key, value in dict(signature).items():
        dct[key] = json.loads(value) if isinstance(value, str) else value
    return dct


def read_mlmodel(client, model_uri, location=None):
    """The MLmodel file of the model as a dict. Downloads that one file only."""
    location = location or resolve_model_uri(client, model_uri)
    with tempfile.TemporaryDirectory() as tmp:
        path = location.download_mlmodel(client, tmp)
        try:
            with open(path) as f:
                dct = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as ex:
            raise MlflowExportImportException(
                ex, f"Model '{model_uri}': the MLmodel file at {location.display} is not valid YAML: "
                f"{describe_error(ex)}", http_status_code=400)
    if not isinstance(dct, dict):
        raise MlflowExportImportException(
            f"Model '{model_uri}': the MLmodel file at {location.display} is not an MLmodel file",
            http_status_code=400)
    return dct


def _signature_from_model_info(client, model_uri):
    import mlflow.models
    # get_model_info resolves runs:/ and models:/ URIs, and a logged model's metadata, through the global URIs.
    try:
        with global_mlflow_uris(client):
            return mlflow.models.get_model_info(str(model_uri)).signature
    except (MlflowException, OSError) as ex:
        raise MlflowExportImportException(
            ex, f"Model '{model_uri}': mlflow.models.get_model_info cannot read it ({_reason(ex)})",
            http_status_code=404)


# ---- where a model's files are ------------------------------------------------------------------------------

class ModelLocation:
    """Where the files of a model are, and how to read and write its MLmodel file.

    kind: "run" (run_id, path), "logged_model" (model_id), "uri" (any artifact URI or local path) or
    "registry" (a Databricks registry's own copy of a version, read through MLflow's models:/ repository;
    read-only). `version` is the registered ModelVersion when the URI named one."""

    def __init__(self, kind, artifact_uri, run_id=None, path="", model_id=None, version=None, model_uri=None):
        self.kind = kind
        self.artifact_uri = artifact_uri
        self.run_id = run_id
        self.path = path
        self.model_id = model_id
        self.version = version
        self.model_uri = model_uri

    @property
    def display(self):
        if self.kind == "run":
            return f"runs:/{self.run_id}/{self.path}".rstrip("/")
        if self.kind == "logged_model":
            return f"models:/{self.model_id}"
        return redact_uri(self.artifact_uri)

    def _repo(self, client):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
        return get_artifact_repository(self.artifact_uri, tracking_uri=client.tracking_uri,
                                       registry_uri=registry_uri_of(client))

    def download_mlmodel(self, client, dst_dir):
        """Download the MLmodel file into dst_dir; returns its local path. One request for a file on an
        artifact server (no listing first)."""
        try:
            repo = self._repo(client)
            if self.kind == "registry":
                return repo.download_artifacts(MLMODEL, dst_dir)
            local = os.path.join(dst_dir, MLMODEL)
            try:
                repo._download_file(MLMODEL, local)
            except NotImplementedError:
                return repo.download_artifacts(MLMODEL, dst_dir)
            if not os.path.isfile(local):
                raise FileNotFoundError(local)
            return local
        except Exception as ex:
            raise MlflowExportImportException(
                ex, f"Model '{self.model_uri}': no readable MLmodel file at {self.display} ({_reason(ex)})",
                http_status_code=404)

    def upload_mlmodel(self, client, local_file):
        """Overwrite the model's MLmodel file with local_file."""
        if self.kind == "registry":
            raise MlflowExportImportException(
                f"Model '{self.model_uri}': its files are the registry's own read-only copy", http_status_code=400)
        try:
            if self.kind == "run":
                client.log_artifact(self.run_id, local_file, self.path or None)
            elif self.kind == "logged_model":
                client.log_model_artifacts(self.model_id, os.path.dirname(local_file))
            else:
                self._repo(client).log_artifact(local_file)
        except Exception as ex:
            raise MlflowExportImportException(
                ex, f"Model '{self.model_uri}': cannot write the MLmodel file at {self.display} ({_reason(ex)})",
                http_status_code=500)


def _reason(ex):
    """Why a file could not be read or written, in a few words."""
    full = f"{ex} {getattr(ex, 'src_message', '') or ''}"
    if isinstance(ex, FileNotFoundError) or re.search(r"(?<![0-9A-Za-z])404(?![0-9A-Za-z])", full) \
            or "RESOURCE_DOES_NOT_EXIST" in full or "Not Found" in full or "No such file" in full:
        return "not found"
    return describe_error(ex)


def _mlflow_message(ex):
    """MlflowException's own message, first line, without the error code prefixes it may repeat."""
    text = (ex.message if isinstance(ex, MlflowException) else str(ex)).strip().splitlines()
    text = text[0] if text else type(ex).__name__
    return re.sub(r"^(?:[A-Z_]{4,}: )+", "", text)[:300]


def resolve_model_uri(client, model_uri, for_write=False, cache=None, _depth=0):
    """The ModelLocation of `model_uri`. A registered version resolves to the registry's copy of its files
    for reading (on a tracking server that is the version's source) and to its source for writing. `cache`
    (a dict) keeps run artifact URIs and logged model locations between calls."""
    cache = cache if cache is not None else {}
    uri = str(model_uri).strip()
    scheme = urllib.parse.urlparse(uri).scheme
    if scheme == "runs":
        return _resolve_runs_uri(client, uri, model_uri, cache)
    if scheme == "models":
        parsed = _parse_models_uri(uri)
        if parsed[0] == "model_id":
            return _resolve_logged_model(client, parsed[1], model_uri, cache)
        if _depth > 5:
            raise MlflowExportImportException(f"Model '{model_uri}': too many models:/ indirections",
                                              http_status_code=400)
        version = get_registered_version(client, uri, parsed)
        if for_write:
            if is_unity_catalog_registry(client):
                raise MlflowExportImportException(
                    f"Model '{model_uri}': Unity Catalog model versions are read-only; set the signature on the "
                    "model they were copied from", http_status_code=400)
            loc = _source_location(client, version, model_uri, cache, _depth)
        elif is_databricks_registry(client):
            loc = ModelLocation("registry", f"models:/{version.name}/{version.version}", model_uri=model_uri)
        else:  # a tracking server's registry reads a version's files at its source
            loc = _source_location(client, version, model_uri, cache, _depth)
        loc.version = version
        loc.model_uri = model_uri
        return loc
    return ModelLocation("uri", uri.rstrip("/"), model_uri=model_uri)


def _source_location(client, version, model_uri, cache, depth):
    if not version.source:
        raise MlflowExportImportException(
            f"Model '{model_uri}': version {version.version} of '{version.name}' has no source",
            http_status_code=400)
    try:
        return resolve_model_uri(client, version.source, cache=cache, for_write=True, _depth=depth + 1)
    except MlflowExportImportException as ex:
        raise MlflowExportImportException(
            ex, f"Model '{model_uri}': the source '{redact_uri(version.source)}' of version {version.version} of "
            f"'{version.name}' cannot be used: {ex.message}", http_status_code=ex.http_status_code)


def _parse_models_uri(uri):
    """("model_id", id) | ("version", name, v) | ("stage", name, stage) | ("latest", name) | ("alias", name, a).
    As MLflow reads them: a single path part without '@' is a logged model id."""
    path = urllib.parse.urlparse(uri, allow_fragments=False).path.strip("/")
    parts = path.split("/")
    if not path or len(parts) > 2 or not parts[0]:
        raise MlflowExportImportException(
            f"Bad model URI '{uri}': expected models:/<model_id>, models:/<name>/<version|stage|latest> or "
            "models:/<name>@<alias>", http_status_code=400)
    if len(parts) == 2:
        name, suffix = parts
        if suffix.isdigit():
            return ("version", name, suffix)
        if suffix.lower() == "latest":
            return ("latest", name)
        return ("stage", name, suffix)
    if "@" in parts[0]:
        name, alias = parts[0].rsplit("@", 1)
        return ("alias", name, alias)
    return ("model_id", parts[0])


def get_registered_version(client, uri, parsed=None):
    """The ModelVersion a models:/<name>/... URI names; one clear error naming it when there is none."""
    parsed = parsed or _parse_models_uri(uri)
    kind, name = parsed[0], parsed[1]
    try:
        if kind == "version":
            return client.get_model_version(name, parsed[2])
        if kind == "alias":
            return client.get_model_version_by_alias(name, parsed[2])
        if kind == "stage":
            versions = client.get_latest_versions(name, stages=[parsed[2]])
        else:
            versions = list(client.search_model_versions(f"name='{quote(name)}'"))
        if versions:
            return max(versions, key=lambda v: int(v.version))
        what = f"in stage '{parsed[2]}'" if kind == "stage" else "at all"
        raise MlflowExportImportException(f"Registered model '{name}' has no version {what} ('{uri}')",
                                          http_status_code=404)
    except MlflowException as ex:
        if ex.get_http_status_code() in (400, 404) or ex.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise MlflowExportImportException(
                ex, f"Model version '{uri}' not found in {redact_uri(registry_uri_of(client))}: "
                f"{_mlflow_message(ex)}", http_status_code=404)
        raise


def _resolve_runs_uri(client, uri, model_uri, cache):
    rest = uri[len("runs:"):].lstrip("/")
    run_id, _, path = rest.partition("/")
    path = path.strip("/")
    if not run_id:
        raise MlflowExportImportException(f"Bad model URI '{model_uri}': expected runs:/<run_id>/<path>",
                                          http_status_code=400)
    key = ("run", run_id)
    if key not in cache:
        try:
            cache[key] = client.get_run(run_id).info.artifact_uri
        except MlflowException as ex:
            if ex.get_http_status_code() in (400, 404) or ex.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise MlflowExportImportException(
                    ex, f"Model '{model_uri}': run '{run_id}' not found in {redact_uri(client.tracking_uri)}",
                    http_status_code=404)
            raise
    artifact_uri = cache[key].rstrip("/") + (f"/{path}" if path else "")
    return ModelLocation("run", artifact_uri, run_id=run_id, path=path, model_uri=model_uri)


def _resolve_logged_model(client, model_id, model_uri, cache):
    key = ("logged_model", model_id)
    if key not in cache:
        try:
            cache[key] = client.get_logged_model(model_id).artifact_location
        except MlflowException as ex:
            if ex.get_http_status_code() in (400, 404) or ex.error_code == "RESOURCE_DOES_NOT_EXIST":
                raise MlflowExportImportException(
                    ex, f"Model '{model_uri}': logged model '{model_id}' not found in "
                    f"{redact_uri(client.tracking_uri)}", http_status_code=404)
            raise
    return ModelLocation("logged_model", cache[key].rstrip("/"), model_id=model_id, model_uri=model_uri)


# ---- writing ----------------------------------------------------------------------------------------------

def infer_signature_from_files(input_file, output_file=None):
    """A ModelSignature inferred (mlflow.models.infer_signature) from an input example table and, optionally,
    a table of the model's outputs for it. Files: .csv (header row), .json (records or columns), .jsonl."""
    from mlflow.models import infer_signature
    inputs = read_example_file(input_file)
    outputs = read_example_file(output_file) if output_file else None
    try:
        return infer_signature(inputs, outputs)
    except Exception as ex:
        files = f"'{input_file}'" + (f" and '{output_file}'" if output_file else "")
        raise ValueError(f"Cannot infer a signature from {files}: {describe_error(ex)}")


def read_example_file(path):
    """A pandas DataFrame from a CSV, JSON or JSON-lines file; ValueError naming the file if it cannot be read."""
    import pandas as pd
    ext = os.path.splitext(str(path))[1].lower()
    try:
        if ext == ".json":
            df = pd.read_json(path)
        elif ext in (".jsonl", ".ndjson"):
            df = pd.read_json(path, lines=True)
        else:
            df = pd.read_csv(path)
    except FileNotFoundError:
        raise ValueError(f"Example file '{path}' does not exist")
    except Exception as ex:
        raise ValueError(f"Cannot read example file '{path}': {describe_error(ex)}")
    if df.empty or len(df.columns) == 0:
        raise ValueError(f"Example file '{path}' has no rows or no columns")
    return df


def set_model_signature(client, model_uri, signature, overwrite_signature=False, cache=None):
    """Write `signature` (a ModelSignature) into the MLmodel file of the model's artifacts. For a registered
    version that is the MLmodel file of its source (run artifacts or logged model). Returns
    (location, previous signature dict or None, written: bool); nothing is written when the model already has a
    signature and overwrite_signature is False."""
    from mlflow.models import Model
    location = resolve_model_uri(client, model_uri, for_write=True, cache=cache)
    with tempfile.TemporaryDirectory() as tmp:
        local = location.download_mlmodel(client, tmp)
        try:
            model = Model.load(local)
        except Exception as ex:
            raise MlflowExportImportException(
                ex, f"Model '{model_uri}': the MLmodel file at {location.display} cannot be loaded: "
                f"{describe_error(ex)}", http_status_code=400)
        previous = to_json_signature(model.signature)
        if previous is not None and not overwrite_signature:
            return location, previous, False
        model.signature = signature
        if os.path.basename(local) != MLMODEL or len(os.listdir(os.path.dirname(local))) != 1:
            upload_dir = os.path.join(tmp, "upload")
            os.makedirs(upload_dir)
            local = os.path.join(upload_dir, MLMODEL)
        model.save(local)
        location.upload_mlmodel(client, local)
    return location, previous, True


def registry_copy_differs(client, location):
    """For a registered version: the registry's own copy of its files when that is not the source just
    written (Databricks workspace registry), else None."""
    if location.version is None or not is_databricks_registry(client):
        return None
    try:
        download_uri = client.get_model_version_download_uri(location.version.name, location.version.version)
    except MlflowException:
        return None
    return None if download_uri.rstrip("/") == location.artifact_uri.rstrip("/") else download_uri
