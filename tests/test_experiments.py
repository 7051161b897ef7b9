"""export-experiment / import-experiment: round trip into a new name (field by field and with the census),
--run-ids with --check-nested-runs, nested-run links, deleted runs, re-runs, the time window."""
import json
import os

from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.experiment import export_experiment, import_experiment
from tests.workload import T0, assert_same_run, make_experiment, make_run, runs_by_name


def cli(main, args, uri):
    return CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri}, catch_exceptions=False)


def renamed_census(count_tool, uri, renames):
    """Census sections experiments and runs, with experiment names mapped through `renames`."""
    census = count_tool.Census(uri, threads=4, artifact_hash=True).build()

    def new_key(key):
        for old, new in renames.items():
            if key == old or key.startswith(old + "/"):
                return new + key[len(old):]
        return key

    out = {"experiments": {new_key(k): v for k, v in census["experiments"].items()},
           "runs": {}}
    for key, run in census["runs"].items():
        if run.get("parent"):
            run = dict(run, parent=new_key(run["parent"]))
        out["runs"][new_key(key)] = run
    return out


def test_experiment_round_trip_into_new_name_with_census(fresh_pair, count_tool, tmp_path):
    src, dst = fresh_pair
    src_client, dst_client = src.client(), dst.client()
    exp_id, _ = make_experiment(src_client, "single/src", runs=2)
    make_run(src_client, exp_id, "killed", start=T0 + 40_000, status="KILLED")
    make_run(src_client, exp_id, "running", start=T0 + 41_000, status="RUNNING", artifacts=False)
    out = str(tmp_path / "out")

    ok, failed = export_experiment.export_experiment("single/src", out, export_deleted_runs=True, workers=4,
                                                     mlflow_client=src_client)
    assert (ok, failed) == (9, 0)
    run_map = import_experiment.import_experiment("single/dst", out, mlflow_client=dst_client, workers=4)
    assert len(run_map) == 9

    src_census = renamed_census(count_tool, src.uri, {"single/src": "single/dst"})
    dst_census = renamed_census(count_tool, dst.uri, {})
    report = count_tool.diff(src_census, dst_census)
    for section in ("experiments", "runs"):
        sec = report["sections"][section]
        assert (sec["missing_in_dst"], sec["extra_in_dst"], sec["changed"]) == (0, 0, 0), (section, sec)

    dst_exp = dst_client.get_experiment_by_name("single/dst")
    src_runs, dst_runs = runs_by_name(src_client, exp_id), runs_by_name(dst_client, dst_exp.experiment_id)
    assert sorted(src_runs) == sorted(dst_runs)
    for name, src_run in src_runs.items():
        assert_same_run(src_client, src_run, dst_client, dst_runs[name])
        assert run_map[src_run.info.run_id].run_id == dst_runs[name].info.run_id
    assert dst_runs["child"].data.tags["mlflow.parentRunId"] == dst_runs["parent"].info.run_id
    assert dst_runs["grandchild"].data.tags["mlflow.parentRunId"] == dst_runs["child"].info.run_id
    assert dst_runs["deleted0"].info.lifecycle_stage == "deleted"


def test_experiment_round_trip_through_cli(src_server, dst_server, uniq, tmp_path):
    src_client, dst_client = src_server.client(), dst_server.client()
    exp_id, _ = make_experiment(src_client, f"exp-cli-{uniq}", runs=1, failed=1, deleted=1)
    out = str(tmp_path / "out")
    res = cli(export_experiment.main, ["--experiment", f"exp-cli-{uniq}", "--output-dir", out,
                                       "--export-deleted-runs", "True"], src_server.uri)
    assert res.exit_code == 0, res.output
    res = cli(import_experiment.main, ["--experiment-name", f"exp-cli-dst-{uniq}", "--input-dir", out,
                                       "--workers", "2"], dst_server.uri)
    assert res.exit_code == 0, res.output
    assert "6 copied" in res.output
    dst_exp = dst_client.get_experiment_by_name(f"exp-cli-dst-{uniq}")
    assert dst_exp.tags["team"] == "ml" and dst_exp.tags["mlflow.note.content"] == f"About exp-cli-{uniq}"
    src_runs, dst_runs = runs_by_name(src_client, exp_id), runs_by_name(dst_client, dst_exp.experiment_id)
    assert sorted(src_runs) == sorted(dst_runs)
    for name in src_runs:
        assert_same_run(src_client, src_runs[name], dst_client, dst_runs[name])

    # Re-running the import creates nothing new.
    res = cli(import_experiment.main, ["--experiment-name", f"exp-cli-dst-{uniq}", "--input-dir", out],
              dst_server.uri)
    assert res.exit_code == 0, res.output
    assert "0 copied, 6 skipped" in res.output
    assert len(dst_client.search_runs([dst_exp.experiment_id], run_view_type=ViewType.ALL)) == 6


def test_run_ids_with_and_without_nested_runs(src_server, uniq, tmp_path):
    src_client = src_server.client()
    exp_id, _ = make_experiment(src_client, f"nested-{uniq}", runs=1, failed=0, deleted=0)
    runs = runs_by_name(src_client, exp_id)
    parent, child, grandchild = (runs[n].info.run_id for n in ("parent", "child", "grandchild"))

    out = str(tmp_path / "plain")
    res = cli(export_experiment.main, ["--experiment", exp_id, "--output-dir", out, "--run-ids", parent],
              src_server.uri)
    assert res.exit_code == 0, res.output
    assert os.listdir(os.path.join(out, "runs")) == [parent]

    out = str(tmp_path / "nested")
    res = cli(export_experiment.main, ["--experiment", exp_id, "--output-dir", out, "--run-ids", parent,
                                       "--check-nested-runs"], src_server.uri)
    assert res.exit_code == 0, res.output
    assert sorted(os.listdir(os.path.join(out, "runs"))) == sorted([parent, child, grandchild])
    exported = json.load(open(os.path.join(out, "experiment.json")))["mlflow"]["runs"]
    assert sorted(exported) == sorted([parent, child, grandchild])

    out = str(tmp_path / "mid")
    export_experiment.export_experiment(exp_id, out, run_ids=[child], check_nested_runs=True,
                                        mlflow_client=src_client)
    assert sorted(os.listdir(os.path.join(out, "runs"))) == sorted([child, grandchild])


def test_child_without_its_parent_keeps_no_broken_link(src_client, dst_client, uniq, tmp_path):
    exp_id, _ = make_experiment(src_client, f"orphan-{uniq}", runs=0, failed=0, deleted=0)
    runs = runs_by_name(src_client, exp_id)
    out = str(tmp_path / "out")
    export_experiment.export_experiment(exp_id, out, run_ids=[runs["child"].info.run_id], check_nested_runs=True,
                                        mlflow_client=src_client)
    import_experiment.import_experiment(f"orphan-dst-{uniq}", out, mlflow_client=dst_client)
    dst_runs = runs_by_name(dst_client, dst_client.get_experiment_by_name(f"orphan-dst-{uniq}").experiment_id)
    assert sorted(dst_runs) == ["child", "grandchild"]
    child_tags = dst_runs["child"].data.tags
    assert "mlflow.parentRunId" not in child_tags
    assert child_tags[ImportTags.SRC_PARENT_RUN_ID] == runs["parent"].info.run_id
    assert dst_runs["grandchild"].data.tags["mlflow.parentRunId"] == dst_runs["child"].info.run_id
    assert dst_runs["grandchild"].data.tags[ImportTags.SRC_PARENT_RUN_ID] == runs["child"].info.run_id


def test_deleted_runs_only_with_the_option(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"del-{uniq}")
    for i in range(3):
        make_run(src_client, exp_id, f"r{i}", start=T0 + i, artifacts=False)
    src_client.delete_run(runs_by_name(src_client, exp_id)["r1"].info.run_id)
    assert export_experiment.export_experiment(exp_id, str(tmp_path / "a"), mlflow_client=src_client) == (2, 0)
    assert export_experiment.export_experiment(exp_id, str(tmp_path / "b"), export_deleted_runs=True,
                                               mlflow_client=src_client) == (3, 0)
    import_experiment.import_experiment(f"del-dst-{uniq}", str(tmp_path / "b"), mlflow_client=dst_client)
    dst_exp_id = dst_client.get_experiment_by_name(f"del-dst-{uniq}").experiment_id
    assert len(dst_client.search_runs([dst_exp_id])) == 2
    assert len(dst_client.search_runs([dst_exp_id], run_view_type=ViewType.ALL)) == 3
    assert runs_by_name(dst_client, dst_exp_id)["r1"].info.lifecycle_stage == "deleted"


def test_time_window_on_single_experiment(src_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"win1-{uniq}")
    for i in range(3):
        make_run(src_client, exp_id, f"r{i}", start=T0 + i * 60_000, artifacts=False)
    out = str(tmp_path / "out")
    ok, _ = export_experiment.export_experiment(exp_id, out, run_start_time="2023-11-14 22:14:20",
                                                mlflow_client=src_client)
    assert ok == 2  # r1 starts exactly at the bound: included
    ok, _ = export_experiment.export_experiment(exp_id, str(tmp_path / "o2"), runs_until="2023-11-14 22:14:20",
                                                mlflow_client=src_client)
    assert ok == 1  # r1 starts exactly at the bound: excluded
    ids = list(runs_by_name(src_client, exp_id)[n].info.run_id for n in ("r0", "r2"))
    ok, _ = export_experiment.export_experiment(exp_id, str(tmp_path / "o3"), run_ids=ids,
                                                run_start_time="2023-11-14 22:14:20", mlflow_client=src_client)
    assert ok == 1  # the window applies to listed runs too
