"""Registered models, prompts and evaluation datasets: small next to runs, so they pass through a temporary
directory in the export format and are imported by the importers of import-all, which create what is new and
resume what is half-done. A sync then brings copied model versions level with their source: stage, aliases,
tags and description (and, with delete, removes versions gone from the source)."""
import os
import tempfile
from collections import namedtuple

from mlflow_export_import.bulk.export_evaluation_datasets import export_evaluation_datasets
from mlflow_export_import.bulk.export_models import _export_models
from mlflow_export_import.bulk.bulk_utils import get_model_names
from mlflow_export_import.bulk.export_prompts import export_prompts
from mlflow_export_import.bulk.import_evaluation_datasets import import_evaluation_datasets
from mlflow_export_import.bulk.import_models import _import_models
from mlflow_export_import.bulk.import_prompts import import_prompts
from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.common import describe_error, model_utils, registry_rules
from mlflow_export_import.common.iterators import SearchModelVersionsIterator, SearchRegisteredModelsIterator
from mlflow_export_import.common.report import Report
from mlflow_export_import.engine.runs import LINEAGE_PREFIX
from mlflow_export_import.common.io_utils import subdirs
from mlflow_export_import.evaluation_dataset.plan import plan_datasets
from mlflow_export_import.model.import_model import PLACEHOLDER_TAG, BaseModelImporter
from mlflow_export_import.model.plan import (
    SRC_VERSION_TAG, imported_versions, plan_exported_models, read_model_names)
from mlflow_export_import.common.model_utils import quote, search_model_versions
from mlflow_export_import.prompt.plan import plan_prompts


def copy_models(src, dst, model_names, report, id_map, workers, model_renames=None, import_source_tags=False,
                sync=False, delete=False, dry_run=False):
    """Copy the models (their versions' runs must have been copied before: id_map or lineage finds them).
    A dry run plans the same staged export against the destination, read-only."""
    finish(model_steps(src, dst, model_names, report, id_map, workers, model_renames, import_source_tags, sync,
                       delete, dry_run))


def model_steps(src, dst, model_names, report, id_map, workers, model_renames=None, import_source_tags=False,
                sync=False, delete=False, dry_run=False):
    """copy_models in two steps, as a generator: up to its one yield it reads (the models are exported into a
    temporary directory), resumed it writes. copy-all reads while its experiments are copied."""
    renames = get_renames(model_renames)
    if sync:
        model_names = _models_to_sync(src, dst, model_names, renames, delete, report)
        if not model_names:
            return
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-models-") as tmp:
        export_report = Report()
        _export_models(src, model_names, os.path.join(tmp, "models"), report=export_report, workers=workers)
        _carry_failures(export_report, report)
        names = read_model_names(tmp)
        if not names:
            return
        yield
        registry_rules.check_model_names(dst, [rename(n, renames, "model") for n in names])
        if dry_run:
            plan_exported_models(dst, tmp, names, False, renames, report)
        else:
            importer = BaseModelImporter(dst, import_source_tags=import_source_tags)
            _import_models(dst, tmp, names, False, importer, model_renames, False, report, workers, id_map, {})
    if sync:
        for name in names:
            _sync_one(src, dst, name, rename(name, renames, "model"), delete, dry_run, report)


def finish(steps):
    """Run a two-step generator (model_steps, prompt_steps, dataset_steps) to its end."""
    for _ in steps:
        pass


def _models_to_sync(src, dst, model_names, renames, delete, report):
    """The selected models a sync must take the full way (export, import, bring level): those whose copy
    differs from the source in the listings. The others are reported level and cost nothing more."""
    names = get_model_names(src, model_names)
    level = level_models(src, dst, names, renames, delete)
    for name, versions in level.items():
        report.skipped("models", name, "level with its source")
        for key in versions:
            report.skipped("model_versions", key, "level with its source")
    return [n for n in names if n not in level]


def level_models(src, dst, names, renames, delete):
    """{name: its version keys} of the models whose copy is level with the source, found from four listings
    (the registered models and every version, on each side) instead of reading each model again: a sync of an
    unchanged registry costs a few requests. Only where one unfiltered search lists every version with its tags
    (open-source registries on both sides); elsewhere every model goes the full way."""
    if not (registry_rules.registry_kind(src) == registry_rules.registry_kind(dst) == "oss"
            and registry_rules.holds_tags_and_aliases(dst)):
        return {}
    src_models = {m.name: m for m in SearchRegisteredModelsIterator(src)}
    dst_models = {m.name: m for m in SearchRegisteredModelsIterator(dst)}
    src_versions, dst_versions = _versions_by_model(src), _versions_by_model(dst)
    level = {}
    for name in names:
        dst_name = rename(name, renames, "model")
        if name not in src_models or dst_name not in dst_models:
            continue
        src_vs = {f"{name}/{v.version}": v for v in src_versions.get(name, [])}
        dst_vs = {(v.tags or {}).get(SRC_VERSION_TAG): v for v in dst_versions.get(dst_name, [])}
        if _is_level(src_models[name], dst_models[dst_name], src_vs, dst_vs, delete):
            level[name] = list(src_vs)
    return level


def _versions_by_model(client):
    by_model = {}
    for v in SearchModelVersionsIterator(client):
        by_model.setdefault(v.name, []).append(v)
    return by_model


def _is_level(src_model, dst_model, src_vs, dst_vs, delete):
    """Whether a sync would change nothing: the checks of model_changes and of the importer (a version new or
    left half-done), on listed entities."""
    if (src_model.description or "") != (dst_model.description or ""):
        return False
    if any(_tag_changes(src_model.tags or {}, dst_model.tags or {})):
        return False
    if None in dst_vs or any((v.tags or {}).get(PLACEHOLDER_TAG) for v in dst_vs.values()):
        return False  # a version made by hand, or a placeholder an import left: the full way looks at it
    if any(key not in dst_vs for key in src_vs) or (delete and any(key not in src_vs for key in dst_vs)):
        return False
    if not all(version_diff(sv, dst_vs[key], True).is_empty() for key, sv in src_vs.items()):
        return False
    wanted = {a: str(dst_vs[f"{src_model.name}/{v}"].version) for a, v in (src_model.aliases or {}).items()}
    return wanted == {a: str(v) for a, v in (dst_model.aliases or {}).items()}


def _sync_one(src, dst, name, dst_name, delete, dry_run, report):
    try:
        if dry_run and not model_utils.model_exists(dst, dst_name):
            return  # created by the copy: nothing to bring up to date
        for key, what, change in model_changes(src, dst, name, dst_name, delete):
            if dry_run:
                report.would("model_versions", key, what)
            else:
                change()
                report.note(f"model {name}: {what}")
    except Exception as ex:
        report.failed("models", name, f"could not be brought up to date: {describe_error(ex)}")


def model_changes(src, dst, src_name, dst_name, delete):
    """What brings the copied versions of one model level with their source: [(version key, what, do it)]."""
    changes = []
    src_versions = {f"{src_name}/{v.version}": v for v in search_model_versions(src, f"name='{quote(src_name)}'")}
    dst_versions = imported_versions(dst, dst_name)
    holds_stages = registry_rules.registry_kind(dst) != "unity_catalog"
    for key, sv in src_versions.items():
        dv = dst_versions.get(key)
        if dv is not None:
            changes += _version_changes(dst, dst_name, key, sv, dv, holds_stages)
    if registry_rules.holds_tags_and_aliases(dst) and holds_stages:
        changes += _alias_changes(src, dst, src_name, dst_name, dst_versions)
    if delete:
        for key, dv in dst_versions.items():
            if key not in src_versions:
                changes.append((key, f"delete version {dv.version} of '{dst_name}': its source is gone",
                                lambda v=dv.version: dst.delete_model_version(dst_name, v)))
    return changes


class VersionDiff(namedtuple("VersionDiff", "stage description tags_to_set tags_to_delete")):
    """stage and description: the source's, where the copy's differs (else None); the tags to set and delete."""

    def is_empty(self):
        return self.stage is None and self.description is None and not self.tags_to_set and \
            not self.tags_to_delete


def version_diff(sv, dv, holds_stages):
    """What differs between a source version and its copy (None or empty where they agree): no request."""
    return VersionDiff(sv.current_stage if holds_stages and sv.current_stage != dv.current_stage else None,
                       sv.description or "" if (sv.description or "") != (dv.description or "") else None,
                       *_tag_changes(sv.tags or {}, dv.tags or {}))


def _version_changes(dst, dst_name, key, sv, dv, holds_stages):
    """The writes that bring one copied version level with its source: [(version key, what, do it)]."""
    v, diff, changes = dv.version, version_diff(sv, dv, holds_stages), []
    if diff.stage is not None:
        changes.append((key, f"move version {v} of '{dst_name}' to stage {diff.stage}",
                        lambda: dst.transition_model_version_stage(dst_name, v, diff.stage,
                                                                   archive_existing_versions=False)))
    if diff.description is not None:
        changes.append((key, f"update the description of version {v} of '{dst_name}'",
                        lambda: dst.update_model_version(dst_name, v, description=diff.description)))
    for k, value in diff.tags_to_set.items():
        changes.append((key, f"set tag '{k}' of version {v} of '{dst_name}'",
                        lambda k=k, value=value: dst.set_model_version_tag(dst_name, v, k, value)))
    for k in diff.tags_to_delete:
        changes.append((key, f"delete tag '{k}' of version {v} of '{dst_name}'",
                        lambda k=k: dst.delete_model_version_tag(dst_name, v, k)))
    return changes


def _alias_changes(src, dst, src_name, dst_name, dst_versions):
    src_aliases = {a: str(v) for a, v in (src.get_registered_model(src_name).aliases or {}).items()}
    wanted = {a: str(dst_versions[f"{src_name}/{v}"].version) for a, v in src_aliases.items()
              if f"{src_name}/{v}" in dst_versions}
    current = {a: str(v) for a, v in (dst.get_registered_model(dst_name).aliases or {}).items()}
    changes = [(f"{src_name}@{a}", f"point alias '{a}' of '{dst_name}' at version {v}",
                lambda a=a, v=v: dst.set_registered_model_alias(dst_name, a, v))
               for a, v in wanted.items() if current.get(a) != v]
    changes += [(f"{src_name}@{a}", f"delete alias '{a}' of '{dst_name}': gone from the source",
                 lambda a=a: dst.delete_registered_model_alias(dst_name, a))
                for a in current if a not in src_aliases]
    return changes


def _tag_changes(src_tags, dst_tags):
    """(tags to set, keys to delete): lineage tags are the copy's own."""
    ours = (LINEAGE_PREFIX, SRC_VERSION_TAG)
    return ({k: v for k, v in src_tags.items() if not k.startswith(ours) and dst_tags.get(k) != v},
            [k for k in dst_tags if k not in src_tags and not k.startswith(ours)])


def copy_prompts(src, dst, report, workers, prompt_names=None, dry_run=False):
    finish(prompt_steps(src, dst, report, workers, prompt_names, dry_run))


def prompt_steps(src, dst, report, workers, prompt_names=None, dry_run=False):
    """copy_prompts in two steps (see model_steps)."""
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-prompts-") as tmp:
        export_report = Report()
        export_prompts(tmp, prompt_names, mlflow_client=src, report=export_report, workers=workers)
        _carry_failures(export_report, report)
        yield
        if dry_run:
            plan_prompts(dst, subdirs(tmp), False, report)
        else:
            import_prompts(tmp, mlflow_client=dst, report=report, workers=workers)


def copy_datasets(src, dst, report, id_map, workers, dry_run=False):
    finish(dataset_steps(src, dst, report, id_map, workers, dry_run))


def dataset_steps(src, dst, report, id_map, workers, dry_run=False):
    """copy_datasets in two steps (see model_steps): the writes need the experiments' copies (id_map)."""
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-datasets-") as tmp:
        export_report = Report()
        export_evaluation_datasets(tmp, mlflow_client=src, report=export_report, workers=workers)
        _carry_failures(export_report, report)
        yield
        if dry_run:
            plan_datasets(dst, subdirs(tmp), False, report)
        else:
            import_evaluation_datasets(tmp, mlflow_client=dst, report=report, id_map=id_map, workers=workers)


def _carry_failures(export_report, report):
    """What could not be read from the source fails the copy; what the export skipped (deleted runs, objects
    a server does not have) is said once."""
    for f in export_report.failures:
        report.failed(f["type"], f["id"], f"could not be read from the source: {f['reason']}", name=f.get("name"))
    for s in export_report.skips:
        report.skipped(s["type"], s["id"], s["reason"])
