"""Registered models, prompts and evaluation datasets: small next to runs, so they pass through a temporary
directory in the export format and are imported by the importers of import-all, which create what is new and
resume what is half-done. A sync then brings copied model versions level with their source: stage, aliases,
tags and description (and, with delete, removes versions gone from the source)."""
import os
import tempfile

from mlflow_export_import.bulk.export_evaluation_datasets import export_evaluation_datasets
from mlflow_export_import.bulk.export_models import _export_models
from mlflow_export_import.bulk.export_prompts import export_prompts
from mlflow_export_import.bulk.import_evaluation_datasets import import_evaluation_datasets
from mlflow_export_import.bulk.import_models import _import_models, read_model_names
from mlflow_export_import.bulk.import_prompts import import_prompts
from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common import describe_error, registry_rules
from mlflow_export_import.common.report import Report
from mlflow_export_import.engine.runs import LINEAGE_PREFIX
from mlflow_export_import.model.import_model import BaseModelImporter
from mlflow_export_import.model.model_utils import SRC_VERSION_TAG, imported_versions, search_model_versions
from mlflow_export_import.common.model_utils import quote


def copy_models(src, dst, model_names, report, id_map, workers, model_renames=None, import_source_tags=False,
                sync=False, delete=False):
    """Copy the models (their versions' runs must have been copied before: id_map or lineage finds them)."""
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-models-") as tmp:
        export_report = Report()
        _export_models(src, model_names, os.path.join(tmp, "models"), report=export_report, workers=workers)
        _carry_failures(export_report, report)
        names = read_model_names(tmp)
        if not names:
            return
        registry_rules.check_model_names(dst, [rename(n, get_renames(model_renames), "model") for n in names])
        importer = BaseModelImporter(dst, import_source_tags=import_source_tags)
        _import_models(dst, tmp, names, False, importer, model_renames, False, report, workers, id_map, {})
    if sync:
        renames = get_renames(model_renames)
        for name in names:
            dst_name = rename(name, renames, "model")
            try:
                for note in sync_model(src, dst, name, dst_name, delete):
                    report.note(f"model {name}: {note}")
            except Exception as ex:
                report.failed("models", name, f"could not be brought up to date: {describe_error(ex)}")


def sync_model(src, dst, src_name, dst_name, delete):
    """Bring the copied versions of one model level with their source. Returns notes."""
    notes = []
    src_versions = {f"{src_name}/{v.version}": v for v in search_model_versions(src, f"name='{quote(src_name)}'")}
    dst_versions = imported_versions(dst, dst_name)
    holds_stages = registry_rules.registry_kind(dst) != "uc"
    for key, sv in src_versions.items():
        dv = dst_versions.get(key)
        if dv is None:
            continue
        if holds_stages and sv.current_stage != dv.current_stage:
            dst.transition_model_version_stage(dst_name, dv.version, sv.current_stage, archive_existing_versions=False)
        if (sv.description or "") != (dv.description or ""):
            dst.update_model_version(dst_name, dv.version, description=sv.description or "")
        _sync_tags(sv.tags or {}, dv.tags or {},
                   lambda k, v, ver=dv.version: dst.set_model_version_tag(dst_name, ver, k, v),
                   lambda k, ver=dv.version: dst.delete_model_version_tag(dst_name, ver, k))
    if registry_rules.holds_tags_and_aliases(dst) and holds_stages:
        _sync_aliases(src, dst, src_name, dst_name, src_versions, dst_versions)
    if delete:
        for key, dv in dst_versions.items():
            if key not in src_versions:
                dst.delete_model_version(dst_name, dv.version)
                notes.append(f"version {dv.version} deleted: its source version {key} is gone")
    return notes


def _sync_aliases(src, dst, src_name, dst_name, src_versions, dst_versions):
    src_aliases = {a: str(v) for a, v in (src.get_registered_model(src_name).aliases or {}).items()}
    wanted = {}
    for alias, version in src_aliases.items():
        dv = dst_versions.get(f"{src_name}/{version}")
        if dv is not None:
            wanted[alias] = str(dv.version)
    current = {a: str(v) for a, v in (dst.get_registered_model(dst_name).aliases or {}).items()}
    for alias, version in wanted.items():
        if current.get(alias) != version:
            dst.set_registered_model_alias(dst_name, alias, version)
    for alias in current:
        if alias not in wanted and alias not in src_aliases:
            dst.delete_registered_model_alias(dst_name, alias)


def _sync_tags(src_tags, dst_tags, set_tag, delete_tag):
    ours = (LINEAGE_PREFIX, SRC_VERSION_TAG)
    for k, v in src_tags.items():
        if not k.startswith(ours) and dst_tags.get(k) != v:
            set_tag(k, v)
    for k in dst_tags:
        if k not in src_tags and not k.startswith(ours):
            delete_tag(k)


def copy_prompts(src, dst, report, workers, prompt_names=None):
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-prompts-") as tmp:
        export_report = Report()
        export_prompts(tmp, prompt_names, mlflow_client=src, report=export_report, workers=workers)
        _carry_failures(export_report, report)
        import_prompts(tmp, mlflow_client=dst, report=report, workers=workers)


def copy_datasets(src, dst, report, id_map, workers):
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-datasets-") as tmp:
        export_report = Report()
        export_evaluation_datasets(tmp, mlflow_client=src, report=export_report, workers=workers)
        _carry_failures(export_report, report)
        import_evaluation_datasets(tmp, mlflow_client=dst, report=report, id_map=id_map, workers=workers)


def _carry_failures(export_report, report):
    """What could not be read from the source fails the copy; what the export skipped (deleted runs, objects
    a server does not have) is said once."""
    for f in export_report.failures:
        report.failed(f["type"], f["id"], f"could not be read from the source: {f['reason']}", name=f.get("name"))
    for s in export_report.skips:
        report.skipped(s["type"], s["id"], s["reason"])
