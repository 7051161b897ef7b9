"""The Databricks notebook revision a run came from: exported beside the run, imported into a destination folder.

Export (--notebook-formats): a run whose tags name a workspace notebook (`mlflow.databricks.notebookPath`) and
its revision (`mlflow.databricks.notebookRevisionID`) gets `artifacts/notebooks/<name>.<format>` for each format
and `artifacts/notebooks/manifest.json`, the reference's layout; the files travel with the run's artifacts.
Import (--dst-notebook-dir): the SOURCE file is imported into the destination folder as `<name>_<revision>` (one
notebook per revision, so every run links to the code that made it) and the run's notebook tags point at it.
A notebook that is gone, too large for the export API or unreadable is reported on its run; the run is still
copied."""
import base64
import os
import posixpath

from mlflow_export_import.client.workspace_api import sdk_error, workspace_client_of
from mlflow_export_import.common import UsageError, io_utils
from mlflow_export_import.common.io_utils import redact_uri
from mlflow_export_import.common.source_tags import ExportTags
from mlflow_export_import.common.utils import string_to_list

NOTEBOOK_PATH_TAG = "mlflow.databricks.notebookPath"
REVISION_TAG = "mlflow.databricks.notebookRevisionID"
NOTEBOOK_ID_TAG = "mlflow.databricks.notebookID"
SOURCE_NAME_TAG = "mlflow.source.name"
WORKSPACE_URL_TAG = "mlflow.databricks.workspaceURL"
WORKSPACE_ID_TAG = "mlflow.databricks.workspaceID"
SRC_NOTEBOOK_PATH_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_notebook_path"
SRC_REVISION_TAG = f"{ExportTags.PREFIX_ROOT}.import.src_notebook_revision_id"
FORMATS = ("SOURCE", "HTML", "JUPYTER", "DBC")
NOTEBOOKS_DIR = "notebooks"
MANIFEST_FILE = "manifest.json"
KIND = "notebooks"
# The documented limit of the workspace export API (error MAX_NOTEBOOK_SIZE_EXCEEDED).
TOO_LARGE = "MAX_NOTEBOOK_SIZE_EXCEEDED"


def check_formats(notebook_formats):
    """The formats asked for ('SOURCE,DBC' or a list), upper-cased, each once; an unknown one is a usage error."""
    formats = [f.upper() for f in string_to_list(notebook_formats)]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise UsageError(f"Unknown notebook format(s) {', '.join(unknown)}: use {', '.join(FORMATS)}")
    return list(dict.fromkeys(formats))


# ------------------------------------------------------------------ export
def export_notebook(workspace, notebook_path, notebook_format, revision_id=None):
    """The bytes of the notebook (at that revision, if given) in one format."""
    query = {"path": notebook_path, "format": notebook_format}
    if revision_id:
        query["revision"] = {"revision_timestamp": revision_id}  # sent as revision.revision_timestamp
    answer = workspace.api_client.do("GET", "/api/2.0/workspace/export", query=query,
                                     headers={"Accept": "application/json"})
    return base64.b64decode(answer.get("content") or "")


def download_formats(workspace, output_dir, notebook_path, revision_id, formats):
    """Write <output_dir>/<notebook name>.<format> for each format. Returns ([formats written], {reason:
    [formats not written]})."""
    name = posixpath.basename(notebook_path.rstrip("/"))
    written, problems = [], {}
    for fmt in check_formats(formats):
        try:
            content = export_notebook(workspace, notebook_path, fmt, revision_id)
        except Exception as ex:
            problems.setdefault(_export_problem(workspace, notebook_path, revision_id, ex), []).append(fmt)
            continue
        os.makedirs(output_dir, exist_ok=True)
        with open(os.path.join(output_dir, f"{name}.{fmt.lower()}"), "wb") as f:
            f.write(content)
        written.append(fmt)
    return written, problems


def _export_problem(workspace, notebook_path, revision_id, ex):
    where = redact_uri(workspace.config.host)
    code = getattr(ex, "error_code", "")
    if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
        return f"notebook '{notebook_path}' (revision {revision_id}) no longer exists in {where}"
    if code == TOO_LARGE:
        return f"notebook '{notebook_path}' is too large for the workspace export API of {where} (10 MB)"
    return f"notebook '{notebook_path}' cannot be read from {where}: {sdk_error(ex)}"


def export_run_notebook(client, run, run_dir, notebook_formats, report):
    """artifacts/notebooks/ of an exported run made by a workspace notebook, when formats are asked for. Problems
    are reported on the run (skipped notebooks), never raised: the run is exported all the same."""
    tags = run.data.tags
    notebook_path = tags.get(NOTEBOOK_PATH_TAG)
    if not notebook_formats or not notebook_path:
        return
    what = f"run {run.info.run_id}"
    revision_id = tags.get(REVISION_TAG)
    if not revision_id:
        report.skipped(KIND, what, f"notebook '{notebook_path}' has no revision id (a Repos notebook cannot be "
                                   "exported by revision)")
        return
    try:
        workspace = workspace_client_of(client)
    except Exception as ex:  # the run's own export goes on
        report.skipped(KIND, what, f"notebook '{notebook_path}': {sdk_error(ex)}")
        return
    if workspace is None:
        report.skipped(KIND, what, f"notebook '{notebook_path}': {redact_uri(client.tracking_uri)} is not a "
                                   "Databricks workspace")
        return
    output_dir = os.path.join(run_dir, "artifacts", NOTEBOOKS_DIR)
    written, problems = download_formats(workspace, output_dir, notebook_path, revision_id, notebook_formats)
    for reason, formats in problems.items():
        report.skipped(KIND, what, f"{reason}: {', '.join(formats)} not exported")
    if written:
        io_utils.write_file(os.path.join(output_dir, MANIFEST_FILE), {
            NOTEBOOK_PATH_TAG: notebook_path, REVISION_TAG: revision_id, "formats": written})
        report.copied(KIND)


# ------------------------------------------------------------------ import
def read_manifest(run_dir):
    path = os.path.join(run_dir, "artifacts", NOTEBOOKS_DIR, MANIFEST_FILE)
    if not os.path.exists(path):
        return None
    manifest = io_utils.read_file(path)
    return manifest if isinstance(manifest, dict) and manifest.get(NOTEBOOK_PATH_TAG) else None


def _language(content):
    """The notebook's language from the header of its SOURCE export (R shares Python's '#' header)."""
    from databricks.sdk.service.workspace import Language
    head = content.lstrip()[:64]
    if head.startswith(b"-- Databricks notebook source"):
        return Language.SQL
    if head.startswith(b"// Databricks notebook source"):
        return Language.SCALA
    return Language.PYTHON


def import_notebook(workspace, source_file, dst_dir, name):
    """Import a SOURCE export as <dst_dir>/<name> (folder made, notebook replaced). Returns its ObjectInfo."""
    from databricks.sdk.service.workspace import ImportFormat
    with open(source_file, "rb") as f:
        content = f.read()
    dst_path = f"{dst_dir.rstrip('/')}/{name}"
    workspace.workspace.mkdirs(dst_dir.rstrip("/") or "/")
    workspace.workspace.import_(dst_path, content=base64.b64encode(content).decode(), format=ImportFormat.SOURCE,
                                language=_language(content), overwrite=True)
    return workspace.workspace.get_status(dst_path)


def import_run_notebook(client, run_id, run_dir, run_dct, dst_notebook_dir, report):
    """With --dst-notebook-dir: the exported notebook of the run (run_dct, from run_dir) into that workspace
    folder, and the notebook tags of run_id, its imported copy, pointed at it. Problems are reported on the run,
    never raised."""
    manifest = read_manifest(run_dir) if dst_notebook_dir else None
    if manifest is None:
        return
    src_path, revision_id = manifest[NOTEBOOK_PATH_TAG], manifest.get(REVISION_TAG)
    name = posixpath.basename(src_path.rstrip("/"))
    what = f"run {run_dct['info']['run_id']}"
    source_file = os.path.join(run_dir, "artifacts", NOTEBOOKS_DIR, f"{name}.source")
    if not os.path.exists(source_file):
        report.skipped(KIND, what, f"notebook '{src_path}' was not exported in SOURCE format: not imported")
        return
    dst_name = f"{name}_{revision_id}" if revision_id else name
    try:
        workspace = workspace_client_of(client)
        if workspace is None:
            report.skipped(KIND, what, f"--dst-notebook-dir: {redact_uri(client.tracking_uri)} is not a Databricks "
                                       "workspace")
            return
        info = import_notebook(workspace, source_file, dst_notebook_dir, dst_name)
        _point_tags_at(client, run_id, run_dct["tags"], workspace, info, manifest)
    except Exception as ex:
        report.failed(KIND, what, f"notebook '{src_path}' could not be imported into '{dst_notebook_dir}': "
                                  f"{sdk_error(ex)}")
        return
    report.copied(KIND)


def _point_tags_at(client, run_id, run_tags, workspace, info, manifest):
    """The tags the run page links its notebook by, now naming the imported notebook; the source notebook kept
    as lineage tags. The source revision id means nothing in the destination: removed."""
    tags = {SOURCE_NAME_TAG: info.path, NOTEBOOK_PATH_TAG: info.path, NOTEBOOK_ID_TAG: str(info.object_id),
            SRC_NOTEBOOK_PATH_TAG: manifest[NOTEBOOK_PATH_TAG], SRC_REVISION_TAG: str(manifest.get(REVISION_TAG))}
    if WORKSPACE_URL_TAG in run_tags:
        tags[WORKSPACE_URL_TAG] = workspace.config.host
    if WORKSPACE_ID_TAG in run_tags:
        tags[WORKSPACE_ID_TAG] = str(workspace.get_workspace_id())
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    if REVISION_TAG in run_tags:
        client.delete_tag(run_id, REVISION_TAG)
