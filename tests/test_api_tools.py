"""The reference's tools and client helpers by their reference paths: http-client (an MLflow server and two Databricks
workspaces, each with its own token), list_registered_models, find_artifacts, the signature tools as a notebook
calls them (default client from MLFLOW_TRACKING_URI), host/token helpers, the experimental export rewriters, and the
Jobs helper against a stand-in for the two Databricks Jobs calls it makes."""
import json
import os
import re
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from click.testing import CliRunner

from mlflow_export_import.bulk.export_models import export_models
from mlflow_export_import.bulk.import_models import import_models
from mlflow_export_import.client import client_utils, databricks_cli_utils, mlflow_auth_utils
from mlflow_export_import.client.rest_client import RestClient
from mlflow_export_import.common import MlflowExportImportException, io_utils, mlflow_utils
from mlflow_export_import.common import find_artifacts
from mlflow_export_import.tools import http_client_cli, list_registered_models
from mlflow_export_import.tools import list_model_versions_without_signatures, set_model_signature, signature_utils
from mlflow_export_import.tools import tools_utils
from mlflow_export_import.tools.experimental import filter_one_model, rewrite_export
from mlflow_export_import.workflow_api import run_submit
from tests.platforms import SRC_TOKEN
from tests.workload import make_run

MLMODEL = "artifact_path: model\nflavors:\n  python_function:\n    loader_module: mlflow.pyfunc.model\nrun_id: {}\n"


@pytest.fixture(scope="module")
def src(src_server):
    """Two models, each with a version of a run of its own experiment; the runs hold an MLmodel without signature."""
    client = src_server.client()
    tag = f"api-tools-{os.getpid()}"
    made = {"client": client, "tag": tag, "models": [], "runs": []}
    for i in range(2):
        exp = client.create_experiment(f"{tag}-e{i}")
        run_id = make_run(client, exp, f"r{i}", params=1, metrics=1, steps=1, tags=1, artifacts=False)
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "MLmodel"), "w") as f:
                f.write(MLMODEL.format(run_id))
            client.log_artifacts(run_id, d, "model")
        client.create_registered_model(f"{tag}-m{i}")
        client.create_model_version(f"{tag}-m{i}", f"runs:/{run_id}/model", run_id)
        made["models"].append(f"{tag}-m{i}")
        made["runs"].append(run_id)
    return made


def run_cli(main, args, env=None):
    return CliRunner().invoke(main, args, env=env)


def test_http_client_against_an_mlflow_server(src, src_server, tmp_path):
    uri = src_server.uri
    name = f"{src['tag']}-e0"
    res = run_cli(http_client_cli.main, ["--resource", "experiments/get-by-name", "--params",
                                         json.dumps({"experiment_name": name})], env={"MLFLOW_TRACKING_URI": uri})
    assert res.exit_code == 0, res.output
    assert f'"name": "{name}"' in res.output
    exp_id = src["client"].get_experiment_by_name(name).experiment_id
    body = tmp_path / "tag.json"
    body.write_text(json.dumps({"experiment_id": exp_id, "key": "set_by", "value": "http-client"}))
    res = run_cli(http_client_cli.main, ["--tracking-uri", uri, "--method", "POST", "--resource",
                                         "experiments/set-experiment-tag", "--data", f"@{body}"])
    assert res.exit_code == 0, res.output
    assert src["client"].get_experiment(exp_id).tags["set_by"] == "http-client"
    out = tmp_path / "answer.json"
    res = run_cli(http_client_cli.main, ["--tracking-uri", uri, "--api", "api/2.0/mlflow", "--resource",
                                         "registered-models/get", "--params",
                                         json.dumps({"name": src["models"][0]}), "--output-file", str(out)])
    assert res.exit_code == 0 and json.loads(out.read_text())["registered_model"]["name"] == src["models"][0]

    res = run_cli(http_client_cli.main, ["--tracking-uri", uri, "--resource", "experiments/get", "--params",
                                         '{"experiment_id": "987654321"}'])
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "Error: HTTP 404" in res.output and "RESOURCE_DOES_NOT_EXIST" in res.output
    res = run_cli(http_client_cli.main, ["--tracking-uri", uri, "--resource", "experiments/search", "--params", "{"])
    assert res.exit_code == 2 and "--params: not JSON" in res.output


def test_rest_clients_of_the_reference_helpers(src, src_server):
    http = client_utils.create_http_client(src["client"])
    assert http.get("registered-models/get", {"name": src["models"][1]})["registered_model"]["name"] == \
        src["models"][1]
    with pytest.raises(MlflowExportImportException) as ex:
        http.get("registered-models/get", {"name": f"{src['tag']}-missing"})
    assert ex.value.http_status_code == 404
    assert mlflow_auth_utils.get_mlflow_host_token(src_server.uri) == (src_server.uri, None)
    listed = list_registered_models.list_registered_models(RestClient(src_server.uri))["registered_models"]
    assert set(src["models"]) <= {m["name"] for m in listed}
    res = run_cli(list_registered_models.main, [], env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0 and f'"name": "{src["models"][0]}"' in res.output


def test_http_client_sends_each_workspace_its_own_token(dbx, monkeypatch, capsys):
    src_ws = RestClient("databricks://src-ws", "mlflow")
    src_ws.get("experiments/search", {"max_results": 1})
    assert dbx.src.requests[-1]["token"] == SRC_TOKEN and dbx.src.requests[-1]["status"] == 200
    res = run_cli(http_client_cli.main, ["--tracking-uri", "databricks://dst-ws", "--api", "databricks",
                                         "--method", "POST", "--resource", "workspace/mkdirs",
                                         "--data", '{"path": "/Users/api/by-http-client"}'])
    assert res.exit_code == 0, res.output
    assert "/Users/api/by-http-client" in dbx.dst.workspace_objects()
    assert "/Users/api/by-http-client" not in dbx.src.workspace_objects()

    mlflow_client = client_utils.create_mlflow_client("databricks://src-ws")
    dbx_client = client_utils.create_dbx_client(mlflow_client)
    mlflow_utils.create_workspace_dir(dbx_client, "/Users/api/by-reference-api")
    assert "/Users/api/by-reference-api" in dbx.src.workspace_objects()

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks://src-ws")
    assert mlflow_auth_utils.get_mlflow_host_token() == (dbx.src.host, SRC_TOKEN)
    assert databricks_cli_utils.get_host_token("src-ws") == (dbx.src.host, SRC_TOKEN)
    assert databricks_cli_utils.main(["src-ws"]) == 0
    out = capsys.readouterr().out
    assert dbx.src.host in out and SRC_TOKEN not in out


def test_find_artifacts_module(src, src_server):
    res = run_cli(find_artifacts.main, ["--run-id", src["runs"][0], "--target", "MLmodel"],
                  env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0 and "model/MLmodel" in res.output.splitlines()
    assert re.search(r"files named MLmodel: +1", res.output)


def test_signature_tools_as_a_notebook_calls_them(src, src_server, tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", src_server.uri)
    model_uri = f"runs:/{src['runs'][0]}/model"
    assert signature_utils.get_model_signature(model_uri) is None
    pd.DataFrame({"x": [1.0, 2.0]}).to_csv(tmp_path / "in.csv", index=False)
    pd.DataFrame({"y": [0, 1]}).to_csv(tmp_path / "out.csv", index=False)
    set_model_signature.set_signature(model_uri, str(tmp_path / "in.csv"), str(tmp_path / "out.csv"),
                                      overwrite_signature=False)
    signature = signature_utils.get_model_signature(model_uri=model_uri, use_get_model_info=False)
    assert [c["name"] for c in signature["inputs"]] == ["x"] and [c["name"] for c in signature["outputs"]] == ["y"]
    df = list_model_versions_without_signatures.as_pandas_df(filter=f"name like '{src['tag']}-m%'")
    assert list(df.columns) == ["model", "version", "run_id", "error"]
    assert df["model"].tolist() == [src["models"][1]]
    found = tools_utils.search_model_versions(src["client"], f"name='{src['models'][0]}'")
    assert [v.version for v in found] == ["1"]


REWRITERS = '''
def rewrite_model(model_dct, model_dir):
    model_dct["mlflow"]["registered_model"]["description"] = "rewritten"

def rewrite_experiment(experiment_dct, experiment_dir):
    experiment_dct["mlflow"]["experiment"]["tags"]["rewritten"] = "yes"
'''


def test_experimental_export_rewriters(src, dst_client, tmp_path):
    out = str(tmp_path / "out")
    export_models(model_names=src["models"], output_dir=out, mlflow_client=src["client"])
    # one model cut out, renamed, its runs' experiment renamed; then imported
    one = str(tmp_path / "one")
    new_model, new_exp = f"{src['tag']}-filtered", f"{src['tag']}-filtered-exp"
    result = filter_one_model.filter_one_model(out, one, src["models"][1], dst_model=new_model,
                                               dst_experiment=new_exp)
    assert result["runs"] == 1 and len(result["experiments"]) == 1
    assert io_utils.read_file_mlflow(os.path.join(one, "models", "models.json"))["models"] == [new_model]
    assert io_utils.read_file(os.path.join(one, "manifest.json"))["info"]["filter_info"]["dst_model"] == new_model
    import_models(input_dir=one, delete_model=False, mlflow_client=dst_client)
    vr = dst_client.get_model_version(new_model, "1")
    assert dst_client.get_experiment(dst_client.get_run(vr.run_id).info.experiment_id).name == new_exp
    assert dst_client.get_experiment_by_name(f"{src['tag']}-e0") is None

    module = tmp_path / "rewriters.py"
    module.write_text(REWRITERS)
    res = run_cli(rewrite_export.main, ["--input-dir", out, "--custom-rewriters-module", str(module)])
    assert res.exit_code == 0, res.output
    model_file = os.path.join(out, "models", src["models"][0], "model.json")
    assert io_utils.read_file_mlflow(model_file)["registered_model"]["description"] == "rewritten"
    backup = io_utils.read_file(model_file + ".backup", "json")
    assert backup["mlflow"]["registered_model"]["description"] != "rewritten"
    exp_ids = [e["id"] for e in io_utils.read_file_mlflow(os.path.join(out, "experiments", "experiments.json"))
               ["experiments"]]
    exp_file = os.path.join(out, "experiments", exp_ids[0], "experiment.json")
    assert io_utils.read_file_mlflow(exp_file)["experiment"]["tags"]["rewritten"] == "yes"
    again = rewrite_export.rewrite_export(out, str(module))
    assert again["rewritten"] == [] and len(again["skipped"]) == 4

    module.write_text("def rewrite_model(d, p):\n    pass\n")
    res = run_cli(rewrite_export.main, ["--input-dir", out, "--custom-rewriters-module", str(module)])
    assert res.exit_code == 2 and "does not define rewrite_experiment" in res.output


class _JobsApi(BaseHTTPRequestHandler):
    """The two Jobs API calls run_submit makes, as Databricks answers them: a run goes PENDING -> RUNNING ->
    TERMINATED; a wrong token gets Databricks' error JSON."""
    submitted, polls = [], []

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self):
        if self.headers.get("Authorization") == "Bearer jobs-token":
            return True
        self._send(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
        return False

    def do_POST(self):
        if self._authorized() and self.path == "/api/2.1/jobs/runs/submit":
            self.submitted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self._send(200, {"run_id": 7})

    def do_GET(self):
        if self._authorized() and self.path.startswith("/api/2.1/jobs/runs/get?run_id=7"):
            self.polls.append(self.path)
            states = [{"life_cycle_state": "PENDING"}, {"life_cycle_state": "RUNNING"},
                      {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}]
            self._send(200, {"run_id": 7, "state": states[min(len(self.polls), 3) - 1]})


def test_run_submit_polls_until_the_run_ends():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _JobsApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        spec = {"run_name": "nb", "tasks": [{"task_key": "t"}]}
        client = RestClient(host, run_submit.JOBS_API, token="jobs-token")
        run = run_submit.run_submit(spec, sleep_seconds=0, client=client)
        assert run["state"] == {"life_cycle_state": "TERMINATED", "result_state": "SUCCESS"}
        assert _JobsApi.submitted == [spec] and len(_JobsApi.polls) == 3
        with pytest.raises(MlflowExportImportException) as ex:
            run_submit.run_submit(spec, client=RestClient(host, run_submit.JOBS_API, token="wrong"))
        assert ex.value.http_status_code == 401 and "UNAUTHENTICATED" in ex.value.message
    finally:
        server.shutdown()
