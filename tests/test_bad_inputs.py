"""Bad input: one clear message naming the object or file, exit code 1, nothing half-written, no half-imported
run left looking complete; one bad run among good ones does not stop the others."""
import json
import os
import shutil
import time

import pytest
from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk import export_experiments, import_experiments
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.experiment import export_experiment, import_experiment
from mlflow_export_import.run import export_run, import_run
from tests.servers import free_port
from tests.workload import T0, make_run


def cli(main, args, uri):
    res = CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri})
    assert not isinstance(res.exception, Exception) or isinstance(res.exception, SystemExit), res.exception
    return res


def assert_clean_failure(res, *fragments):
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    for fragment in fragments:
        assert fragment in res.output, (fragment, res.output)


@pytest.fixture(scope="module")
def exported(src_server, tmp_path_factory):
    """A small experiment with three runs, exported once with export-experiments."""
    client = src_server.client()
    name = f"bad-inputs-{os.getpid()}"
    exp_id = client.create_experiment(name)
    for i in range(3):
        make_run(client, exp_id, f"r{i}", start=T0 + i, artifacts=(i == 0))
    out = str(tmp_path_factory.mktemp("bad-inputs-export"))
    export_experiments.export_experiments([exp_id], out, mlflow_client=client)
    return out, exp_id


def copy_export(exported, tmp_path):
    out, exp_id = exported
    dst = str(tmp_path / "export")
    shutil.copytree(out, dst)
    return dst, exp_id


def first_run_dir(export_dir, exp_id):
    runs = sorted(os.listdir(os.path.join(export_dir, exp_id, "runs")))
    return os.path.join(export_dir, exp_id, "runs", runs[0]), runs


def dst_runs(client, name):
    exp = client.get_experiment_by_name(name)
    return client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL) if exp else []


@pytest.mark.parametrize("damage", ["missing", "corrupt", "no-mlflow"])
def test_bad_run_json_with_import_run(dst_server, exported, tmp_path, uniq, damage):
    export_dir, exp_id = copy_export(exported, tmp_path)
    run_dir, _ = first_run_dir(export_dir, exp_id)
    path = os.path.join(run_dir, "run.json")
    if damage == "missing":
        os.remove(path)
    elif damage == "corrupt":
        open(path, "w").write('{"system": {}, "mlflow": {"info": ')
    else:
        open(path, "w").write('{"system": {}}')
    res = cli(import_run.main, ["--input-dir", run_dir, "--experiment-name", f"bad-run-{uniq}"], dst_server.uri)
    expected = "Missing export file" if damage == "missing" else "Corrupt export file"
    assert_clean_failure(res, expected, path)
    assert dst_runs(dst_server.client(), f"bad-run-{uniq}") == []


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_bad_experiment_json(dst_server, exported, tmp_path, uniq, damage):
    export_dir, exp_id = copy_export(exported, tmp_path)
    path = os.path.join(export_dir, exp_id, "experiment.json")
    if damage == "missing":
        os.remove(path)
    else:
        open(path, "w").write("not json at all")
    res = cli(import_experiment.main, ["--input-dir", os.path.join(export_dir, exp_id),
                                       "--experiment-name", f"bad-exp-{uniq}"], dst_server.uri)
    assert_clean_failure(res, "Missing export file" if damage == "missing" else "Corrupt export file", path)
    assert dst_server.client().get_experiment_by_name(f"bad-exp-{uniq}") is None


@pytest.mark.parametrize("damage", ["missing", "corrupt", "wrong-shape"])
def test_bad_experiments_json(dst_server, exported, tmp_path, damage):
    export_dir, _ = copy_export(exported, tmp_path)
    path = os.path.join(export_dir, "experiments.json")
    if damage == "missing":
        os.remove(path)
    elif damage == "corrupt":
        open(path, "w").write("{")
    else:
        open(path, "w").write(json.dumps({"system": {}, "mlflow": {"experiments": ["x"]}}))
    res = cli(import_experiments.main, ["--input-dir", export_dir], dst_server.uri)
    assert_clean_failure(res, "Missing export file" if damage == "missing" else "Corrupt export file", path)


def test_input_dir_that_does_not_exist(dst_server, tmp_path):
    missing = str(tmp_path / "nowhere")
    assert_clean_failure(cli(import_experiments.main, ["--input-dir", missing], dst_server.uri), missing)
    assert_clean_failure(cli(import_experiment.main, ["--input-dir", missing, "--experiment-name", "x"],
                             dst_server.uri), missing)
    assert_clean_failure(cli(import_run.main, ["--input-dir", missing, "--experiment-name", "x"], dst_server.uri),
                         missing)
    assert dst_server.client().get_experiment_by_name("x") is None


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_bad_run_among_good_ones(dst_server, exported, tmp_path, uniq, damage):
    export_dir, exp_id = copy_export(exported, tmp_path)
    run_dir, run_ids = first_run_dir(export_dir, exp_id)
    if damage == "missing":
        os.remove(os.path.join(run_dir, "run.json"))
    else:
        open(os.path.join(run_dir, "run.json"), "w").write("{broken")
    renames = tmp_path / "renames.csv"
    renames.write_text(f"bad-inputs-,one-bad-{uniq}-\n")
    res = cli(import_experiments.main, ["--input-dir", export_dir, "--experiment-rename-file", str(renames)],
              dst_server.uri)
    assert_clean_failure(res, f"FAILED runs {run_ids[0]}", "Missing export file" if damage == "missing"
                         else "Corrupt export file", os.path.join(run_dir, "run.json"), "2 copied, 0 skipped, 1 failed")
    name = f"one-bad-{uniq}-{os.getpid()}"
    runs = dst_runs(dst_server.client(), name)
    assert sorted(r.data.tags[ImportTags.SRC_RUN_ID] for r in runs) == sorted(run_ids[1:])


def test_run_failing_half_way_is_not_left_looking_complete(dst_client, exported, tmp_path, uniq):
    export_dir, exp_id = copy_export(exported, tmp_path)
    run_dir, _ = first_run_dir(export_dir, exp_id)
    path = os.path.join(run_dir, "run.json")
    dct = json.load(open(path))
    # Params, metrics and tags go in first; the server then refuses a dataset without name and digest.
    dct["mlflow"]["inputs"]["dataset_inputs"] = [{"dataset": {"source_type": "local", "source": "x"}, "tags": []}]
    open(path, "w").write(json.dumps(dct))
    with pytest.raises(Exception) as ei:
        import_run.import_run(run_dir, f"half-{uniq}", mlflow_client=dst_client)
    assert dct["mlflow"]["info"]["run_id"] in str(ei.value)
    [run] = dst_runs(dst_client, f"half-{uniq}")
    assert run.info.status == "FAILED" and run.info.lifecycle_stage == "deleted"
    assert run.data.tags[ImportTags.STATE] == ImportTags.STATE_STARTED
    assert run.data.tags.get("t0") == "tag-0"  # it did get half-way: the run's tags go in at its creation
    assert dst_client.search_runs([run.info.experiment_id]) == []


def test_unknown_experiment_is_fast_and_clear(src_server, tmp_path):
    for name in ("no-such-experiment-name", "987654321"):
        start = time.time()
        res = cli(export_experiment.main, ["--experiment", name, "--output-dir", str(tmp_path / name)],
                  src_server.uri)
        assert_clean_failure(res, f"Experiment '{name}' not found")
        assert time.time() - start < 30
        assert not os.path.exists(tmp_path / name / "experiment.json")
    start = time.time()
    res = cli(export_experiments.main, ["--experiments", "no-such-experiment-name", "--output-dir",
                                        str(tmp_path / "bulk")], src_server.uri)
    assert_clean_failure(res, "Experiment 'no-such-experiment-name' not found")
    assert time.time() - start < 30


def test_unknown_among_known_experiments(src_server, exported, tmp_path):
    _, exp_id = exported
    out = str(tmp_path / "out")
    res = cli(export_experiments.main, ["--experiments", f"{exp_id},nope-nope", "--output-dir", out], src_server.uri)
    assert_clean_failure(res, "FAILED experiments nope-nope", "Experiment 'nope-nope' not found")
    listed = json.load(open(os.path.join(out, "experiments.json")))["mlflow"]["experiments"]
    assert [e["id"] for e in listed] == [exp_id]


def test_unknown_run_id(src_server, tmp_path):
    out = str(tmp_path / "out")
    res = cli(export_run.main, ["--run-id", "f" * 32, "--output-dir", out], src_server.uri)
    assert_clean_failure(res, f"FAILED runs {'f' * 32}")
    assert not os.path.exists(os.path.join(out, "run.json"))


def test_unknown_run_id_in_run_ids(src_server, exported, tmp_path):
    _, exp_id = exported
    out = str(tmp_path / "out")
    res = cli(export_experiment.main, ["--experiment", exp_id, "--output-dir", out, "--run-ids", "e" * 32],
              src_server.uri)
    assert_clean_failure(res, f"FAILED runs {'e' * 32}")
    info = json.load(open(os.path.join(out, "experiment.json")))["info"]
    assert info["num_failed_runs"] == 1 and info["failed_runs"][0]["run_id"] == "e" * 32


def test_unreachable_server(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    start = time.time()
    res = cli(export_experiments.main, ["--experiments", "all", "--output-dir", str(tmp_path / "o")], uri)
    assert_clean_failure(res, f"Cannot reach the MLflow tracking server at {uri}")
    res = cli(import_run.main, ["--input-dir", str(tmp_path), "--experiment-name", "x"], uri)
    assert_clean_failure(res, f"Cannot reach the MLflow tracking server at {uri}")
    assert time.time() - start < 60
    assert not os.path.exists(tmp_path / "o" / "experiments.json")


@pytest.mark.parametrize("option", ["--run-start-time", "--runs-until"])
def test_bad_time_value(src_server, exported, tmp_path, option):
    _, exp_id = exported
    # a usage error (issue 14): exit 2 before any work, nothing written
    res = cli(export_experiments.main, ["--experiments", exp_id, "--output-dir", str(tmp_path / "o"),
                                        option, "last tuesday"], src_server.uri)
    assert res.exit_code == 2 and "Bad time 'last tuesday'" in res.output, res.output
    res = cli(export_experiment.main, ["--experiment", exp_id, "--output-dir", str(tmp_path / "o2"),
                                       option, "2024-99-99"], src_server.uri)
    assert res.exit_code == 2 and "Bad time '2024-99-99'" in res.output, res.output
    assert not os.path.exists(tmp_path / "o") and not os.path.exists(tmp_path / "o2")


def test_missing_rename_file(dst_server, exported, tmp_path):
    export_dir, _ = copy_export(exported, tmp_path)
    missing = str(tmp_path / "renames.csv")
    res = cli(import_experiments.main, ["--input-dir", export_dir, "--experiment-rename-file", missing],
              dst_server.uri)
    assert_clean_failure(res, f"Cannot read rename file '{missing}'")
