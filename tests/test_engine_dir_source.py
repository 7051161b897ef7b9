"""Issue 12, one copy engine: an export directory is a source side of the copy engine (engine/source_dir.py), and
import-experiment runs its runs through it. An exported experiment with nested, failed and deleted runs imports
exactly (verify, from the source server and from the export directory); a second import writes nothing; a run
whose run.json cannot be read fails alone, naming it; a run a --retry-failed list leaves out is neither tried nor
reported, and its children, with no copy of it to link to, fail as they do when it fails."""
import os
import shutil
import time

import pytest
from mlflow import MlflowClient

from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.engine import experiments as engine_experiments
from mlflow_export_import.engine.copy import copy_experiments
from mlflow_export_import.engine.experiments import ExperimentCopier
from mlflow_export_import.engine.runs import RunWriter
from mlflow_export_import.engine.source_dir import DirSource, ExportedRun
from mlflow_export_import.experiment.export_experiment import export_experiment
from mlflow_export_import.experiment.import_experiment import IMPORT_OPTIONS, import_experiment
from mlflow_export_import.experiment.plan import run_dirs_of
from mlflow_export_import.run.import_run import RunImporter
from mlflow_export_import.verify.verify import verify
from tests.test_import_requests import ENDPOINT, CountingProxy
from tests.workload import T0, make_experiment, make_run, runs_by_name

WRITES = ("create", "log-batch", "log-inputs", "update", "delete", "restore", "set-tag", "delete-tag")


@pytest.fixture(scope="module")
def exported(src_server, tmp_path_factory):
    """Plain runs, a parent/child/grandchild chain, a failed run and a deleted run, exported once."""
    client = src_server.client()
    name = f"engine-dir-{os.getpid()}-{int(time.time() * 1000)}"
    exp_id, _ = make_experiment(client, name, runs=2)
    out = str(tmp_path_factory.mktemp("engine-dir") / "exp")
    export_experiment(exp_id, out, export_deleted_runs=True, mlflow_client=client)
    return name, exp_id, out


def _dst_runs(client, name):
    return runs_by_name(client, client.get_experiment_by_name(name).experiment_id)


def test_the_dir_side_lists_parents_first_with_only_what_planning_reads(exported):
    name, _, export_dir = exported
    listed = list(DirSource(run_dirs_of(export_dir, None)).runs())
    assert all(isinstance(r, ExportedRun) and os.path.isdir(os.path.join(r.dir, "artifacts")) for r in listed)
    order = {r.info.run_name: i for i, r in enumerate(listed)}
    assert order["parent"] < order["child"] < order["grandchild"]
    assert {r.info.run_name: r.info.lifecycle_stage for r in listed}["deleted0"] == "deleted"
    run0 = next(r for r in listed if r.info.run_name == "run0")
    # params, tags and metrics stay on disk until the run is copied: a listing holds no more than it plans with
    assert run0.data.params == {} and run0.data.metrics == {} and run0.data.tags == {}
    child = next(r for r in listed if r.info.run_name == "child")
    parent = next(r for r in listed if r.info.run_name == "parent")
    assert child.data.tags == {"mlflow.parentRunId": parent.info.run_id}


def test_export_dir_imports_exactly_and_again_writes_nothing(exported, src_client, dst_server, dst_client,
                                                           tmp_path_factory):
    name, _, export_dir = exported
    report = Report()
    run_infos = import_experiment(name, export_dir, mlflow_client=dst_client, report=report, workers=4)
    assert not report.failures and report.count("runs") == len(run_infos) == 7
    assert verify(src_client, dst_client, experiments=name, include_deleted=True).ok
    assert verify(src_dir=export_dir, dst_client=dst_client, experiments=name, include_deleted=True).ok
    dst = _dst_runs(dst_client, name)
    assert dst["grandchild"].data.tags["mlflow.parentRunId"] == dst["child"].info.run_id
    assert dst["deleted0"].info.lifecycle_stage == "deleted"
    assert {src: info.run_id for src, info in run_infos.items()} == \
        {r.data.tags[ImportTags.SRC_RUN_ID]: r.info.run_id for r in dst.values()}

    proxy = CountingProxy(dst_server.uri, str(tmp_path_factory.mktemp("engine-dir-counts") / "counts.json"))
    try:
        again = Report()
        second = import_experiment(name, export_dir, mlflow_client=MlflowClient(proxy.uri), report=again, workers=4)
        counts = proxy.counts()
    finally:
        proxy.stop()
    assert again.count("runs", "skipped") == 7 and again.count("runs") == 0 and not again.failures
    assert {s["reason"] for s in again.skips if s["type"] == "runs"} == {"already imported"}
    assert {src: info.run_id for src, info in second.items()} == {src: info.run_id for src, info in run_infos.items()}
    assert not [k for k in counts if k.startswith(("PUT", "DELETE")) or k.split("/")[-1] in WRITES], counts
    assert counts[f"POST {ENDPOINT}runs/search"] == 1 and counts[f"GET {ENDPOINT}runs/get"] == 0


def test_unreadable_run_json_fails_that_run_alone(exported, dst_client, tmp_path, uniq):
    name, _, export_dir = exported
    copy = shutil.copytree(export_dir, str(tmp_path / "exp"))
    parent = next(r for r in DirSource(run_dirs_of(copy, None)).runs() if r.info.run_name == "parent")
    with open(os.path.join(parent.dir, "run.json"), "w") as f:
        f.write("{broken")
    report = Report()
    import_experiment(f"{name}-bad-{uniq}", copy, mlflow_client=dst_client, report=report, workers=2)
    assert [(f["id"], "Corrupt export file" in f["reason"]) for f in report.failures] == \
        [(parent.info.run_id, True)]
    dst = _dst_runs(dst_client, f"{name}-bad-{uniq}")
    assert "parent" not in dst and len(dst) == 6
    # the child keeps its parent's id as lineage, and its own child still links to it
    assert "mlflow.parentRunId" not in dst["child"].data.tags
    assert dst["child"].data.tags[ImportTags.SRC_PARENT_RUN_ID] == parent.info.run_id
    assert dst["grandchild"].data.tags["mlflow.parentRunId"] == dst["child"].info.run_id


def test_a_run_left_out_takes_its_children_with_it(exported, dst_client, uniq):
    """wanted (a --retry-failed list) names the child and the grandchild, not their parent, which has no copy:
    the parent is neither tried nor reported; the child fails (no parent copy to link to), so does the
    grandchild."""
    name, _, export_dir = exported
    source = DirSource(run_dirs_of(export_dir, None))
    ids = {r.info.run_name: r.info.run_id for r in source.runs()}
    wanted_ids = {ids["child"], ids["grandchild"], ids["run0"]}
    dst_name = f"{name}-left-out-{uniq}"
    exp_id = dst_client.create_experiment(dst_name)
    report = Report()
    writer = RunWriter(source, dst_client, RunImporter(dst_client, report=report), IMPORT_OPTIONS)
    copier = ExperimentCopier(source, dst_client, writer, IMPORT_OPTIONS, report, _NoIdMap(), workers=2,
                              wanted=lambda kind, run_id: run_id in wanted_ids)
    runs = copier.copy_runs(None, dst_name, exp_id, {})
    assert report.count("runs") == 1 and set(runs.infos) == {ids["run0"]}
    assert {f["id"]: f["reason"] for f in report.failures} == {
        ids["child"]: f"its parent run '{ids['parent']}' was not imported",
        ids["grandchild"]: f"its parent run '{ids['child']}' was not imported"}
    assert list(runs_by_name(dst_client, exp_id)) == ["run0"]


def test_a_child_listed_before_its_parent_with_its_own_child_is_copied_linked(src_client, dst_client, uniq,
                                                                           monkeypatch):
    """A server lists runs newest first: with two runs a page, a child and its grandchild come on the page before
    their parent. The grandchild waits for the child, which waits for the parent (it was failed as if its parent's
    copy had failed, before the waiting list knew waiting parents)."""
    name = f"engine-pages-{uniq}"
    exp_id = src_client.create_experiment(name)
    parent = make_run(src_client, exp_id, "parent", start=T0, artifacts=False)
    child = make_run(src_client, exp_id, "child", start=T0 + 1000, parent_id=parent, artifacts=False)
    make_run(src_client, exp_id, "grandchild", start=T0 + 2000, parent_id=child, artifacts=False)
    monkeypatch.setattr(engine_experiments, "PAGE", 2)
    report = copy_experiments(name, src_client, dst_client, workers=2)
    assert not report.failures and report.count("runs") == 3
    dst = _dst_runs(dst_client, name)
    assert dst["child"].data.tags["mlflow.parentRunId"] == dst["parent"].info.run_id
    assert dst["grandchild"].data.tags["mlflow.parentRunId"] == dst["child"].info.run_id


class _NoIdMap:
    def put(self, *args):
        pass
