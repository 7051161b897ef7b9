"""`mlflow-export-import verify`: compare a source (server or export directory) with a destination, object by
object, and report every difference. Exit code 0: equal; 1: something differs; 2: bad input.

Ids that differ by design are matched through lineage: an imported run carries the source run id in
`mlflow_exim.import.src_run_id`, an imported model version the source version in
`mlflow_exim.import.src_version`; without lineage a run is matched by experiment name, run name and start
time. Tags under `mlflow_exim.` are not compared; MLmodel files are compared by presence only (an import
points their run_id at the new run).

Each object type is one Verifier class with `run(selector)`, listed in VERIFIERS; another type plugs in the
same way (a Verifier, and the read methods it needs on both sides in sides.py).
"""
import sys
from collections import defaultdict

import click
from mlflow.exceptions import MlflowException

from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
from mlflow_export_import.common.cli_utils import mk_client, quiet_mlflow
from mlflow_export_import.common.click_options import bool_option, opt_report, opt_workers
from mlflow_export_import.common.logging_utils import configure_logging, get_logger
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.progress import Progress
from mlflow_export_import.common.report import Report
from mlflow_export_import.verify import compare
from mlflow_export_import.verify.result import VerifyResult
from mlflow_export_import.verify.sides import (
    DESCRIPTION_TAG, RUN_INFO_FIELDS, DirSide, ServerSide, compared_tags, select_dataset_names, select_model_names,
    select_prompt_names, selector_items, version_key)

EXIT_EQUAL, EXIT_DIFFERENT, EXIT_BAD_INPUT = 0, 1, 2

_logger = get_logger(__name__)


def verify(src_client=None, dst_client=None, src_dir=None, dst_dir=None, experiments=None, models=None,
           include_deleted=False, artifact_checksums=True, workers=None, report=None, prompts=None, datasets=None):
    """Compare source and destination; returns a VerifyResult (`.ok`, `.to_dict()`, `.lines()`).
    `experiments` / `models` / `prompts` / `datasets` (evaluation datasets) are selectors as in the export
    commands ('all', 'prefix*', names (experiments: or ids), a .txt file). With none, everything the source
    has is compared; otherwise only the types selected. Experiments include their runs, logged models and
    traces."""
    src = _side(src_client, src_dir, include_deleted, "source")
    dst = _side(dst_client, dst_dir, include_deleted, "destination")
    report = report if report is not None else Report("verify")
    result = VerifyResult(src.label, dst.label, report.progress)
    selectors = {"experiments": experiments, "models": models, "prompts": prompts, "datasets": datasets}
    if not any(selectors.values()):
        selectors = {kind: "all" for kind in selectors if _has(src, kind)}
    options = {"artifact_checksums": artifact_checksums, "workers": workers}
    for kind, verifier in VERIFIERS.items():
        if selectors.get(kind):
            verifier(src, dst, result, report, **options).run(selectors[kind])
    return result


def _has(side, kind):
    """Whether the source holds objects of a kind: a server has every kind, an export directory some."""
    if not isinstance(side, DirSide):
        return True
    return {"experiments": side.experiments_root, "models": side.models_root, "prompts": side.prompts_root,
            "datasets": side.datasets_root}[kind]


def _side(client, path, include_deleted, which):
    if (client is None) == (path is None):
        raise MlflowExportImportException(f"Give the {which} as a tracking server or as an export directory "
                                          "(exactly one of them)", http_status_code=400)
    return ServerSide(client, include_deleted) if client is not None else DirSide(path, include_deleted)


def _dst_extras(selector, dst_names, src_names):
    """Destination names that the selector takes in ('all', 'prefix*') but the source has not."""
    items = selector_items(selector)
    whole = items in (["all"], ["*"])
    prefixes = [i[:-1] for i in items if i.endswith("*")]
    return [n for n in dst_names if n not in src_names and (whole or any(n.startswith(p) for p in prefixes))]


class Verifier:
    def __init__(self, src, dst, result, report, artifact_checksums=True, workers=None):
        self.src, self.dst, self.result, self.report = src, dst, result, report
        self.artifact_checksums = artifact_checksums
        self.workers = workers

    def error(self, kind, key, ex):
        self.result.error(kind, key, describe_error(ex))
        self.report.failed(kind, key, describe_error(ex))
        _logger.error(f"Could not compare {kind} {key}: {describe_error(ex)}")


class ExperimentVerifier(Verifier):
    """Experiments (matched by name), then their runs, logged models and traces, each type in parallel."""

    def run(self, selector):
        src_experiments = self.src.select_experiments(selector)
        for exp in src_experiments:
            self._step("experiments", exp["name"], lambda: self._experiment(exp))
        src_names = {e["name"] for e in src_experiments}
        for name in _dst_extras(selector, self.dst.experiment_names(), src_names):
            self.result.extra("experiments", name)

    def _experiment(self, src_exp):
        name = src_exp["name"]
        dst_exp = self.dst.find_experiment(name)
        if dst_exp is None:
            self.result.missing("experiments", name)
            for kind, items in (("runs", self.src.runs), ("logged_models", self.src.logged_models),
                                ("traces", self.src.traces)):
                for item in items(src_exp):
                    self.result.missing(kind, object_label(name, item))
            return
        self.result.compared("experiments", name, compare_experiments(src_exp, dst_exp))
        dst_to_src = self._step("runs", f"{name} (listing)", lambda: self._runs(name, src_exp, dst_exp)) or {}
        self._step("logged_models", f"{name} (listing)",
                   lambda: self._logged_models(name, src_exp, dst_exp, dst_to_src))
        self._step("traces", f"{name} (listing)", lambda: self._traces(name, src_exp, dst_exp, dst_to_src))

    def _step(self, kind, key, fn):
        """One failing part (an experiment, or the runs, logged models or traces of one) never stops the others."""
        try:
            return fn()
        except Exception as ex:
            self.error(kind, key, ex)
            return None

    def _runs(self, name, src_exp, dst_exp):
        pairs, missing, extras = match_runs(list(self.src.runs(src_exp)), list(self.dst.runs(dst_exp)))
        dst_to_src = {d.id: s.id for s, d in pairs}
        self._compare_matched("runs", name, pairs, missing, extras,
                              lambda src_ref, dst_ref: self._compare_run(src_ref, dst_ref, dst_to_src))
        return dst_to_src

    def _compare_matched(self, kind, name, pairs, missing, extras, compare_pair):
        """Report the missing and extra objects of one experiment, and compare the pairs in parallel."""
        for item in missing:
            self.result.missing(kind, object_label(name, item))
        for item, reason in extras:
            self.result.extra(kind, object_label(name, item, "destination id "), reason)
        for (src_item, _), diffs, ex in map_bounded(lambda pair: compare_pair(*pair), pairs, self.workers):
            if ex is not None:
                self.error(kind, object_label(name, src_item), ex)
            else:
                self.result.compared(kind, object_label(name, src_item), diffs)

    def _compare_run(self, src_ref, dst_ref, dst_to_src):
        src_run, dst_run = self.src.run(src_ref), self.dst.run(dst_ref)
        diffs = compare.compare_fields(src_run["info"], dst_run["info"], RUN_INFO_FIELDS)
        dst_parent = dst_to_src.get(dst_ref.parent_id, dst_ref.lineage_parent) if dst_ref.parent_id else None
        if (src_ref.parent_id or None) != (dst_parent or None):
            diffs.append(("parent run", repr(src_ref.parent_id), repr(dst_parent)))
        diffs += compare.compare_mapping(src_run["params"], dst_run["params"], "param")
        diffs += compare.compare_mapping(src_run["tags"], dst_run["tags"], "tag")
        diffs += compare.compare_metrics(src_run["metrics"], dst_run["metrics"])
        diffs += compare.compare_datasets(src_run["datasets"], dst_run["datasets"])
        return diffs + self._compare_artifacts(src_ref, dst_ref)

    def _compare_artifacts(self, src_ref, dst_ref):
        return self._artifact_diffs(self.src.artifacts(src_ref), self.dst.artifacts(dst_ref),
                                    lambda path: self.src.artifact_sha256(src_ref, path),
                                    lambda path: self.dst.artifact_sha256(dst_ref, path))

    def _artifact_diffs(self, src_files, dst_files, src_sha256, dst_sha256):
        diffs, same_size = compare.compare_artifact_listings(src_files, dst_files)
        if self.artifact_checksums:
            for path in same_size:
                src_sha, dst_sha = src_sha256(path), dst_sha256(path)
                if src_sha != dst_sha:
                    diffs.append((f"artifact '{path}'", f"sha256 {src_sha[:16]}", f"sha256 {dst_sha[:16]}"))
        return diffs

    def _logged_models(self, name, src_exp, dst_exp, dst_to_src):
        pairs, missing, extras = match_logged_models(list(self.src.logged_models(src_exp)),
                                                     list(self.dst.logged_models(dst_exp)))
        self._compare_matched("logged_models", name, pairs, missing, extras,
                              lambda src, dst: self._compare_logged_model(src, dst, dst_to_src))

    def _traces(self, name, src_exp, dst_exp, dst_to_src):
        pairs, missing, extras = match_traces(list(self.src.traces(src_exp)), list(self.dst.traces(dst_exp)))
        self._compare_matched("traces", name, pairs, missing, extras,
                              lambda src, dst: self._compare_trace(src, dst, dst_to_src))

    def _compare_trace(self, src_ref, dst_ref, dst_to_src):
        src, dst = self.src.trace(src_ref), self.dst.trace(dst_ref)
        diffs = compare.compare_fields(src["info"], dst["info"], list(src["info"]))
        diffs += compare.compare_mapping(src["tags"], dst["tags"], "tag")
        diffs += compare.compare_mapping(src["metadata"], dst["metadata"], "metadata")
        dst_run = dst["source_run_id"]
        dst_run = (dst_to_src.get(dst_run) or self.dst.run_key(dst_run)) if dst_run else None
        if src["source_run_id"] != dst_run:
            diffs.append(("source run", repr(src["source_run_id"]), repr(dst_run)))
        if src["assessments"] != dst["assessments"]:
            diffs.append(("assessments", repr(src["assessments"]), repr(dst["assessments"])))
        return diffs + compare_spans(src["spans"], dst["spans"])

    def _compare_logged_model(self, src_model, dst_model, dst_to_src):
        diffs = compare.compare_fields(src_model, dst_model, ["name", "status", "model_type"])
        diffs += compare.compare_mapping(src_model["params"], dst_model["params"], "param")
        diffs += compare.compare_mapping(src_model["tags"], dst_model["tags"], "tag")
        if src_model["metrics"] != dst_model["metrics"]:
            diffs.append(("metrics", f"{len(src_model['metrics'])} points", f"{len(dst_model['metrics'])} points"))
        dst_run = dst_model["source_run_id"]
        dst_run = (dst_to_src.get(dst_run) or self.dst.run_key(dst_run)) if dst_run else None
        if src_model["source_run_id"] != dst_run:
            diffs.append(("source run", repr(src_model["source_run_id"]), repr(dst_run)))
        return diffs + self._artifact_diffs(
            self.src.logged_model_artifacts(src_model), self.dst.logged_model_artifacts(dst_model),
            lambda path: self.src.logged_model_sha256(src_model, path),
            lambda path: self.dst.logged_model_sha256(dst_model, path))


def match_traces(src_refs, dst_refs):
    """Traces: by lineage tag, then equal id, then trace name and request time."""
    return match_objects(src_refs, dst_refs, lambda t: t.id, lambda t: t.lineage, lambda t: (t.name, t.request_time),
                         "trace")


def compare_spans(src_spans, dst_spans):
    """Spans keep their ids through an import: compared id by id. Exports with span summaries only
    (reference exports) are compared by name and parent."""
    diffs = []
    for span_id in sorted(set(src_spans) | set(dst_spans)):
        src, dst = src_spans.get(span_id), dst_spans.get(span_id)
        if src is None or dst is None:
            diffs.append((f"span {span_id}", src and repr(src["name"]), dst and repr(dst["name"])))
            continue
        fields = ["name", "parent_id"] if "summary_only" in src or "summary_only" in dst else sorted(src)
        diffs += [(f"span {span_id} {f}", s, d) for f, s, d in compare.compare_fields(src, dst, fields)]
    return diffs


def object_label(experiment_name, item, id_prefix=""):
    """'<experiment>/<name> (<id>)' of a run, trace (refs) or logged model (dict)."""
    name, obj_id = (item["name"], item["id"]) if isinstance(item, dict) else (item.name, item.id)
    return f"{experiment_name}/{name or '?'} ({id_prefix}{obj_id})"


def compare_experiments(src_exp, dst_exp):
    src_tags, dst_tags = compared_tags(src_exp["tags"]), compared_tags(dst_exp["tags"])
    diffs = compare.compare_fields(src_exp, dst_exp, ["lifecycle_stage"])
    src_desc, dst_desc = src_tags.pop(DESCRIPTION_TAG, None), dst_tags.pop(DESCRIPTION_TAG, None)
    if src_desc != dst_desc:
        diffs.append(("description", repr(src_desc), repr(dst_desc)))
    return diffs + compare.compare_mapping(src_tags, dst_tags, "tag")


def match_runs(src_refs, dst_refs):
    """Runs: by lineage tag, then equal id, then run name and start time."""
    return match_objects(src_refs, dst_refs, lambda r: r.id, lambda r: r.lineage, lambda r: (r.name, r.start_time),
                         "run")


def match_logged_models(src_models, dst_models):
    """Logged models: by lineage tag, then equal id, then name."""
    return match_objects(src_models, dst_models, lambda m: m["id"], lambda m: m["lineage"], lambda m: m["name"],
                         "logged model")


def match_objects(src_items, dst_items, id_of, lineage_of, fallback_of, what):
    """Pair destination objects with source objects: by the lineage tag of an imported object, then by equal
    id (the same server, or an export of it), then by a natural key. Returns
    (pairs, missing source items, [(extra destination item, why)])."""
    src_by_id = {id_of(s): s for s in src_items}
    matched, extras, rest = {}, [], []
    for item in dst_items:
        lineage = lineage_of(item)
        if lineage in src_by_id:
            if lineage in matched:
                extras.append((item, f"a second copy of source {what} {lineage}"))
            else:
                matched[lineage] = item
        elif lineage:
            extras.append((item, f"copied from source {what} {lineage}, which the source does not have"))
        else:
            rest.append(item)
    unmatched = []
    for item in rest:
        if id_of(item) in src_by_id and id_of(item) not in matched:
            matched[id_of(item)] = item
        else:
            unmatched.append(item)
    by_fallback = defaultdict(list)
    for item in src_items:
        if id_of(item) not in matched:
            by_fallback[fallback_of(item)].append(item)
    for item in unmatched:
        candidates = by_fallback.get(fallback_of(item))
        if candidates:
            matched[id_of(candidates.pop(0))] = item
        else:
            extras.append((item, None))
    pairs = [(s, matched[id_of(s)]) for s in src_items if id_of(s) in matched]
    return pairs, [s for s in src_items if id_of(s) not in matched], extras


class ModelVerifier(Verifier):
    """Registered models (matched by name): description, tags, aliases; versions matched by lineage."""

    def run(self, selector):
        names = select_model_names(self.src, selector)
        for name, pair, ex in map_bounded(lambda n: (self.src.model(n), self.dst.model(n)), names, self.workers):
            if ex is not None:
                self.error("registered_models", name, ex)
            elif pair[1] is None:
                self.result.missing("registered_models", name)
                for version in pair[0]["versions"]:
                    self.result.missing("model_versions", f"{name}/v{version}")
            else:
                self._compare_model(name, *pair)
        for name in _dst_extras(selector, self.dst.model_names(), set(names)):
            self.result.extra("registered_models", name)

    def _compare_model(self, name, src_model, dst_model):
        dst_versions = {}
        for version in dst_model["versions"].values():
            key = version_key(version)
            if key in dst_versions or key not in src_model["versions"]:
                self.result.extra("model_versions", f"{name}/v{version['version']}",
                                  f"copy of source version {key}" if key != version["version"] else None)
            else:
                dst_versions[key] = version
        dst_aliases = {alias: version_key(dst_model["versions"][v]) if v in dst_model["versions"] else f"?{v}"
                       for alias, v in dst_model["aliases"].items()}
        diffs = compare.compare_fields(src_model, dst_model, ["description"])
        diffs += compare.compare_mapping(src_model["tags"], dst_model["tags"], "tag")
        diffs += compare.compare_mapping(src_model["aliases"], dst_aliases, "alias")
        self.result.compared("registered_models", name, diffs)
        for number, src_version in sorted(src_model["versions"].items(), key=lambda kv: int(kv[0])):
            dst_version = dst_versions.get(number)
            if dst_version is None:
                self.result.missing("model_versions", f"{name}/v{number}")
            else:
                self.result.compared("model_versions", f"{name}/v{number}", self._compare_version(src_version,
                                                                                                 dst_version))

    def _compare_version(self, src_version, dst_version):
        diffs = compare.compare_fields(src_version, dst_version, ["current_stage", "description", "status"])
        diffs += compare.compare_mapping(compared_tags(src_version["tags"]), compared_tags(dst_version["tags"]),
                                         "tag")
        # the source's own run ids: a source that is itself a copy has lineage tags naming an older server's runs
        src_run = src_version["run_id"] or None
        dst_run = self.dst.run_key(dst_version["run_id"]) if dst_version["run_id"] else None
        if src_run != dst_run:
            diffs.append(("run", repr(src_run), repr(dst_run)))
        return diffs


class PromptVerifier(Verifier):
    """Prompts (matched by name): description and tags; versions by number: template, message, tags, aliases."""

    def run(self, selector):
        names = select_prompt_names(self.src, selector)
        for name, pair, ex in map_bounded(lambda n: (self.src.prompt(n), self.dst.prompt(n)), names, self.workers):
            if ex is not None:
                self.error("prompts", name, ex)
            elif pair[1] is None:
                self.result.missing("prompts", name)
                for version in pair[0]["versions"]:
                    self.result.missing("prompt_versions", f"{name}/v{version}")
            else:
                self._compare_prompt(name, *pair)
        for name in _dst_extras(selector, self.dst.prompt_names(), set(names)):
            self.result.extra("prompts", name)

    def _compare_prompt(self, name, src_prompt, dst_prompt):
        diffs = []
        if src_prompt["tags"] is not None and dst_prompt["tags"] is not None:
            diffs += compare.compare_fields(src_prompt, dst_prompt, ["description"])
            diffs += compare.compare_mapping(src_prompt["tags"], dst_prompt["tags"], "tag")
        self.result.compared("prompts", name, diffs)
        src_versions, dst_versions = src_prompt["versions"], dst_prompt["versions"]
        for number in sorted(set(src_versions) | set(dst_versions), key=int):
            key = f"{name}/v{number}"
            if number not in dst_versions:
                self.result.missing("prompt_versions", key)
            elif number not in src_versions:
                self.result.extra("prompt_versions", key)
            else:
                src_version, dst_version = src_versions[number], dst_versions[number]
                diffs = compare.compare_fields(src_version, dst_version,
                                               ["template", "commit_message", "aliases", "model_config",
                                                "response_format"])
                diffs += compare.compare_mapping(src_version["tags"], dst_version["tags"], "tag")
                self.result.compared("prompt_versions", key, diffs)


class DatasetVerifier(Verifier):
    """Evaluation datasets (matched by name): tags, schema, profile, experiments (by name) and records."""

    def run(self, selector):
        names = select_dataset_names(self.src, selector)
        for name, pair, ex in map_bounded(lambda n: (self.src.dataset(n), self.dst.dataset(n)), names, self.workers):
            if ex is not None:
                self.error("evaluation_datasets", name, ex)
            elif pair[1] is None:
                self.result.missing("evaluation_datasets", name)
            else:
                self.result.compared("evaluation_datasets", name, compare_evaluation_datasets(*pair))
        for name in _dst_extras(selector, self.dst.dataset_names(), set(names)):
            self.result.extra("evaluation_datasets", name)


def compare_evaluation_datasets(src, dst):
    diffs = compare.compare_fields(src, dst, ["schema", "profile", "experiments"])
    diffs += compare.compare_mapping(src["tags"], dst["tags"], "tag")
    if src["records"] != dst["records"]:
        diffs.append(("records", _records(src["records"], dst["records"]), _records(dst["records"], src["records"])))
    return diffs


def _records(records, other):
    only_here = [r for r in records if r not in other]
    return f"{len(records)} records" + (f"; only here: inputs {only_here[0][0]}" if only_here else "")


VERIFIERS = {"experiments": ExperimentVerifier, "models": ModelVerifier, "prompts": PromptVerifier,
             "datasets": DatasetVerifier}


@click.command("verify")
@click.option("--src-uri", type=str, default=None, help="Source tracking server URI.")
@click.option("--src-dir", type=str, default=None, help="Source export directory (instead of --src-uri).")
@click.option("--dst-uri", type=str, default=None, help="Destination tracking server URI.")
@click.option("--dst-dir", type=str, default=None, help="Destination export directory (instead of --dst-uri).")
@click.option("--experiments", type=str, default=None,
              help="Experiments to compare: names or ids (comma separated), 'all', 'prefix*', or a .txt file. "
                   "With no selector (--experiments, --models, --prompts, --evaluation-datasets), everything "
                   "the source has is compared.")
@click.option("--models", type=str, default=None,
              help="Registered models to compare: names (comma separated), 'all', 'prefix*', or a .txt file.")
@click.option("--prompts", type=str, default=None,
              help="Prompts to compare: names (comma separated), 'all', 'prefix*', or a .txt file.")
@click.option("--evaluation-datasets", "datasets", type=str, default=None,
              help="Evaluation datasets to compare: names (comma separated), 'all', 'prefix*', or a .txt file.")
@bool_option("--include-deleted", "Also compare deleted experiments and runs.")
@click.option("--artifact-checksums/--no-artifact-checksums", default=True, show_default=True,
              help="Compare the content (sha256) of every artifact, not only the listing and sizes.")
@opt_workers
@click.option("--json", "json_file", type=str, default=None, help="Write the result as JSON to this file.")
@opt_report
def main(src_uri, src_dir, dst_uri, dst_dir, experiments, models, prompts, datasets, include_deleted,
         artifact_checksums, workers, json_file, report_file):
    """Compare a source and a destination (servers or export directories) object by object.
    Experiments include their runs, logged models and traces; registered models and prompts their versions;
    evaluation datasets their records. Exit code 0 when equal, 1 when anything differs, 2 on bad input."""
    quiet_mlflow()  # verify downloads every artifact to hash it: one MLflow progress bar per file otherwise
    configure_logging()
    ctx = click.get_current_context()
    report = Report("verify", Progress(enabled=False) if ctx.meta.get("quiet") else Progress())
    try:
        result = verify(_client(src_uri), _client(dst_uri), src_dir, dst_dir, experiments, models,
                        include_deleted, artifact_checksums, workers, report, prompts, datasets)
    except (MlflowExportImportException, MlflowException, OSError, ValueError) as ex:
        report.progress.close()
        click.echo(f"Error: {describe_error(ex)}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    report.progress.close()
    click.echo("\n".join(result.lines()))
    for path in {p for p in (json_file, report_file) if p}:
        io_utils.write_file(path, result.to_dict())
    sys.exit(EXIT_EQUAL if result.ok else EXIT_DIFFERENT)


def _client(uri):
    return mk_client(uri) if uri else None


if __name__ == "__main__":
    main()
