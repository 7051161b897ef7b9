"""Model signature tools against a real server: get, set from example files, and list the versions without one,
on a version of each source style (runs:/, a run artifact URI, a logged model)."""
import csv
import json
import os
import subprocess
import sys
import tempfile
import uuid

import mlflow
import pytest
import yaml
from click.testing import CliRunner

from mlflow_export_import.tools import get_model_signature as get_tool
from mlflow_export_import.tools import list_model_versions_without_signatures as list_tool
from mlflow_export_import.tools import set_model_signature as set_tool
from mlflow_export_import.tools import signature_utils, tools_utils
from tests.mlflow3_workload import tracking_uri

STYLES = ["runs", "artifact", "logged"]
SCRIPTS = ["get-model-signature", "set-model-signature", "list-model-versions-without-signatures"]


class Identity(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("pyfunc") / "model")
    mlflow.pyfunc.save_model(path, python_model=Identity(), pip_requirements=[])
    return path


@pytest.fixture(scope="module")
def experiment_id(src_server):
    return src_server.client().create_experiment(f"signatures-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def run(src_server, experiment_id):
    client = src_server.client()
    run = client.create_run(experiment_id)
    client.set_terminated(run.info.run_id)
    return run


@pytest.fixture(scope="module")
def make_version(src_server, experiment_id, run, model_dir):
    """make_version(model_name, style) registers a version whose files are a fresh copy of the tiny model."""
    client = src_server.client()
    made = {}

    def make(name, style):
        if name not in made:
            client.create_registered_model(name)
            made[name] = 0
        made[name] += 1
        if style == "logged":
            lm = client.create_logged_model(experiment_id=experiment_id, name=f"m{made[name]}",
                                            source_run_id=run.info.run_id)
            client.log_model_artifacts(lm.model_id, model_dir)
            client.finalize_logged_model(lm.model_id, "READY")
            return client.create_model_version(name, f"models:/{lm.model_id}", run.info.run_id,
                                               model_id=lm.model_id)
        path = f"{name}_v{made[name]}"
        client.log_artifacts(run.info.run_id, model_dir, path)
        source = f"runs:/{run.info.run_id}/{path}" if style == "runs" else f"{run.info.artifact_uri}/{path}"
        return client.create_model_version(name, source, run.info.run_id)
    return make


@pytest.fixture
def examples(tmp_path):
    """CSV and JSON example files: inputs (x: long, y: double, city: string) and outputs (score: double)."""
    inputs, outputs = tmp_path / "inputs.csv", tmp_path / "outputs.csv"
    with open(inputs, "w", newline="") as f:
        csv.writer(f).writerows([["x", "y", "city"], [1, 0.5, "Paris"], [2, 1.5, "Oslo"]])
    outputs.write_text("score\n0.1\n0.9\n")
    (tmp_path / "inputs.json").write_text(json.dumps([{"a": 1.5, "b": "u"}, {"a": 2.5, "b": "v"}]))
    (tmp_path / "outputs.json").write_text(json.dumps([{"label": 0}, {"label": 1}]))
    return {"csv": (str(inputs), str(outputs)), "json": (str(tmp_path / "inputs.json"),
                                                         str(tmp_path / "outputs.json"))}


def cli(main, args, uri):
    return CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri})


def mlmodel_signature(client, vr):
    """The signature in the MLmodel file of the version's files, read independently of the tools."""
    with tempfile.TemporaryDirectory() as tmp:
        if vr.source.startswith("models:/"):
            location = client.get_logged_model(vr.source[len("models:/"):]).artifact_location
            path = mlflow.artifacts.download_artifacts(f"{location}/MLmodel", dst_path=tmp,
                                                       tracking_uri=client.tracking_uri)
        else:
            path = mlflow.artifacts.download_artifacts(f"{vr.source}/MLmodel", dst_path=tmp,
                                                       tracking_uri=client.tracking_uri)
        with open(path) as f:
            return yaml.safe_load(f).get("signature")


def names(schema):
    return [c["name"] for c in schema]


@pytest.mark.parametrize("style", STYLES)
def test_round_trip_on_each_source_style(src_server, make_version, examples, tmp_path, uniq, style):
    client = src_server.client()
    vr = make_version(f"sig-{style}-{uniq}", style)
    uri = src_server.uri
    res = cli(get_tool.main, ["--model-uri", vr.source], uri)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("null\n") and "signature:            none" in res.stdout

    global_before = mlflow.get_tracking_uri()
    inputs, outputs = examples["csv"]
    res = cli(set_tool.main, ["--model-uri", vr.source, "--input-file", inputs, "--output-file", outputs], uri)
    assert res.exit_code == 0, res.output
    assert "signature set:" in res.output and "3 inputs, 1 outputs" in res.output

    out_file = tmp_path / "sig.json"
    res = cli(get_tool.main, ["--model-uri", vr.source, "--output-file", str(out_file)], uri)
    assert res.exit_code == 0, res.output
    sig = json.loads(out_file.read_text())
    assert names(sig["inputs"]) == ["x", "y", "city"] and names(sig["outputs"]) == ["score"]
    assert [c["type"] for c in sig["inputs"]] == ["long", "double", "string"]
    assert json.loads(res.stdout[:res.stdout.index("\nSummary")]) == sig

    # the registered version reads the same signature, with either way of reading it
    version_uri = f"models:/{vr.name}/{vr.version}"
    assert signature_utils.get_model_signature(version_uri, mlflow_client=client) == sig
    assert signature_utils.get_model_signature(version_uri, use_get_model_info=True, mlflow_client=client) == sig
    assert mlflow.get_tracking_uri() == global_before and os.environ.get("MLFLOW_TRACKING_URI") is None

    # MLflow itself and the MLmodel file agree
    with tracking_uri(client.tracking_uri):
        info = mlflow.models.get_model_info(version_uri)
    assert signature_utils.to_json_signature(info.signature) == sig
    assert info.signature.inputs.input_names() == ["x", "y", "city"]
    raw = mlmodel_signature(client, vr)
    assert {k: json.loads(v) if isinstance(v, str) else v for k, v in raw.items() if k in sig} == sig
    assert client.get_model_version(vr.name, vr.version).source == vr.source  # the version itself is unchanged


def test_set_on_registered_version_writes_its_source(src_server, make_version, examples, uniq):
    client = src_server.client()
    vr = make_version(f"sig-reg-{uniq}", "runs")
    version_uri = f"models:/{vr.name}/{vr.version}"
    inputs, outputs = examples["json"]
    res = cli(set_tool.main, ["--model-uri", version_uri, "--input-file", inputs, "--output-file", outputs],
              src_server.uri)
    assert res.exit_code == 0, res.output
    assert "files at:" in res.output and vr.source in res.output
    sig = signature_utils.get_model_signature(vr.source, mlflow_client=client)
    assert names(sig["inputs"]) == ["a", "b"] and names(sig["outputs"]) == ["label"]

    # an existing signature is kept unless --overwrite-signature
    csv_in, csv_out = examples["csv"]
    res = cli(set_tool.main, ["--model-uri", version_uri, "--input-file", csv_in, "--output-file", csv_out],
              src_server.uri)
    assert res.exit_code == 0, res.output
    assert "already has a signature" in res.output
    assert signature_utils.get_model_signature(version_uri, mlflow_client=client) == sig
    new = set_tool.set_signature(version_uri, csv_in, None, True, mlflow_client=client)
    assert names(new["inputs"]) == ["x", "y", "city"] and new["outputs"] is None
    assert signature_utils.get_model_signature(version_uri, mlflow_client=client) == new
    client.set_registered_model_alias(vr.name, "champion", vr.version)
    for uri in (f"models:/{vr.name}/latest", f"models:/{vr.name}@champion"):
        assert signature_utils.get_model_signature(uri, mlflow_client=client) == new


def test_list_versions_without_signatures_before_and_after(src_server, make_version, examples, tmp_path, uniq):
    client = src_server.client()
    name = f"sig-list-{uniq}"
    versions = [make_version(name, style) for style in STYLES]
    other = make_version(f"sig-list-other-{uniq}", "runs")
    filter = f"name='{name}'"

    assert sorted(v.version for v in tools_utils.search_model_versions(client, filter)) == ["1", "2", "3"]
    df = list_tool.as_pandas_df(filter, mlflow_client=client)
    assert list(df.columns) == ["model", "version", "run_id", "error"]
    assert df.to_dict("records") == [{"model": name, "version": v, "run_id": versions[0].run_id, "error": ""}
                                     for v in ["3", "2", "1"]]

    inputs, outputs = examples["csv"]
    for vr in versions[:2]:
        set_tool.set_signature(f"models:/{name}/{vr.version}", inputs, outputs, False, mlflow_client=client)
    df = list_tool.as_pandas_df(filter, mlflow_client=client)
    assert df[["model", "version"]].values.tolist() == [[name, "3"]]
    df_info = list_tool.as_pandas_df(filter, use_get_model_info=True, mlflow_client=client)
    assert df_info.values.tolist() == df.values.tolist()
    assert os.environ.get("MLFLOW_TRACKING_URI") is None

    out = tmp_path / "without.csv"
    res = cli(list_tool.main, ["--filter", f"name like 'sig-list-%{uniq}'", "--output-file", str(out),
                               "--workers", "2"], src_server.uri)
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(open(out)))
    assert [(r["model"], r["version"]) for r in rows] == [(name, "3"), (other.name, "1")]
    assert "model versions checked: 4" in res.output and "without a signature:    2" in res.output


def test_version_whose_files_are_missing(src_server, run, uniq, examples):
    client = src_server.client()
    name = f"sig-missing-{uniq}"
    client.create_registered_model(name)
    client.create_model_version(name, f"{run.info.artifact_uri}/nothing-here", run.info.run_id)
    version_uri = f"models:/{name}/1"
    for main, args in [(get_tool.main, []), (set_tool.main, ["--input-file", examples["csv"][0]])]:
        res = cli(main, ["--model-uri", version_uri] + args, src_server.uri)
        assert res.exit_code == 1, res.output
        assert f"Error: Model '{version_uri}'" in res.output and "no readable MLmodel file" in res.output
        assert "Traceback" not in res.output
    res = cli(list_tool.main, ["--filter", f"name='{name}'"], src_server.uri)
    assert res.exit_code == 1, res.output
    assert f"FAILED model_version {name}/1: Model '{version_uri}': no readable MLmodel file" in res.output


def test_bad_cases_are_one_clear_line(src_server, examples, tmp_path):
    unknown = "models:/no-such-model-xyz/1"
    for main, args in [(get_tool.main, []), (set_tool.main, ["--input-file", examples["csv"][0]])]:
        res = cli(main, ["--model-uri", unknown] + args, src_server.uri)
        assert res.exit_code == 1, res.output
        errors = [line for line in res.output.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1 and f"Model version '{unknown}' not found" in errors[0]
        assert "Traceback" not in res.output
    res = cli(get_tool.main, ["--model-uri", f"runs:/{'0' * 32}/model"], src_server.uri)
    assert res.exit_code == 1 and f"run '{'0' * 32}' not found" in res.output
    # bad options: exit 2 before anything is read or written
    res = cli(set_tool.main, ["--model-uri", unknown, "--input-file", str(tmp_path / "none.csv")], src_server.uri)
    assert res.exit_code == 2 and "none.csv' does not exist" in res.output
    (tmp_path / "empty.csv").write_text("")
    res = cli(set_tool.main, ["--model-uri", unknown, "--input-file", str(tmp_path / "empty.csv")], src_server.uri)
    assert res.exit_code == 2 and "empty.csv" in res.output
    res = cli(get_tool.main, ["--model-uri", unknown, "--use-get-model-info", "maybe"], src_server.uri)
    assert res.exit_code == 2
    res = cli(list_tool.main, ["--filter", "name = = 'x'"], src_server.uri)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert len([line for line in res.output.splitlines() if line.startswith("Error:")]) == 1


def test_global_uri_scope_restores_everything(src_client):
    os.environ["MLFLOW_TRACKING_URI"] = "file:///tmp/somewhere"
    try:
        before = mlflow.get_tracking_uri()
        with tools_utils.global_mlflow_uris(src_client):
            assert mlflow.get_tracking_uri() == src_client.tracking_uri
            with tools_utils.global_mlflow_uris(src_client):  # nested scopes of the same URIs share one
                assert mlflow.get_registry_uri() == src_client.tracking_uri
        assert mlflow.get_tracking_uri() == before
        assert os.environ["MLFLOW_TRACKING_URI"] == "file:///tmp/somewhere"
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI", None)


def test_console_scripts_help():
    bin_dir = os.path.dirname(sys.executable)
    procs = {script: subprocess.Popen([os.path.join(bin_dir, script), "--help"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for script in SCRIPTS}
    for script, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{script}: {err}"
        assert f"Usage: {script}" in out and ("--model-uri" in out or "--filter" in out)
