"""export-experiments / import-experiments: whole-server round trips (field by field and with the census),
every selector, time windows, renames, re-runs, deleted experiments and the export directory format."""
import json
import os

from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk import export_experiments, import_experiments
from mlflow_export_import.bulk.bulk_utils import get_experiment_ids
from mlflow_export_import.common.source_tags import ImportTags
from tests.workload import T0, assert_same_run, make_experiment, make_run, runs_by_name

SECTIONS = ("experiments", "runs")


def cli(main, args, uri):
    return CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri}, catch_exceptions=False)


def make_workload(client, prefix):
    """Several experiments: nested (3 levels), deleted, failed, killed, running and multi-step runs, dataset
    inputs, artifact trees; plus a deleted experiment. Returns {experiment name: [run ids]}."""
    exp_a, runs_a = make_experiment(client, f"{prefix}a", runs=2)
    runs_a.append(make_run(client, exp_a, "killed", start=T0 + 40_000, status="KILLED", user="bob"))
    runs_a.append(make_run(client, exp_a, "running", start=T0 + 41_000, status="RUNNING", artifacts=False))
    exp_b, runs_b = make_experiment(client, f"{prefix}b", runs=1, nested=False, deleted=0, failed=0)
    exp_c = client.create_experiment(f"{prefix}deleted", tags={"gone": "yes"})
    runs_c = [make_run(client, exp_c, "in-deleted-exp", artifacts=False)]
    client.delete_experiment(exp_c)
    return {f"{prefix}a": runs_a, f"{prefix}b": runs_b, f"{prefix}deleted": runs_c}


def experiment_sections(diff):
    return {k: v for k, v in diff.items() if k in SECTIONS}


def assert_experiment_copied(src_client, dst_client, src_name, dst_name):
    src_exp, dst_exp = src_client.get_experiment_by_name(src_name), dst_client.get_experiment_by_name(dst_name)
    assert dst_exp is not None, dst_name
    assert dst_exp.lifecycle_stage == src_exp.lifecycle_stage
    assert {k: v for k, v in dst_exp.tags.items() if not k.startswith("mlflow_exim.")} == src_exp.tags
    src_runs = runs_by_name(src_client, src_exp.experiment_id)
    dst_runs = runs_by_name(dst_client, dst_exp.experiment_id)
    assert sorted(src_runs) == sorted(dst_runs)
    for name, src_run in src_runs.items():
        assert_same_run(src_client, src_run, dst_client, dst_runs[name])
    return src_runs, dst_runs


def assert_parents_mapped(src_runs, dst_runs):
    src_name_by_id = {r.info.run_id: n for n, r in src_runs.items()}
    dst_name_by_id = {r.info.run_id: n for n, r in dst_runs.items()}
    nested = 0
    for name, src_run in src_runs.items():
        src_parent = src_run.data.tags.get("mlflow.parentRunId")
        dst_parent = dst_runs[name].data.tags.get("mlflow.parentRunId")
        if src_parent:
            nested += 1
            assert dst_name_by_id.get(dst_parent) == src_name_by_id[src_parent], name
        else:
            assert dst_parent is None
    return nested


def test_workload_round_trips_through_cli_with_census(fresh_pair, census_diff, tmp_path):
    src, dst = fresh_pair
    src_client, dst_client = src.client(), dst.client()
    workload = make_workload(src_client, "wl/")
    out = str(tmp_path / "out")

    res = cli(export_experiments.main, ["--experiments", "all", "--output-dir", out, "--export-deleted-runs",
                                        "--workers", "3"], src.uri)
    assert res.exit_code == 0, res.output
    res = cli(import_experiments.main, ["--input-dir", out, "--workers", "3"], dst.uri)
    assert res.exit_code == 0, res.output
    assert "FAILED" not in res.output

    assert experiment_sections(census_diff(src.uri, dst.uri)) == {}
    for name in workload:
        src_runs, dst_runs = assert_experiment_copied(src_client, dst_client, name, name)
        if name == "wl/a":
            assert assert_parents_mapped(src_runs, dst_runs) == 2
            assert dst_runs["deleted0"].info.lifecycle_stage == "deleted"
            assert dst_runs["running"].info.status == "RUNNING" and dst_runs["running"].info.end_time is None
            assert dst_runs["killed"].info.status == "KILLED"
    assert dst_client.get_experiment_by_name("wl/deleted").lifecycle_stage == "deleted"

    # A second import into the same destination skips what is there: no duplicate runs.
    res = cli(import_experiments.main, ["--input-dir", out], dst.uri)
    assert res.exit_code == 0, res.output
    assert "skipped" in res.output
    assert experiment_sections(census_diff(src.uri, dst.uri, artifact_hash=False)) == {}


def test_workload_round_trips_through_api_without_deleted_runs(fresh_pair, census_diff, tmp_path):
    src, dst = fresh_pair
    src_client, dst_client = src.client(), dst.client()
    make_workload(src_client, "api/")
    out = str(tmp_path / "out")

    info = export_experiments.export_experiments("all", out, mlflow_client=src_client)
    # Without deleted runs, 'all' is the active experiments only, and their active runs.
    assert sorted(info["experiment_names"]) == ["Default", "api/a", "api/b"]
    assert info["status"]["failed_runs"] == 0
    results = import_experiments.import_experiments(out, mlflow_client=dst_client)
    assert all(run_info_map is not None for _, run_info_map in results)

    diff = experiment_sections(census_diff(src.uri, dst.uri, artifact_hash=False))
    assert diff["experiments"]["missing_examples"] == ["api/deleted"] and not diff["experiments"]["changed_fields"]
    assert diff["runs"]["src"] - diff["runs"]["dst"] == 2
    assert not diff["runs"]["changed_fields"] and not diff["runs"]["extra_examples"]
    assert sorted(diff["runs"]["missing_examples"]) == ["api/a/deleted0", "api/deleted/in-deleted-exp"]
    src_exp = src_client.get_experiment_by_name("api/a")
    dst_exp = dst_client.get_experiment_by_name("api/a")
    src_runs = {n: r for n, r in runs_by_name(src_client, src_exp.experiment_id).items() if n != "deleted0"}
    dst_runs = runs_by_name(dst_client, dst_exp.experiment_id)
    assert sorted(src_runs) == sorted(dst_runs)
    assert assert_parents_mapped(src_runs, dst_runs) == 2
    # The API returns {source run id: destination RunInfo}
    run_map = dict(results)[src_exp.experiment_id]
    assert {k: v.run_id for k, v in run_map.items()} == {r.info.run_id: dst_runs[n].info.run_id
                                                        for n, r in src_runs.items()}


def _export_names(src_client, selector, out, **kwargs):
    info = export_experiments.export_experiments(selector, out, mlflow_client=src_client, **kwargs)
    listed = json.load(open(os.path.join(out, "experiments.json")))["mlflow"]["experiments"]
    assert sorted(e["name"] for e in listed) == sorted(info["experiment_names"])
    return sorted(info["experiment_names"])


def _small_experiments(client, uniq, n=3):
    ids = {}
    for letter in "abc"[:n]:
        name = f"sel-{uniq}-{letter}"
        ids[name] = client.create_experiment(name)
        make_run(client, ids[name], "r", params=1, metrics=1, steps=1, tags=1, artifacts=False)
    return ids


def test_selectors(src_client, uniq, tmp_path):
    ids = _small_experiments(src_client, uniq)
    a, b, c = sorted(ids)
    assert _export_names(src_client, f"{a},{b}", str(tmp_path / "names")) == [a, b]
    assert _export_names(src_client, f"{ids[a]}, {ids[c]}", str(tmp_path / "ids")) == [a, c]
    assert _export_names(src_client, f"{a},{ids[c]}", str(tmp_path / "mixed")) == [a, c]
    assert _export_names(src_client, [ids[b]], str(tmp_path / "list")) == [b]
    assert _export_names(src_client, f"sel-{uniq}-*", str(tmp_path / "prefix")) == [a, b, c]
    txt = tmp_path / "exps.txt"
    txt.write_text(f"{b}\n{ids[c]}\n")
    assert _export_names(src_client, str(txt), str(tmp_path / "txt")) == [b, c]
    # 'all' on this shared server (other tests' big runs): resolve only; whole exports of 'all' run on fresh servers
    assert set(get_experiment_ids(src_client, "all")) >= set(ids.values())


def test_selector_dict_exports_only_the_listed_runs(src_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"dict-{uniq}")
    run_ids = [make_run(src_client, exp_id, f"r{i}", start=T0 + i, artifacts=False) for i in range(3)]
    out = str(tmp_path / "out")
    info = export_experiments.export_experiments({exp_id: run_ids[:2]}, out, mlflow_client=src_client)
    assert info["status"]["ok_runs"] == 2
    assert sorted(os.listdir(os.path.join(out, exp_id, "runs"))) == sorted(run_ids[:2])


def test_selectors_through_cli_and_tags_and_description(src_server, dst_server, uniq, tmp_path):
    src_client, dst_client = src_server.client(), dst_server.client()
    ids = _small_experiments(src_client, uniq, n=2)
    a, b = sorted(ids)
    src_client.set_experiment_tag(ids[a], "mlflow.note.content", "The description")
    src_client.set_experiment_tag(ids[a], "team", "blue")
    txt = tmp_path / "exps.txt"
    txt.write_text(f"{a}\n")
    out = str(tmp_path / "out")
    res = cli(export_experiments.main, ["--experiments", str(txt), "--output-dir", out], src_server.uri)
    assert res.exit_code == 0, res.output
    renames = tmp_path / "renames.csv"
    renames.write_text(f"sel-{uniq},renamed-{uniq}\n")
    res = cli(import_experiments.main, ["--input-dir", out, "--experiment-rename-file", str(renames)],
              dst_server.uri)
    assert res.exit_code == 0, res.output
    assert dst_client.get_experiment_by_name(a) is None
    dst_exp = dst_client.get_experiment_by_name(a.replace(f"sel-{uniq}", f"renamed-{uniq}"))
    assert dst_exp.tags["mlflow.note.content"] == "The description" and dst_exp.tags["team"] == "blue"
    assert dst_client.get_experiment_by_name(b) is None
    assert_experiment_copied(src_client, dst_client, a, dst_exp.name)


def test_time_window_start_inclusive_until_exclusive(src_server, uniq, tmp_path):
    src_client = src_server.client()
    exp_id = src_client.create_experiment(f"window-{uniq}")
    for i in range(4):  # starts at T0, T0+60s, T0+120s, T0+180s
        make_run(src_client, exp_id, f"r{i}", start=T0 + i * 60_000, artifacts=False)
    out = str(tmp_path / "out")
    res = cli(export_experiments.main, ["--experiments", f"window-{uniq}", "--output-dir", out,
                                        "--run-start-time", "2023-11-14 22:14:20",  # = T0 + 60 s, UTC
                                        "--runs-until", "2023-11-14 22:16:20"], src_server.uri)  # = T0 + 180 s
    assert res.exit_code == 0, res.output
    exported = os.listdir(os.path.join(out, exp_id, "runs"))
    names = sorted(json.load(open(os.path.join(out, exp_id, "runs", r, "run.json")))["mlflow"]["info"]["run_name"]
                   for r in exported)
    assert names == ["r1", "r2"]
    info = export_experiments.export_experiments(f"window-{uniq}", str(tmp_path / "before"), runs_until="2020-01-01",
                                                 mlflow_client=src_client)
    assert info["status"]["total_runs"] == 0 and info["experiment_names"] == [f"window-{uniq}"]


def test_deleted_experiment_only_with_deleted_runs(src_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"delexp-{uniq}")
    make_run(src_client, exp_id, "r", artifacts=False)
    src_client.delete_experiment(exp_id)
    assert exp_id not in get_experiment_ids(src_client, "all")
    assert exp_id in get_experiment_ids(src_client, "all", include_deleted=True)
    assert _export_names(src_client, f"delexp-{uniq}*", str(tmp_path / "active")) == []
    assert _export_names(src_client, f"delexp-{uniq}*", str(tmp_path / "prefix"),
                         export_deleted_runs=True) == [f"delexp-{uniq}"]


def test_source_tags_and_importing_user(src_server, dst_server, uniq, tmp_path):
    src_client, dst_client = src_server.client(), dst_server.client()
    exp_id = src_client.create_experiment(f"srctags-{uniq}", tags={"team": "red"})
    run_id = make_run(src_client, exp_id, "r", user="carol", artifacts=False)
    out = str(tmp_path / "out")
    assert cli(export_experiments.main, ["--experiments", exp_id, "--output-dir", out], src_server.uri).exit_code == 0
    renames = tmp_path / "renames.csv"
    renames.write_text(f"srctags-{uniq},srctags-dst-{uniq}\n")
    res = cli(import_experiments.main, ["--input-dir", out, "--import-source-tags", "True",
                                        "--use-src-user-id", "False", "--experiment-rename-file", str(renames)],
              dst_server.uri)
    assert res.exit_code == 0, res.output
    dst_exp = dst_client.get_experiment_by_name(f"srctags-dst-{uniq}")
    assert dst_exp.tags["team"] == "red"
    assert dst_exp.tags["mlflow_exim.field.name"] == f"srctags-{uniq}"
    assert dst_exp.tags["mlflow_exim.field.experiment_id"] == exp_id
    assert dst_exp.tags["mlflow_exim.field.lifecycle_stage"] == "active"
    assert dst_exp.tags["mlflow_exim.field.creation_time"].isdigit()
    assert len(dst_exp.tags["mlflow_exim.field._creation_time"]) == len("2024-01-01 00:00:00")
    [dst_run] = dst_client.search_runs([dst_exp.experiment_id])
    tags = dst_run.data.tags
    assert tags["mlflow_exim.run_info.run_id"] == run_id
    assert tags["mlflow_exim.run_info.experiment_id"] == exp_id
    assert tags["mlflow_exim.run_info.user_id"] == "carol"
    assert tags["mlflow_exim.run_info.start_time"] == str(T0)
    assert tags["mlflow_exim.run_info._start_time"] == "2023-11-14 22:13:20"
    assert tags["mlflow_exim.mlflow_tag.user"] == "carol"
    assert tags["mlflow_exim.mlflow_tag.runName"] == "r"
    assert tags[ImportTags.SRC_RUN_ID] == run_id
    # --use-src-user-id False: the importing user owns the run
    from mlflow_export_import.common.utils import get_user
    assert dst_run.info.user_id == get_user() != "carol"
    assert tags["mlflow.user"] == get_user()


def test_export_directory_and_json_format(src_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"format-{uniq}", tags={"k": "v"})
    run_id = make_run(src_client, exp_id, "r", dataset="iris")
    out = str(tmp_path / "out")
    export_experiments.export_experiments([exp_id], out, mlflow_client=src_client)

    assert sorted(os.listdir(out)) == sorted(["experiments.json", exp_id])
    exps = json.load(open(os.path.join(out, "experiments.json")))
    assert list(exps) == ["system", "info", "mlflow"]
    assert {"package_version", "script", "export_file_version", "export_time", "_export_time", "mlflow_version",
            "mlflow_tracking_uri", "platform", "user"} <= set(exps["system"])
    assert exps["system"]["script"] == "export_experiments.py"
    assert {"experiment_names", "options", "status"} <= set(exps["info"])
    assert set(exps["info"]["options"]) >= {"experiments", "output_dir", "export_permissions", "run_start_time",
                                            "runs_until", "export_deleted_runs", "notebook_formats", "use_threads"}
    assert set(exps["info"]["status"]) >= {"duration", "experiments", "total_runs", "ok_runs", "failed_runs"}
    [entry] = exps["mlflow"]["experiments"]
    assert set(entry) >= {"id", "name", "ok_runs", "failed_runs", "duration"}
    assert entry["id"] == exp_id and entry["name"] == f"format-{uniq}"

    exp_dir = os.path.join(out, exp_id)
    assert {"experiment.json", "runs"} <= set(os.listdir(exp_dir))
    exp = json.load(open(os.path.join(exp_dir, "experiment.json")))
    assert list(exp) == ["system", "info", "mlflow"]
    assert set(exp["info"]) >= {"num_total_runs", "num_ok_runs", "num_failed_runs", "failed_runs"}
    assert exp["mlflow"]["runs"] == [run_id]
    e = exp["mlflow"]["experiment"]
    assert set(e) >= {"experiment_id", "name", "artifact_location", "lifecycle_stage", "tags", "creation_time",
                      "last_update_time", "_creation_time", "_last_update_time"}
    assert e["tags"] == {"k": "v"}

    run_dir = os.path.join(exp_dir, "runs", run_id)
    assert sorted(os.listdir(run_dir)) == ["artifacts", "run.json"]
    assert sorted(os.listdir(os.path.join(run_dir, "artifacts"))) == ["a.txt", "model", "sub"]
    assert os.path.getsize(os.path.join(run_dir, "artifacts", "sub", "deeper", "b.bin")) == 2048
    run = json.load(open(os.path.join(run_dir, "run.json")))
    assert list(run) == ["system", "mlflow"]
    m = run["mlflow"]
    assert set(m) >= {"info", "params", "metrics", "tags", "inputs"}
    assert set(m["info"]) >= {"run_id", "experiment_id", "user_id", "status", "start_time", "end_time",
                              "lifecycle_stage", "artifact_uri", "run_name", "_start_time", "_end_time"}
    assert m["info"]["start_time"] == T0 and m["info"]["_start_time"] == "2023-11-14 22:13:20"
    assert list(m["tags"]) == sorted(m["tags"])
    assert m["params"] == {"p0": "value-0", "p1": "value-1", "p2": "value-2"}
    assert len(m["metrics"]["m0"]) == 5
    assert {"value", "timestamp", "step"} <= set(m["metrics"]["m0"][0]) and "key" not in m["metrics"]["m0"][0]
    [di] = m["inputs"]["dataset_inputs"]
    assert set(di["dataset"]) == {"name", "digest", "source_type", "source", "schema", "profile"}
    assert di["tags"] == [{"key": "mlflow.data.context", "value": "training"}]
    assert "model_inputs" in m["inputs"] and "model_outputs" in m["outputs"]


def test_reimport_finishes_a_half_imported_run_and_duplicates_nothing(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"rerun-{uniq}")
    for i in range(3):
        make_run(src_client, exp_id, f"r{i}", start=T0 + i, artifacts=False)
    out = str(tmp_path / "out")
    export_experiments.export_experiments([exp_id], out, mlflow_client=src_client)
    import_experiments.import_experiments(out, mlflow_client=dst_client)
    dst_exp = dst_client.get_experiment_by_name(f"rerun-{uniq}")
    runs = dst_client.search_runs([dst_exp.experiment_id], run_view_type=ViewType.ALL)
    # Simulate an import that died half-way through one run.
    dst_client.set_tag(runs[0].info.run_id, ImportTags.STATE, ImportTags.STATE_STARTED)
    import_experiments.import_experiments(out, mlflow_client=dst_client)
    after = dst_client.search_runs([dst_exp.experiment_id], run_view_type=ViewType.ALL)
    assert len(after) == 3
    assert all(r.data.tags[ImportTags.STATE] == ImportTags.STATE_DONE for r in after)
    src_runs, dst_runs = runs_by_name(src_client, exp_id), runs_by_name(dst_client, dst_exp.experiment_id)
    for name in src_runs:
        assert_same_run(src_client, src_runs[name], dst_client, dst_runs[name])
