"""`verify` on real servers: a copy made with the project's own export/import verifies equal; differences
planted in the destination are each named; an export directory verifies against a server."""
import json
import os
import shutil

import pytest
from click.testing import CliRunner

from mlflow_export_import.bulk.export_experiments import export_experiments
from mlflow_export_import.bulk.import_experiments import import_experiments
from mlflow_export_import.model.export_model import export_model
from mlflow_export_import.model.import_model import import_model
from mlflow_export_import.run.import_run import RunImporter, read_run
from mlflow_export_import.verify.sides import ServerSide
from mlflow_export_import.verify.verify import main, verify
from tests.workload import T0, make_experiment, make_run, runs_by_name



def copy_experiment(src_client, dst_client, name, export_dir):
    export_experiments(name, export_dir, mlflow_client=src_client, workers=4)
    import_experiments(export_dir, mlflow_client=dst_client, workers=4)


@pytest.fixture
def copied(src_client, dst_client, uniq, tmp_path):
    """A small experiment (plain, nested, failed, deleted runs; artifacts; datasets) copied src -> dst."""
    name = f"verify-{uniq}"
    make_experiment(src_client, name, runs=2)
    export_dir = str(tmp_path / "export")
    copy_experiment(src_client, dst_client, name, export_dir)
    return name, export_dir


def dst_runs(dst_client, name):
    return runs_by_name(dst_client, dst_client.get_experiment_by_name(name).experiment_id)


def run_dir(export_dir, src_client, name, run_name):
    exp_id = src_client.get_experiment_by_name(name).experiment_id
    run_id = runs_by_name(src_client, exp_id)[run_name].info.run_id
    return os.path.join(export_dir, exp_id, "runs", run_id)


def reimport_edited(dst_client, name, run_dir_path, tmp_path, edit):
    """Replace the destination copy of a run by one imported from an edited copy of its export: the way to
    plant a difference MLflow does not let us write in place (params, removed metric points)."""
    edited = str(tmp_path / ("edited-" + os.path.basename(run_dir_path)))
    shutil.copytree(run_dir_path, edited)
    path = os.path.join(edited, "run.json")
    with open(path) as f:
        content = json.load(f)
    edit(content["mlflow"])
    with open(path, "w") as f:
        json.dump(content, f)
    run_dct = read_run(edited)
    old = dst_runs(dst_client, name)[run_dct["info"]["run_name"]]
    exp_id = old.info.experiment_id
    dst_client.delete_run(old.info.run_id)
    RunImporter(dst_client).import_run(exp_id, edited, run_dct)


def entries(result, status=None):
    return [d for d in result.to_dict()["differences"] if status is None or d["status"] == status]


def test_copy_verifies_equal(src_client, dst_client, copied):
    name, _ = copied
    result = verify(src_client, dst_client, experiments=name, workers=4)
    assert result.ok, result.lines()
    counts = result.to_dict()["counts"]
    assert counts["experiments"]["equal"] == 1
    assert counts["runs"]["equal"] == 6  # deleted runs are left out unless include_deleted
    assert result.lines()[-1] == "Result: EQUAL"


def test_copy_verifies_equal_with_deleted_runs(src_client, dst_client, uniq, tmp_path):
    name = f"verify-del-{uniq}"
    make_experiment(src_client, name, runs=1, nested=False)
    export_dir = str(tmp_path / "export")
    export_experiments(name, export_dir, export_deleted_runs=True, mlflow_client=src_client)
    import_experiments(export_dir, mlflow_client=dst_client)
    result = verify(src_client, dst_client, experiments=name, include_deleted=True)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["runs"]["equal"] == 3


def test_planted_differences_are_each_named(src_client, dst_client, dst_server, copied, tmp_path):
    name, export_dir = copied
    runs = dst_runs(dst_client, name)
    # a changed tag
    dst_client.set_tag(runs["run0"].info.run_id, "t0", "changed")
    # an extra metric point
    dst_client.log_metric(runs["grandchild"].info.run_id, "m0", 99.0, timestamp=T0, step=42)
    # a removed artifact: delete the file in the destination server's artifact store
    child = runs["child"]
    store = os.path.join(dst_server.dir, "artifacts", child.info.experiment_id, child.info.run_id, "artifacts")
    os.remove(os.path.join(store, "sub", "deeper", "b.bin"))
    # an artifact whose content changed but not its size
    with open(os.path.join(store, "a.txt"), "r+") as f:
        text = f.read()
        f.seek(0)
        f.write(text.upper())
    # a missing run
    dst_client.delete_run(runs["failed0"].info.run_id)
    # a changed param, and a missing metric point
    reimport_edited(dst_client, name, run_dir(export_dir, src_client, name, "run1"), tmp_path,
                    lambda r: r["params"].update({"p1": "other"}))
    reimport_edited(dst_client, name, run_dir(export_dir, src_client, name, "parent"), tmp_path,
                    lambda r: r["metrics"]["m1"].pop(2))

    result = verify(src_client, dst_client, experiments=name, workers=4)

    assert not result.ok
    found = {(d["key"].split(" (")[0], d.get("field")): d for d in entries(result)}
    assert found[(f"{name}/run0", "tag 't0'")]["src"] == "'tag-0'"
    assert found[(f"{name}/run0", "tag 't0'")]["dst"] == "'changed'"
    assert "step 42 value 99.0" in found[(f"{name}/grandchild", "metric 'm0'")]["dst"]
    assert found[(f"{name}/child", "artifact 'sub/deeper/b.bin'")]["dst"] is None
    assert found[(f"{name}/child", "artifact 'a.txt'")]["src"].startswith("sha256 ")
    assert found[(f"{name}/failed0", None)]["status"] == "missing"
    assert (found[(f"{name}/run1", "param 'p1'")]["src"], found[(f"{name}/run1", "param 'p1'")]["dst"]) == \
        ("'value-1'", "'other'")
    parent = found[(f"{name}/parent", "metric 'm1'")]
    assert parent["src"].startswith("5 points; only here: step 2") and parent["dst"] == "4 points"
    assert len(entries(result)) == 7, result.lines()
    counts = result.to_dict()["counts"]["runs"]
    assert counts == {"equal": 0, "different": 5, "missing": 1, "extra": 0, "error": 0}


def test_no_artifact_checksums_compares_listing_and_sizes_only(src_client, dst_client, dst_server, copied):
    name, _ = copied
    run = dst_runs(dst_client, name)["run0"]
    store = os.path.join(dst_server.dir, "artifacts", run.info.experiment_id, run.info.run_id, "artifacts")
    with open(os.path.join(store, "a.txt"), "r+") as f:
        f.write("X")
    assert verify(src_client, dst_client, experiments=name, artifact_checksums=False).ok
    result = verify(src_client, dst_client, experiments=name)
    assert [d["field"] for d in entries(result)] == ["artifact 'a.txt'"]


def test_parent_link_compared_through_lineage(src_client, dst_client, copied):
    name, _ = copied
    runs = dst_runs(dst_client, name)
    dst_client.set_tag(runs["grandchild"].info.run_id, "mlflow.parentRunId", runs["parent"].info.run_id)
    result = verify(src_client, dst_client, experiments=name)
    [diff] = entries(result)
    src_exp = src_client.get_experiment_by_name(name).experiment_id
    src_runs = runs_by_name(src_client, src_exp)
    assert diff["field"] == "parent run"
    assert (diff["src"], diff["dst"]) == (repr(src_runs["child"].info.run_id), repr(src_runs["parent"].info.run_id))


def test_run_without_lineage_matched_by_name_and_start_time(src_client, dst_client, uniq):
    name = f"verify-nolineage-{uniq}"
    src_exp = src_client.create_experiment(name)
    dst_exp = dst_client.create_experiment(name)
    make_run(src_client, src_exp, "same", artifacts=False)
    make_run(dst_client, dst_exp, "same", artifacts=False)
    make_run(src_client, src_exp, "only-src", start=T0 + 5, artifacts=False)
    make_run(dst_client, dst_exp, "only-dst", start=T0 + 6, artifacts=False)
    result = verify(src_client, dst_client, experiments=name)
    counts = result.to_dict()["counts"]["runs"]
    assert (counts["equal"], counts["missing"], counts["extra"]) == (1, 1, 1)
    statuses = {d["key"].split(" (")[0]: d["status"] for d in entries(result)}
    assert statuses == {f"{name}/only-src": "missing", f"{name}/only-dst": "extra"}


def test_second_copy_in_destination_is_extra(src_client, dst_client, copied):
    name, export_dir = copied
    exp_id = dst_client.get_experiment_by_name(name).experiment_id
    src_dir = run_dir(export_dir, src_client, name, "run0")
    RunImporter(dst_client).import_run(exp_id, src_dir, read_run(src_dir))
    result = verify(src_client, dst_client, experiments=name)
    [extra] = entries(result)
    assert extra["status"] == "extra" and "second copy of source run" in extra["reason"]


def test_experiment_tags_description_and_missing_experiment(src_client, dst_client, copied, uniq):
    name, _ = copied
    exp = dst_client.get_experiment_by_name(name)
    dst_client.set_experiment_tag(exp.experiment_id, "mlflow.note.content", "Other words")
    dst_client.set_experiment_tag(exp.experiment_id, "added", "x")
    other = f"verify-notcopied-{uniq}"
    src_client.create_experiment(other)
    result = verify(src_client, dst_client, experiments=f"{name},{other}")
    found = {(d["key"], d.get("field")): d for d in entries(result)}
    assert found[(name, "description")]["dst"] == "'Other words'"
    assert found[(name, "tag 'added'")]["src"] is None
    assert found[(other, None)]["status"] == "missing"


def test_export_dir_against_server(src_client, dst_client, dst_server, copied):
    name, export_dir = copied
    assert verify(src_dir=export_dir, dst_client=dst_client, experiments=name).ok
    assert verify(src_dir=export_dir, dst_client=dst_client).to_dict()["counts"]["experiments"]["equal"] == 1
    assert verify(src_client, dst_dir=export_dir, experiments=name).ok
    run = dst_runs(dst_client, name)["run0"]
    dst_client.set_tag(run.info.run_id, "t1", "changed")
    result = verify(src_dir=export_dir, dst_client=dst_client, experiments=name)
    assert [(d["field"], d["dst"]) for d in entries(result)] == [("tag 't1'", "'changed'")]


def make_model(client, name, exp_name):
    exp_id = client.create_experiment(exp_name)
    run_ids = [make_run(client, exp_id, f"r{i}", start=T0 + i) for i in range(2)]
    client.create_registered_model(name, tags={"owner": "me"}, description="a model")
    for run_id in run_ids:
        run = client.get_run(run_id)
        client.create_model_version(name, f"{run.info.artifact_uri}/model", run_id, description="v")
    client.set_registered_model_alias(name, "champion", "1")
    client.transition_model_version_stage(name, "2", "Staging")


def test_registered_models_versions_and_moved_alias(src_client, dst_client, uniq, tmp_path):
    model, exp_name = f"verify-model-{uniq}", f"verify-model-exp-{uniq}"
    make_model(src_client, model, exp_name)
    export_model(model, str(tmp_path / "model"), mlflow_client=src_client)
    import_model(model, exp_name, str(tmp_path / "model"), mlflow_client=dst_client)
    result = verify(src_client, dst_client, models=model)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["model_versions"]["equal"] == 2

    dst_client.set_registered_model_alias(model, "champion", "2")
    dst_client.transition_model_version_stage(model, "2", "Production")
    result = verify(src_client, dst_client, models=model)
    found = {(d["key"], d["field"]): (d["src"], d["dst"]) for d in entries(result)}
    assert found == {(model, "alias 'champion'"): ("'1'", "'2'"),
                     (f"{model}/v2", "current_stage"): ("'Staging'", "'Production'")}


def cli(args):
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_cli_exit_codes_and_json(src_server, dst_server, dst_client, copied, tmp_path):
    name, export_dir = copied
    json_file = str(tmp_path / "verify.json")
    res = cli(["--src-uri", src_server.uri, "--dst-uri", dst_server.uri, "--experiments", name,
               "--workers", "2", "--json", json_file])
    assert res.exit_code == 0, res.output
    assert "runs:" in res.output and "6 equal" in res.output and "Result: EQUAL" in res.output
    with open(json_file) as f:
        assert json.load(f)["equal"] is True

    dst_client.set_tag(dst_runs(dst_client, name)["run0"].info.run_id, "t0", "changed")
    res = cli(["--src-dir", export_dir, "--dst-uri", dst_server.uri, "--experiments", name,
               "--no-artifact-checksums", "--json", json_file])
    assert res.exit_code == 1, res.output
    assert f"runs {name}/run0" in res.output and "tag 't0': source 'tag-0', destination 'changed'" in res.output
    with open(json_file) as f:
        report = json.load(f)
    assert report["equal"] is False and report["counts"]["runs"]["different"] == 1


@pytest.mark.parametrize("args, message", [
    (["--src-dir", "/nonexistent/export", "--dst-uri", "DST"], "Export directory '/nonexistent/export' does not exist"),
    (["--src-uri", "http://127.0.0.1:9", "--dst-uri", "DST"], "Cannot reach the MLflow tracking server"),
    (["--dst-uri", "DST"], "Give the source as a tracking server or as an export directory"),
    (["--src-uri", "SRC", "--dst-uri", "DST", "--experiments", "no-such-experiment-xyz"],
     "Experiment 'no-such-experiment-xyz' not found"),
    (["--src-dir", "EMPTY", "--dst-uri", "DST"], "is not an export directory"),
])
def test_cli_bad_input_one_clear_line(src_server, dst_server, tmp_path, args, message):
    args = [{"SRC": src_server.uri, "DST": dst_server.uri, "EMPTY": str(tmp_path)}.get(a, a) for a in args]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output


def test_whole_servers(fresh_pair, tmp_path):
    src, dst = fresh_pair
    src_client, dst_client = src.client(), dst.client()
    make_experiment(src_client, "whole", runs=1, nested=False, deleted=0, failed=0)
    copy_experiment(src_client, dst_client, "all", str(tmp_path / "export"))
    result = verify(src_client, dst_client)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["experiments"]["equal"] == 2  # Default and "whole"
    dst_client.create_experiment("extra-one")
    result = verify(src_client, dst_client)
    assert [(d["key"], d["status"]) for d in entries(result)] == [("extra-one", "extra")]


def make_logged_model(client, experiment_id, run_id, tmp_path):
    model = client.create_logged_model(experiment_id, name="lm", source_run_id=run_id, params={"alpha": "0.1"},
                                       tags={"stage": "dev"}, model_type="sklearn")
    files = tmp_path / "lm-files"
    files.mkdir()
    (files / "weights.bin").write_bytes(b"\x00\x01" * 100)
    client.log_model_artifacts(model.model_id, str(files))
    client.log_metric(run_id, "acc", 0.9, timestamp=T0, step=1, model_id=model.model_id)
    client.finalize_logged_model(model.model_id, "READY")
    return model.model_id


def test_logged_models(src_client, dst_client, dst_server, uniq, tmp_path):
    name = f"verify-lm-{uniq}"
    exp_id = src_client.create_experiment(name)
    run_id = make_run(src_client, exp_id, "trainer", artifacts=False)
    make_logged_model(src_client, exp_id, run_id, tmp_path)
    copy_experiment(src_client, dst_client, name, str(tmp_path / "export"))
    result = verify(src_client, dst_client, experiments=name)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["logged_models"]["equal"] == 1
    assert verify(src_dir=str(tmp_path / "export"), dst_client=dst_client, experiments=name).ok

    dst_exp = dst_client.get_experiment_by_name(name).experiment_id
    [dst_model] = dst_client.search_logged_models([dst_exp])
    dst_client.set_logged_model_tags(dst_model.model_id, {"stage": "prod"})
    os.remove(os.path.join(dst_server.dir, "artifacts", dst_exp, "models", dst_model.model_id, "artifacts",
                           "weights.bin"))
    result = verify(src_client, dst_client, experiments=name)
    assert [(d["type"], d["field"], d["src"], d["dst"]) for d in entries(result)] == \
        [("logged_models", "artifact 'weights.bin'", "200 bytes", None),
         ("logged_models", "tag 'stage'", "'dev'", "'prod'")]


def test_traces(src_client, dst_client, uniq, tmp_path):
    from tests.mlflow3_workload import make_trace
    name = f"verify-tr-{uniq}"
    exp_id = src_client.create_experiment(name)
    run_id = make_run(src_client, exp_id, "host", artifacts=False)
    make_trace(src_client, exp_id, "t1", run_id=run_id)
    make_trace(src_client, exp_id, "t2")
    copy_experiment(src_client, dst_client, name, str(tmp_path / "export"))
    result = verify(src_client, dst_client, experiments=name)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["traces"]["equal"] == 2
    side = ServerSide(dst_client)
    dst_exp = dst_client.get_experiment_by_name(name).experiment_id
    [t1] = [ref for ref in side.traces({"id": dst_exp}) if ref.name == "t1"]
    compared = side.trace(t1)
    assert len(compared["spans"]) == 3 and len(compared["assessments"]) == 2 and compared["source_run_id"]
    assert verify(src_dir=str(tmp_path / "export"), dst_client=dst_client, experiments=name).ok

    dst_traces = {t.info.tags.get("name"): t for t in dst_client.search_traces(locations=[dst_exp])}
    dst_client.set_trace_tag(dst_traces["t1"].info.trace_id, "env", "prod")
    dst_client.delete_traces(dst_exp, trace_ids=[dst_traces["t2"].info.trace_id])
    result = verify(src_client, dst_client, experiments=name)
    assert sorted((d["status"], d.get("field"), d.get("dst")) for d in entries(result)) == \
        [("different", "tag 'env'", "'prod'"), ("missing", None, None)]


def register_prompt(client, name):
    client.register_prompt(name, "Hello {{name}}!", commit_message="first", tags={"lang": "en"})
    client.register_prompt(name, "Hi {{name}}, welcome!", commit_message="second")
    client.set_prompt_alias(name, "production", 1)


def test_prompts(src_client, dst_client, uniq):
    # No prompt import exists yet: the destination copy is written by hand, as an import would.
    name = f"verify-prompt-{uniq}"
    register_prompt(src_client, name)
    register_prompt(dst_client, name)
    result = verify(src_client, dst_client, prompts=name)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["prompt_versions"]["equal"] == 2

    dst_client.set_prompt_alias(name, "production", 2)
    dst_client.register_prompt(name, "Yo {{name}}", commit_message="third")
    result = verify(src_client, dst_client, prompts=name)
    found = sorted((d["key"], d["status"], d.get("field")) for d in entries(result))
    assert found == [(f"{name}/v1", "different", "aliases"), (f"{name}/v2", "different", "aliases"),
                     (f"{name}/v3", "extra", None)]


REFERENCE_EXPORTS = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "fixtures", "reference-exports")


def test_reference_export_dir_reads_as_itself():
    export_all = os.path.join(REFERENCE_EXPORTS, "export-all")
    result = verify(src_dir=export_all, dst_dir=export_all)
    assert result.ok, result.lines()
    counts = result.to_dict()["counts"]
    assert {k: c["equal"] for k, c in counts.items()} == {
        "experiments": 3, "runs": 10, "logged_models": 4, "traces": 4, "registered_models": 2,
        "model_versions": 6, "prompts": 2, "prompt_versions": 4, "evaluation_datasets": 1}


def test_reference_export_imported_verifies_against_its_directory(fresh_pair):
    export_dir = os.path.join(REFERENCE_EXPORTS, "export-experiments")
    dst_client = fresh_pair[1].client()
    import_experiments(export_dir, mlflow_client=dst_client, workers=4)
    result = verify(src_dir=export_dir, dst_client=dst_client, include_deleted=True)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["runs"]["equal"] == 12


def test_unreadable_run_in_export_is_named_and_the_others_compared(src_client, dst_client, copied, tmp_path):
    name, export_dir = copied
    broken = str(tmp_path / "broken")
    shutil.copytree(export_dir, broken)
    bad_dir = run_dir(broken, src_client, name, "run0")
    with open(os.path.join(bad_dir, "run.json"), "w") as f:
        f.write('{"mlflow": {"info": ')
    result = verify(src_dir=broken, dst_client=dst_client, experiments=name)
    [error] = entries(result)
    assert error["status"] == "error" and "Corrupt export file" in error["reason"] and "run.json" in error["reason"]
    assert error["key"].endswith(f"({os.path.basename(bad_dir)})")
    assert result.to_dict()["counts"]["runs"]["equal"] == 5


def make_dataset(client, name, exp_id, answers):
    ds = client.create_dataset(name, experiment_id=[exp_id], tags={"purpose": "test"})
    client._tracking_client.store.upsert_dataset_records(
        ds.dataset_id, [{"inputs": {"q": f"q{i}"}, "expectations": {"a": a}} for i, a in enumerate(answers)])
    return ds.dataset_id


def test_evaluation_datasets(src_client, dst_client, uniq):
    # No dataset import exists yet: the destination copy is written by hand, as an import would.
    name, exp_name = f"verify-ds-{uniq}", f"verify-ds-exp-{uniq}"
    make_dataset(src_client, name, src_client.create_experiment(exp_name), ["1", "2"])
    dst_id = make_dataset(dst_client, name, dst_client.create_experiment(exp_name), ["1", "2"])
    result = verify(src_client, dst_client, datasets=name)
    assert result.ok, result.lines()
    assert result.to_dict()["counts"]["evaluation_datasets"]["equal"] == 1

    dst_client._tracking_client.store.upsert_dataset_records(dst_id, [{"inputs": {"q": "q9"},
                                                                       "expectations": {"a": "9"}}])
    result = verify(src_client, dst_client, datasets=name)
    profile, diff = entries(result)
    assert (profile["field"], profile["dst"]) == ("profile", repr('{"num_records": 3}'))
    assert diff["field"] == "records" and diff["src"] == "2 records"
    assert diff["dst"].startswith("3 records; only here: inputs {\"q\": \"q9\"}")
