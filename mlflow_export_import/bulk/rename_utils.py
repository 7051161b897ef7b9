"""Rename files: one 'old,new' name prefix per line; the first matching prefix wins."""
from mlflow_export_import.common import MlflowExportImportException


def read_rename_file(path):
    renames = {}
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f]
    except OSError as ex:
        raise MlflowExportImportException(ex, f"Cannot read rename file '{path}': {ex.strerror}", http_status_code=400)
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        if "," not in line:
            raise MlflowExportImportException(
                f"Rename file '{path}' line {n}: expected 'old,new', got '{line}'", http_status_code=400)
        old, new = line.split(",", 1)
        renames[old.strip()] = new.strip()
    return renames


def rename(name, replacements, object_name="object"):
    if not replacements:
        return name
    for old, new in replacements.items():
        if old and name.startswith(old):
            return name.replace(old, new)
    return name


def get_renames(filename_or_dict):
    if filename_or_dict is None:
        return None
    if isinstance(filename_or_dict, str):
        return read_rename_file(filename_or_dict)
    if isinstance(filename_or_dict, dict):
        return filename_or_dict
    raise MlflowExportImportException(
        f"Renames must be a file name or a dict, not {type(filename_or_dict).__name__}", http_status_code=400)
