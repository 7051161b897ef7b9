"""Issue 5's resume promise on real servers: an import-all killed at any point (SIGKILL, no clean-up), or whose
destination server went down, then run again, leaves a destination equal to the source, with no twin runs or
versions; one more run changes nothing."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk import import_all
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.model.model_utils import SRC_VERSION_TAG
from tests.conftest import TOOLS_DIR, _census
from tests.fault_proxy import FaultProxy
from tests.servers import start_all
from tests.test_models import make_model

# (path of the request at which the import dies, its rank among those requests). import-all works through
# the experiments one at a time (the first one of the export is the deleted one, with two runs), then the models.
KILL_POINTS = {
    "early": ("/api/2.0/mlflow/runs/create", 1),  # the first experiment is created, none of its runs
    "mid-run": ("/api/2.0/mlflow/runs/log-batch", 4),  # the second experiment's runs half-logged
    "mid-artifacts": ("/api/2.0/mlflow-artifacts/artifacts/", 2),  # a run with one artifact of several
    "mid-model": ("/api/2.0/mlflow/model-versions/create", 2),  # a model with version 1 only
    "mid-version": ("/api/2.0/mlflow/model-versions/transition-stage", 1),  # a version without its stage
    "mid-gap": ("/api/2.0/mlflow/model-versions/delete", 1),  # the placeholder for a deleted version left alive
}


# populate.py's tiny preset, smaller: 2 experiments of 3 runs (some nested) and a deleted one of 2 runs, with
# params, metric histories, tags, dataset inputs and artifacts; 2 models of 2 versions with stages and aliases;
# logged models, traces, a prompt and an evaluation dataset.
WORKLOAD = ("--runs-per-experiment", "3", "--nested", "0.5", "--traces", "2", "--prompts", "1")


class KillAt:
    """A FaultProxy answer rule: at the nth request whose path contains `pattern`, SIGKILL the importer (the
    request never reaches the server); every later request is refused."""

    def __init__(self, pattern, nth):
        self.pattern = pattern
        self.nth = nth
        self.seen = 0
        self.proc = None
        self.killed = threading.Event()
        self.lock = threading.Lock()

    def __call__(self, path):
        with self.lock:
            if not self.killed.is_set() and self.pattern in path:
                self.seen += 1
                if self.seen == self.nth:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.killed.set()
            return (503, {}, b"") if self.killed.is_set() else None


class StopServerAt:
    """A FaultProxy answer rule: at the nth request whose path contains `pattern`, stop the destination server
    (the proxy then answers 502, as a gateway in front of a dead server)."""

    def __init__(self, server, pattern, nth):
        self.server = server
        self.pattern = pattern
        self.nth = nth
        self.seen = 0
        self.lock = threading.Lock()

    def __call__(self, path):
        with self.lock:
            if self.pattern in path:
                self.seen += 1
                if self.seen == self.nth:
                    # the earlier ones may still be in flight (runs are written in parallel): let them land, so
                    # that the server stops after n - 1 of them, not at a moment that depends on the machine's load
                    time.sleep(1.0)
                    self.server.stop()
        return None


class Servers:
    """The populated source, its export, and one destination server emptied for each test."""

    def __init__(self, src, dst, export_dir, template_db, src_census):
        self.src = src
        self.dst = dst
        self.export_dir = export_dir
        self.template_db = template_db
        self.src_census = src_census
        self.dst_used = False

    def empty_destination(self):
        if self.dst_used:
            self.dst.wipe()
            start_all([self.dst], template_db=self.template_db)
        self.dst_used = True
        return self.dst


@pytest.fixture(scope="module")
def servers(server_pool, servers_dir, tmp_path_factory, count_tool):
    src, dst = server_pool()
    made = subprocess.run([sys.executable, os.path.join(TOOLS_DIR, "populate.py"), "--tracking-uri", src.uri,
                           "--preset", "tiny", *WORKLOAD, "--threads", "2"], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr[-3000:]
    created = json.loads(made.stdout)["created"]
    assert all(created[kind] > 1 for kind in ("runs", "nested_runs", "deleted_runs", "metric_points",
                                              "artifact_files", "model_versions", "model_aliases")), created
    make_model(src.client(), "gappy", "exp-gappy")
    export_dir = str(tmp_path_factory.mktemp("resume") / "export")
    res = subprocess.run([sys.executable, "-m", "mlflow_export_import.bulk.export_all", "--output-dir", export_dir,
                          "--export-deleted-runs", "--workers", "4"], env=_env(src.uri), capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    yield Servers(src, dst, export_dir, os.path.join(servers_dir, "template.db"),
                  _fidelity_census(count_tool, src.uri))
    src.kill()
    dst.kill()


def _env(tracking_uri, **extra):
    return dict(os.environ, MLFLOW_TRACKING_URI=tracking_uri, **extra)


def _import_command(export_dir, *options):
    return [sys.executable, "-m", "mlflow_export_import.bulk.import_all", "--input-dir", export_dir, *options]


def _import(export_dir, tracking_uri, *options):
    """A re-run, in this process: the same command, without the start-up of a new Python."""
    return CliRunner().invoke(import_all.main, ["--input-dir", export_dir, *options],
                              env={"MLFLOW_TRACKING_URI": tracking_uri})


def _killed_import(export_dir, dst_uri, pattern, nth):
    rule = KillAt(pattern, nth)
    with FaultProxy(dst_uri, answer=rule) as proxy:
        rule.proc = subprocess.Popen(_import_command(export_dir), env=_env(proxy.uri), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        rule.proc.wait(timeout=300)
    return rule


@pytest.mark.parametrize("kill_point", list(KILL_POINTS))
def test_import_killed_then_rerun_is_exact(servers, count_tool, kill_point, tmp_path):
    dst = servers.empty_destination()
    rule = _killed_import(servers.export_dir, dst.uri, *KILL_POINTS[kill_point])
    assert rule.killed.is_set() and rule.proc.returncode == -signal.SIGKILL
    assert HALF_DONE[kill_point](dst.client()), f"nothing half-done at the kill point {kill_point}"

    _assert_rerun_completes_exactly(servers, count_tool, tmp_path)


def test_destination_down_during_import_then_rerun_is_exact(servers, count_tool, tmp_path):
    dst = servers.empty_destination()
    report_file = str(tmp_path / "interrupted.json")
    with FaultProxy(dst.uri, answer=StopServerAt(dst, "/api/2.0/mlflow/runs/create", 4)) as proxy:
        res = subprocess.run(_import_command(servers.export_dir, "--report", report_file),
                             env=_env(proxy.uri, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0"), capture_output=True,
                             text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    failures = json.load(open(report_file))["failures"]
    assert failures and all(f["reason"] and "\n" not in f["reason"] for f in failures)
    assert any("502" in f["reason"] for f in failures), failures
    # each object's failure is in the summary; a whole-command failure is said once, on the Error: line
    assert all(f"FAILED {f['type']} {f['id']}" in res.stdout for f in failures if f["type"] != "command")
    assert all(f"Error: {f['reason']}" in res.stdout + res.stderr for f in failures if f["type"] == "command")

    dst.restart()
    assert len(_imported_runs(dst.client())) >= 3, "the server went down before any run was written"
    _assert_rerun_completes_exactly(servers, count_tool, tmp_path)


def _assert_rerun_completes_exactly(servers, count_tool, tmp_path):
    """The re-run gives a destination equal to the source without twins; one more run changes nothing."""
    dst = servers.dst
    res = _import(servers.export_dir, dst.uri)
    assert res.exit_code == 0, res.output
    completed = _fidelity_census(count_tool, dst.uri)
    assert _differences(count_tool, servers.src_census, completed) == {}
    _assert_no_twins_and_all_done(dst.client())

    report_file = str(tmp_path / "rerun.json")
    res = _import(servers.export_dir, dst.uri, "--report", report_file)
    assert res.exit_code == 0, res.output
    assert _fidelity_census(count_tool, dst.uri) == completed
    report = json.load(open(report_file))
    assert report["ok"] and not report["failures"]
    assert {kind: c["copied"] for kind, c in report["counts"].items() if c["copied"]} == {}
    assert all(c["failed"] == 0 for c in report["counts"].values())
    assert report["counts"]["runs"]["skipped"] > 0 and report["counts"]["model_versions"]["skipped"] > 0


def _fidelity_census(count_tool, uri):
    census = _census(count_tool, uri, artifact_hash=True)
    return {k: v for k, v in census.items() if k != "meta"}


def _differences(count_tool, src_census, dst_census):
    """As conftest's census_diff, with the source's census made once for the module."""
    sections = count_tool.diff(src_census, dst_census)["sections"]
    return {name: {k: sec[k] for k in ("missing_examples", "extra_examples", "changed_examples")}
            for name, sec in sections.items() if sec["missing_in_dst"] or sec["extra_in_dst"] or sec["changed"]}


def _assert_no_twins_and_all_done(client):
    runs = _imported_runs(client)
    twins = [k for k, n in Counter(r.data.tags[ImportTags.SRC_RUN_ID] for r in runs).items() if n > 1]
    assert not twins, f"source runs imported twice: {twins}"
    assert all(r.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE for r in runs)
    for model in client.search_registered_models():
        keys = [v.tags.get(SRC_VERSION_TAG) for v in client.search_model_versions(f"name='{model.name}'")]
        assert len(keys) == len(set(keys)), f"versions of '{model.name}' imported twice: {keys}"


def _imported_runs(client):
    experiment_ids = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    return [r for r in client.search_runs(experiment_ids, run_view_type=ViewType.ALL, max_results=1000)
            if ImportTags.SRC_RUN_ID in r.data.tags]


def _experiment_without_runs(client):
    experiments = [e for e in client.search_experiments(view_type=ViewType.ALL) if e.name != "Default"]
    return experiments and not client.search_runs([e.experiment_id for e in experiments],
                                                  run_view_type=ViewType.ALL)


def _half_done_run(client):
    return any(r.data.tags.get(ImportTags.STATE) == ImportTags.STATE_STARTED for r in _imported_runs(client))


def _half_done_run_with_some_artifacts(client):
    return any(r.data.tags.get(ImportTags.STATE) == ImportTags.STATE_STARTED
               and client.list_artifacts(r.info.run_id) for r in _imported_runs(client))


def _model_missing_versions(client):
    return any(len(client.search_model_versions(f"name='{m.name}'")) == 1 for m in client.search_registered_models())


def _version_without_stage(client):
    versions = [v for m in client.search_registered_models()
                for v in client.search_model_versions(f"name='{m.name}'")]
    return versions and all(v.current_stage == "None" for v in versions)


def _untagged_version(client):
    return any(SRC_VERSION_TAG not in v.tags for m in client.search_registered_models()
               for v in client.search_model_versions(f"name='{m.name}'"))


HALF_DONE = {
    "early": _experiment_without_runs,
    "mid-run": _half_done_run,
    "mid-artifacts": _half_done_run_with_some_artifacts,
    "mid-model": _model_missing_versions,
    "mid-version": _version_without_stage,
    "mid-gap": _untagged_version,
}
