"""Import a registered model exported by export-model (or by export-models / export-all).

The model keeps its description, tags and aliases; its versions are created in numeric order with their
description, tags, stage and aliases, each pointing at the imported copy of its run (or logged model). A model
new in the destination gets the source's version numbers: a gap left by a deleted version is filled with a
version that is deleted right away. A destination model that exists is only resumed when an earlier import made
it (versions already imported are skipped); otherwise it is refused unless delete_model."""
import os

import click
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common import model_utils, registry_rules
from mlflow_export_import.common.click_options import (
    opt_dry_run,
    bool_option, opt_experiment_name, opt_import_permissions, opt_import_source_tags, opt_input_dir,
    opt_principal_map, opt_report)
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.mlflow_utils import set_experiment
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ExportTags
from mlflow_export_import.model import model_utils as version_sources
from mlflow_export_import.model.model_utils import check_version_source, import_version_logged_models, resolve_source
from mlflow_export_import.model_version.import_model_version import (
    _import_model_version, set_stage_and_aliases, with_src_version_tag)
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.permissions.mapping import get_principal_map
from mlflow_export_import.permissions.transfer import import_model_permissions
from mlflow_export_import.model.plan import (
    CREATE, MODEL_PRESENT, SET_STAGE, SRC_MODEL_TAG, SRC_VERSION_TAG, check_importable, check_not_a_prompt,
    imported_versions, logged_model_id_of, plan_model, read_model, src_version_key, version_action)
from mlflow_export_import.run.import_run import RunImporter
from mlflow_export_import.run.plan import SKIP, imported_runs, read_run, run_action

VERSION_MODELS_DIR = "version_models"
REGISTRY_COPY_TAG = f"{ExportTags.PREFIX_ROOT}.import.registry_copy_of"
PLACEHOLDER_TAG = f"{ExportTags.PREFIX_ROOT}.import.placeholder"

_logger = get_logger(__name__)

# Reference API: notebooks and tests import these from this module.
_extract_model_path = version_sources._extract_model_path
_path_join = version_sources._path_join


def import_model(model_name, experiment_name, input_dir, delete_model=False, import_permissions=False,
                 import_source_tags=False, verbose=False, await_creation_for=None, mlflow_client=None, report=None,
                 id_map=None, principal_map=None):
    """Import the model exported in input_dir as model_name; the versions' runs go into experiment_name.
    With import_permissions, the model's exported Databricks permissions are granted (principals renamed by
    principal_map). Returns the exported model dict."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    importer = ModelImporter(client, import_permissions=import_permissions, import_source_tags=import_source_tags,
                             principal_map=principal_map)
    return importer.import_model(model_name, input_dir, experiment_name, delete_model, verbose, report, id_map)


class BaseModelImporter:
    def __init__(self, mlflow_client=None, import_permissions=False, import_source_tags=False,
                 await_creation_for=None, principal_map=None):
        self.client = use_client(mlflow_client)
        self.import_permissions = import_permissions
        self.import_source_tags = import_source_tags
        self.principal_map = get_principal_map(principal_map)

    def _import_model(self, model_name, input_dir, delete_model=False):
        model_dct = read_model(input_dir)
        prepare_model(self.client, model_name, model_dct, delete_model)
        return model_dct

    def import_versions(self, model_name, input_dir, model_dct, run_for, delete_model, report, id_map=None,
                        orphan_experiment=None, known_missing=False):
        """Create (or resume) the model and its versions. run_for(src_run_id) -> destination RunInfo or None.
        known_missing: a listing of the destination just showed no model of that name."""
        created = prepare_model(self.client, model_name, model_dct, delete_model, known_missing)
        try:
            versions = VersionsImporter(self.client, model_name, input_dir, model_dct, run_for, self.import_source_tags,
                                        report, id_map, orphan_experiment, new_model=created).run()
            set_model_aliases(self.client, model_name, model_dct, versions,
                              current={} if created and not _aliases_set_with_versions(self.client, model_dct)
                              else None)
        except Exception as ex:
            if created:
                model_utils.delete_model_quietly(self.client, model_name)
            report.failed("models", model_dct["name"], describe_error(ex), name=model_name)
            raise
        if self.import_permissions:
            import_model_permissions(self.client, model_name, model_dct.get("permissions"), self.principal_map,
                                     report)
        if created:
            report.copied("models")
        else:
            report.skipped("models", model_dct["name"], MODEL_PRESENT)
        return versions

    def import_version(self, model_name, src_vr, dst_run_id, id_map=None):
        """One version of model_name from an exported version dict, its run imported as dst_run_id (None: a
        version of a logged model only). A version an earlier import made is returned as it is. Returns the
        destination ModelVersion."""
        src_vr = {**src_vr, "name": src_vr.get("name") or model_name}
        earlier = imported_versions(self.client, model_name).get(src_version_key(src_vr))
        if earlier is not None:
            return earlier
        dst_run = self.client.get_run(dst_run_id).info if dst_run_id else None
        dst_source, model_id = resolve_source(self.client, src_vr, dst_run, id_map=id_map)
        check_version_source(self.client, src_vr, dst_source, dst_run_id)
        dst_vr = _import_model_version(self.client, model_name, with_src_version_tag(src_vr), dst_run_id, dst_source,
                                       True, self.import_source_tags, model_id=model_id)
        return self.client.get_model_version(model_name, dst_vr.version)


class ModelImporter(BaseModelImporter):
    """Single import-model: each version's run is imported from <input_dir>/<run_id>/ into one experiment."""

    def import_model(self, model_name, input_dir, experiment_name, delete_model=False, verbose=False, report=None,
                     id_map=None):
        report = report if report is not None else Report()
        registry_rules.check_model_names(self.client, [model_name])
        model_dct = read_model(input_dir)
        check_importable(self.client, model_name, model_dct, delete_model)
        experiment_id, _ = set_experiment(self.client, experiment_name)
        id_map = id_map if id_map is not None else IdMap()
        runs, new_runs = self._import_runs(input_dir, model_dct, experiment_id, report)
        import_version_logged_models(self.client, input_dir, model_dct["versions"], experiment_id, runs,
                                     {src: os.path.join(input_dir, src) for src in new_runs}, report, id_map)
        versions = self.import_versions(model_name, input_dir, model_dct, runs.get, delete_model, report, id_map,
                                        orphan_experiment=experiment_name)
        if verbose:
            for src, dst in versions.items():
                _logger.info(f"Version {src} of '{model_dct['name']}' -> version {dst} of '{model_name}'")
        return model_dct

    def _import_runs(self, input_dir, model_dct, experiment_id, report):
        """{source run id: destination RunInfo}; a run an earlier import finished is reused."""
        importer = RunImporter(self.client, self.import_source_tags)
        existing = imported_runs(self.client, experiment_id)
        runs, new_runs = {}, []
        for src_run_id in dict.fromkeys(v.get("run_id") for v in model_dct["versions"]):
            run_dir = os.path.join(input_dir, src_run_id or "")
            if not src_run_id or not os.path.exists(os.path.join(run_dir, "run.json")):
                continue
            earlier = existing.get(src_run_id)
            if run_action(earlier) == SKIP:
                runs[src_run_id] = earlier.info
                report.skipped("runs", src_run_id, "already imported")
                continue
            runs[src_run_id] = importer.import_run_info(experiment_id, run_dir, read_run(run_dir), reuse_run=earlier)
            new_runs.append(src_run_id)
            report.copied("runs")
        return runs, new_runs


class BulkModelImporter(BaseModelImporter):
    """A model of an export-models / export-all directory, whose runs an experiments import already brought in:
    run_info_map is {source run id: destination RunInfo} (bulk.import_models._flatten_run_info_map)."""

    def __init__(self, run_info_map, import_permissions=False, import_source_tags=False, experiment_renames=None,
                 await_creation_for=None, mlflow_client=None):
        super().__init__(mlflow_client, import_permissions, import_source_tags, await_creation_for)
        self.run_info_map = run_info_map or {}
        self.experiment_renames = experiment_renames

    def import_model(self, model_name, input_dir, delete_model=False, verbose=False, report=None, id_map=None):
        """Import the model exported in input_dir (`<export>/models/<name>`) as model_name. Returns the exported
        model dict."""
        report = report if report is not None else Report()
        registry_rules.check_model_names(self.client, [model_name])
        model_dct = read_model(input_dir)
        versions = self.import_versions(model_name, input_dir, model_dct, self.run_info_map.get, delete_model, report,
                                        id_map)
        if verbose:
            _logger.info(f"Model '{model_dct['name']}' -> '{model_name}': versions {versions}")
        return model_dct

    def import_version(self, model_name, src_vr, dst_run_id=None, id_map=None):
        """As BaseModelImporter.import_version; dst_run_id defaults to the import of the version's source run."""
        if dst_run_id is None and src_vr.get("run_id") in self.run_info_map:
            dst_run_id = self.run_info_map[src_vr["run_id"]].run_id
        return super().import_version(model_name, src_vr, dst_run_id, id_map)


def prepare_model(client, model_name, model_dct, delete_model, known_missing=False):
    """Delete (delete_model) or check the destination model, then create it if missing. True if created.
    known_missing: a listing showed no model of that name, so there is nothing to check unless creating it
    finds one after all (made since, or a prompt, which listings leave out)."""
    if delete_model:
        model_utils.delete_model(client, model_name)
    elif known_missing:
        check_not_a_prompt(model_dct)
    elif check_importable(client, model_name, model_dct, delete_model) is not None:
        return False  # an earlier import's: a re-run sends no create to be refused
    tags = {**model_utils.model_tags(model_dct), SRC_MODEL_TAG: model_dct["name"]}
    created = model_utils.create_model(client, model_name, {"tags": tags, "description": model_dct.get("description")})
    if not created and known_missing and not delete_model:
        check_importable(client, model_name, model_dct, delete_model)
    return created


def set_model_aliases(client, model_name, model_dct, versions, current=None):
    """The model's alias list (export-format: [{alias, version}]) mapped to the destination versions, as the
    destination registry allows (common/registry_rules.py). current: the model's {alias: version} when the
    caller knows them (None: read)."""
    by_version = {}
    for alias, src_version in model_utils.model_aliases(model_dct).items():
        dst_version = versions.get(str(src_version))
        if dst_version:
            by_version.setdefault(dst_version, []).append(alias)
    if current is None:
        current = _current_aliases(client, model_name) if by_version else {}
    for dst_version, aliases in by_version.items():
        # a re-run (or a sync) sets only the aliases that moved
        aliases = [a for a in aliases if current.get(a) != str(dst_version)]
        if aliases:
            registry_rules.set_aliases(client, model_name, dst_version, aliases)


def _aliases_set_with_versions(client, model_dct):
    """Whether importing the versions sets aliases too (versions exported with theirs, or Unity Catalog's aliases
    for stages): a model created by this import then has more than none."""
    return registry_rules.registry_kind(client) == registry_rules.UNITY_CATALOG or \
        any(v.get("aliases") for v in model_dct["versions"])


def _current_aliases(client, model_name):
    """{alias: version} where the registry holds real aliases; {} where they are kept another way."""
    if registry_rules.registry_kind(client) == registry_rules.WORKSPACE or \
            not registry_rules.holds_tags_and_aliases(client):
        return {}
    try:
        return {a: str(v) for a, v in (client.get_registered_model(model_name).aliases or {}).items()}
    except Exception:  # the aliases are then all set, as before
        return {}


class VersionsImporter:
    """The versions of one model, in numeric order, numbered as in the source when possible."""

    def __init__(self, client, model_name, input_dir, model_dct, run_for, import_source_tags, report, id_map,
                 orphan_experiment, new_model=False):
        """new_model: the model was created by this import, so it has no versions yet (nothing to search)."""
        self.client = client
        self.model_name = model_name
        self.input_dir = input_dir
        self.model_dct = model_dct
        self.run_for = run_for
        self.import_source_tags = import_source_tags
        self.report = report
        self.id_map = id_map
        self.orphan_experiment = orphan_experiment
        versions = [] if new_model else model_utils.search_model_versions(
            client, f"name='{model_utils.quote(model_name)}'")
        # what imported_versions() finds, from the one search
        self.existing = {vr.tags[SRC_VERSION_TAG]: vr for vr in versions if (vr.tags or {}).get(SRC_VERSION_TAG)}
        for vr in versions:
            if (vr.tags or {}).get(PLACEHOLDER_TAG):  # an earlier import stopped before deleting it
                registry_rules.registry_writer(client).delete_model_version(model_name, vr.version)
        self.last = max((int(v.version) for v in versions), default=0)

    def run(self):
        """Returns {source version: destination version} for every version now in the destination."""
        done, blocked_by = {}, None
        for src_vr in self.model_dct["versions"]:
            src_vr = {**src_vr, "name": src_vr.get("name") or self.model_dct["name"]}
            key = src_version_key(src_vr)
            earlier = self.existing.get(key)
            action = version_action(self.client, earlier, src_vr, self.model_name)
            if action != CREATE:
                done[str(src_vr["version"])] = earlier.version
                if action == SET_STAGE:  # an earlier import stopped between creating the version and its stage
                    set_stage_and_aliases(self.client, self.model_name, earlier.version, src_vr)
                    self.report.copied("model_versions")
                else:
                    self.report.skipped("model_versions", key, f"already imported as version {earlier.version}")
                continue
            if blocked_by:
                self.report.failed("model_versions", key, f"not imported: version {blocked_by} failed before it and "
                                   "versions are created in order, to keep their numbers; re-run to import both",
                                   name=self.model_name)
                continue
            try:
                done[str(src_vr["version"])] = self._import_version(src_vr)
            except Exception as ex:
                self.report.failed("model_versions", key, describe_error(ex), name=self.model_name)
                _logger.error(f"Version {src_vr['version']} of model '{src_vr['name']}' failed to import: "
                              f"{describe_error(ex)}")
                blocked_by = None if self._numbers_not_kept() else src_vr["version"]
                continue
            self.report.copied("model_versions")
        return done

    def _numbers_not_kept(self):
        """Unity Catalog numbers versions itself and refuses some (no signature): there the model's other versions
        go on without the refused one. Elsewhere a failed version stops the later ones, which would otherwise take
        its number; earlier versions stay, and a re-run goes on in order."""
        return registry_rules.registry_kind(self.client) == registry_rules.UNITY_CATALOG

    def _import_version(self, src_vr):
        dst_run_id, dst_source, model_id = self._locate_files(src_vr)
        self._fill_gap(int(src_vr["version"]), dst_run_id, dst_source, model_id)
        dst_vr = _import_model_version(self.client, self.model_name, with_src_version_tag(src_vr), dst_run_id,
                                       dst_source, True, self.import_source_tags, model_id=model_id)
        self.last = max(self.last, int(dst_vr.version))
        return dst_vr.version

    def _locate_files(self, src_vr):
        """(destination run id, source, logged model id) of the version's files in the destination."""
        dst_run = self.run_for(src_vr.get("run_id")) if src_vr.get("run_id") else None
        files_dir = os.path.join(self.input_dir, VERSION_MODELS_DIR, str(src_vr["version"]))
        if dst_run is None and not logged_model_id_of(src_vr) and os.path.isdir(files_dir):
            return self._registry_copy_run(src_vr, files_dir)
        if dst_run is None and not logged_model_id_of(src_vr):
            raise MlflowExportImportException(
                f"its run '{src_vr.get('run_id')}' is neither in the export nor imported, and the export has no "
                f"copy of its files ({files_dir})", http_status_code=404)
        dst_source, model_id = resolve_source(self.client, src_vr, dst_run, id_map=self.id_map)
        check_version_source(self.client, src_vr, dst_source, dst_run.run_id if dst_run else None,
                             dst_run.artifact_uri if dst_run else None)
        return (dst_run.run_id if dst_run else None), dst_source, model_id

    def _registry_copy_run(self, src_vr, files_dir):
        """A version whose run no longer exists: its files (the registry's copy) go into a run of their own."""
        name = src_vr.get("_experiment_name") or self.orphan_experiment or "Default"
        experiment_id, _ = set_experiment(self.client, name)
        key = src_version_key(src_vr)
        run = self.client.create_run(experiment_id, run_name=f"registry-copy-{key.replace('/', '-v')}",
                                     tags={REGISTRY_COPY_TAG: key})
        root = _model_root(files_dir)
        artifact_path = os.path.basename(root) if root != files_dir else "model"
        self.client.log_artifacts(run.info.run_id, root, artifact_path)
        self.client.set_terminated(run.info.run_id)
        return run.info.run_id, f"runs:/{run.info.run_id}/{artifact_path}", None

    def _fill_gap(self, number, dst_run_id, dst_source, model_id):
        """Versions are numbered in sequence: burn the numbers of deleted source versions."""
        # A placeholder linked to a logged model would be listed in its mlflow.modelVersions tag for good.
        source, kwargs = (f"runs:/{dst_run_id}", {}) if dst_run_id else (dst_source, {"model_id": model_id})
        if registry_rules.registry_kind(self.client) == registry_rules.UNITY_CATALOG:
            # Unity Catalog uploads and checks the files of every version: the placeholder must be a real model
            source, kwargs = dst_source, ({"model_id": model_id} if model_id else {})
        while self.last + 1 < number:
            vr = self.client.create_model_version(self.model_name, source, dst_run_id, await_creation_for=0,
                                                  tags={PLACEHOLDER_TAG: "true"}, **kwargs)
            registry_rules.registry_writer(self.client).delete_model_version(self.model_name, vr.version)
            self.last = int(vr.version)


def _model_root(files_dir):
    """The downloaded model directory: files_dir, or its only sub-directory (a download keeps the basename)."""
    entries = os.listdir(files_dir)
    if len(entries) == 1 and os.path.isdir(os.path.join(files_dir, entries[0])):
        return os.path.join(files_dir, entries[0])
    return files_dir


@click.command("import-model")
@opt_input_dir
@click.option("--model", help="Destination registered model name.", type=str, required=True)
@opt_experiment_name
@bool_option("--delete-model", "Replace the destination model if it exists (all its versions are deleted first).")
@opt_import_permissions
@opt_principal_map
@opt_import_source_tags
@click.option("--await-creation-for", type=int, default=None, help="Accepted for compatibility; not needed.")
@bool_option("--verbose", "Log the source -> destination version numbers.")
@opt_dry_run
@opt_report
def main(input_dir, model, experiment_name, delete_model, import_permissions, principal_map, import_source_tags,
         await_creation_for, verbose, dry_run, report_file):
    """Import a registered model exported by export-model; the versions' runs go into --experiment-name."""
    with command("import-model", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_model(mk_client(read_only=True), model, experiment_name, input_dir, delete_model, report)
            return
        import_model(model, experiment_name, input_dir, delete_model, import_permissions, import_source_tags, verbose,
                     await_creation_for, mlflow_client=mk_client(), report=report, principal_map=principal_map)


if __name__ == "__main__":
    main()
