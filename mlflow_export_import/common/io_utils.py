"""Export files: the JSON envelope (system / info / mlflow), atomic writes and readable read errors."""
import json
import os
import platform
import re
import tempfile

import mlflow
import yaml

from mlflow_export_import.common import MlflowExportImportException
from mlflow_export_import.common import pkg_version, timestamp_utils
from mlflow_export_import.common.utils import get_user

export_file_version = "2"


def redact_uri(uri):
    """A URI without any user:password@ part or token query value, safe to write into files and logs."""
    if uri is None:
        return None
    uri = re.sub(r"(://)[^/@\s]+@", r"\1", str(uri))
    return re.sub(r"(?i)((?:token|password|secret|key)=)[^&\s]+", r"\1***", uri)


def mk_system_block(script, tracking_uri=None):
    now = timestamp_utils.now_seconds()
    block = {
        "package_version": pkg_version.get_version(),
        "script": os.path.basename(script),
        "export_file_version": export_file_version,
        "export_time": now,
        "_export_time": timestamp_utils.fmt_ts_seconds(now),
        "mlflow_version": mlflow.__version__,
        "mlflow_tracking_uri": redact_uri(tracking_uri),
        "platform": {
            "python_version": platform.python_version(),
            "system": platform.system(),
            "processor": platform.processor(),
        },
        "user": get_user(),
    }
    if "DATABRICKS_RUNTIME_VERSION" in os.environ:
        block["databricks"] = {"DATABRICKS_RUNTIME_VERSION": os.environ["DATABRICKS_RUNTIME_VERSION"]}
    return block


def write_export_file(dir, file, script, mlflow_attr, info_attr=None, tracking_uri=None):
    content = {"system": mk_system_block(script, tracking_uri)}
    if info_attr:
        content["info"] = info_attr
    content["mlflow"] = mlflow_attr
    write_file(os.path.join(dir, file), content)


def write_file(path, content, file_type=None):
    """Write atomically: a reader (or a resumed run) never sees a half-written file."""
    file_type = file_type or _file_type(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            if file_type == "json":
                f.write((json.dumps(content, indent=2, default=str) + "\n").encode("utf-8"))
            elif file_type == "yaml":
                f.write(yaml.safe_dump(content).encode("utf-8"))
            else:
                f.write(content if isinstance(content, bytes) else str(content).encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def read_file(path, file_type=None):
    file_type = file_type or _file_type(path)
    if not os.path.exists(path):
        raise MlflowExportImportException(f"Missing export file '{path}'", http_status_code=404)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        if file_type == "json":
            return json.loads(raw.decode("utf-8"))
        if file_type == "yaml":
            return yaml.safe_load(raw)
        return raw
    except (ValueError, yaml.YAMLError) as ex:
        raise MlflowExportImportException(ex, f"Corrupt export file '{path}': {ex}", http_status_code=400)


def get_info(dct):
    return dct.get("info", {})


def get_mlflow(dct):
    return dct["mlflow"]


def read_file_mlflow(path):
    """The 'mlflow' payload of an export file; a file without one is reported as corrupt."""
    dct = read_file(path)
    if not isinstance(dct, dict) or not isinstance(dct.get("mlflow"), dict):
        raise MlflowExportImportException(f"Corrupt export file '{path}': no 'mlflow' object", http_status_code=400)
    return dct["mlflow"]


def mk_manifest_json_path(input_dir, filename):
    return os.path.join(input_dir, filename)


def read_spans_data_file(path):
    """The spans of a trace-data file (`artifacts/traces.json` of an exported trace: {"spans": [...]})."""
    dct = read_file(path)
    if not isinstance(dct, dict) or not isinstance(dct.get("spans"), list):
        raise MlflowExportImportException(f"Corrupt trace data file '{path}': no 'spans' list", http_status_code=400)
    return dct["spans"]


def _file_type(path):
    ext = os.path.splitext(path)[1].lower()
    return {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(ext, "bytes")


def subdirs(input_dir):
    if not os.path.isdir(input_dir):
        raise MlflowExportImportException(f"Input directory '{input_dir}' does not exist", http_status_code=404)
    return [os.path.join(input_dir, d) for d in sorted(os.listdir(input_dir))
            if os.path.isdir(os.path.join(input_dir, d))]
