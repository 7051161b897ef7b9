"""Exports written by the reference tool import into an equal destination (experiments and runs; logged
models and traces of these fixtures are covered elsewhere), including its older shapes."""
import json
import os

from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk import import_experiments
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.experiment import import_experiment
from mlflow_export_import.run import import_run
from tests.conftest import FIXTURES_DIR

EXPORTS = os.path.join(FIXTURES_DIR, "reference-exports")
SAMPLES = os.path.join(FIXTURES_DIR, "reference-samples")
# Runs' links to logged models belong to the logged-model import, not checked here.
NOT_COMPARED = {"model_io"}


def cli(main, args, uri):
    return CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri}, catch_exceptions=False)


def source_census():
    with open(os.path.join(EXPORTS, "source-census.json")) as f:
        return json.load(f)


def census(count_tool, uri):
    """A census as the saved one reads (JSON turns its tuples into lists)."""
    return json.loads(json.dumps(count_tool.Census(uri, threads=4, artifact_hash=True).build()))


def run_fields(run):
    return {k: v for k, v in run.items() if k not in NOT_COMPARED}


def assert_runs_equal(src_runs, dst_runs, keys):
    for key in keys:
        assert key in dst_runs, key
        src, dst = run_fields(src_runs[key]), run_fields(dst_runs[key])
        dst["tags"] = {k: v for k, v in dst["tags"].items() if not k.startswith("mlflow_exim.")}
        assert dst == src, key


def test_reference_exports_import_equal(fresh_pair, count_tool):
    bulk, single = fresh_pair
    expected = source_census()

    res = cli(import_experiments.main, ["--input-dir", os.path.join(EXPORTS, "export-experiments")], bulk.uri)
    assert res.exit_code == 0, res.output
    res = cli(import_experiment.main, ["--input-dir", os.path.join(EXPORTS, "single", "experiment"),
                                       "--experiment-name", "bench/exp_001"], single.uri)
    assert res.exit_code == 0, res.output
    res = cli(import_run.main, ["--input-dir", os.path.join(EXPORTS, "single", "run"),
                                "--experiment-name", "bench/exp_000"], single.uri)
    assert res.exit_code == 0, res.output

    got = census(count_tool, bulk.uri)
    assert got["experiments"] == expected["experiments"]
    assert sorted(got["runs"]) == sorted(expected["runs"])
    assert_runs_equal(expected["runs"], got["runs"], list(expected["runs"]))
    assert got["totals"]["runs_deleted"] == 2 and got["totals"]["runs_nested"] == 3

    got = census(count_tool, single.uri)
    for name in ("bench/exp_000", "bench/exp_001"):
        assert name in got["experiments"]
    assert got["experiments"]["bench/exp_001"] == expected["experiments"]["bench/exp_001"]
    exp_001 = [k for k in expected["runs"] if k.startswith("bench/exp_001/")]
    assert sorted(k for k in got["runs"] if k.startswith("bench/exp_001/")) == sorted(exp_001)
    assert_runs_equal(expected["runs"], got["runs"], exp_001)
    # The single run is nested, but its parent was not imported: no broken link, lineage instead.
    [run_key] = [k for k in got["runs"] if k.startswith("bench/exp_000/")]
    assert run_key == "bench/exp_000/run_000_0002"
    src_run, dst_run = dict(run_fields(expected["runs"][run_key])), run_fields(got["runs"][run_key])
    assert src_run.pop("parent") == "bench/exp_000/run_000_0000" and dst_run.pop("parent") is None
    assert_runs_equal({run_key: src_run}, {run_key: dst_run}, [run_key])
    client = single.client()
    [run] = client.search_runs([client.get_experiment_by_name("bench/exp_000").experiment_id])
    assert run.data.tags[ImportTags.SRC_PARENT_RUN_ID] == "02b2709c3eb94755a40163d537125a49"


def _exported_runs(exp_dir):
    """{run_id: run.json mlflow payload} for runs under runs/ or directly under the experiment folder."""
    found = {}
    for root, _, files in os.walk(exp_dir):
        if "run.json" in files:
            dct = json.load(open(os.path.join(root, "run.json")))["mlflow"]
            found[dct["info"]["run_id"]] = dct
    return found


def _assert_imported(client, experiment_name, exported):
    exp = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL)
    by_src = {r.data.tags[ImportTags.SRC_RUN_ID]: r for r in runs}
    assert sorted(by_src) == sorted(exported)
    for src_id, dct in exported.items():
        run = by_src[src_id]
        assert run.data.params == dct["params"]
        assert run.info.start_time == dct["info"]["start_time"] and run.info.end_time == dct["info"]["end_time"]
        assert run.info.status == dct["info"]["status"]
        assert run.info.run_name == dct["info"]["run_name"]
        for key, points in dct["metrics"].items():
            hist = client.get_metric_history(run.info.run_id, key)
            assert sorted((m.step, m.timestamp, m.value) for m in hist) == \
                sorted((p["step"], p["timestamp"], p["value"]) for p in points)
        for key, value in dct["tags"].items():
            if key != "mlflow.parentRunId":
                assert run.data.tags[key] == value, key
    return by_src


def test_older_shape_runs_directly_under_experiment_folder(dst_client, uniq):
    input_dir = os.path.join(SAMPLES, "oss_mlflow", "bulk", "models", "experiments")
    results = import_experiments.import_experiments(
        input_dir, experiment_renames={"sklearn_": f"old-{uniq}-"}, mlflow_client=dst_client)
    assert all(m is not None and len(m) >= 1 for _, m in results)
    for exp_id, name in (("1", "sklearn_wine"), ("2", "sklearn_iris")):
        _assert_imported(dst_client, name.replace("sklearn_", f"old-{uniq}-"),
                         _exported_runs(os.path.join(input_dir, exp_id)))


def test_older_shape_experiment_with_runs_folder(dst_client, uniq):
    input_dir = os.path.join(SAMPLES, "oss_mlflow", "single", "experiments", "basic")
    import_experiment.import_experiment(f"old-basic-{uniq}", input_dir, mlflow_client=dst_client)
    _assert_imported(dst_client, f"old-basic-{uniq}", _exported_runs(input_dir))


def test_older_shape_run_with_inputs_list_and_run_uuid(dst_client, uniq, tmp_path):
    input_dir = os.path.join(SAMPLES, "databricks", "single", "versions", "sklearn_wine", "run")
    run, parent = import_run.import_run(input_dir, f"old-run-{uniq}", mlflow_client=dst_client)
    assert parent is None
    exported = _exported_runs(input_dir)
    _assert_imported(dst_client, f"old-run-{uniq}", exported)
    [dct] = exported.values()
    [di] = run.inputs.dataset_inputs
    src_ds = dct["inputs"][0]["dataset"]
    assert (di.dataset.name, di.dataset.digest, di.dataset.source_type, di.dataset.source) == \
        (src_ds["name"], src_ds["digest"], src_ds["source_type"], src_ds["source"])
    assert [(t.key, t.value) for t in di.tags] == [("mlflow.data.context", "training")]
    mlmodel = dst_client.download_artifacts(run.info.run_id, "model/MLmodel", str(tmp_path))
    assert f"run_id: {run.info.run_id}" in open(mlmodel).read()
