"""No password or token reaches an export file, a report, the log file or the console: an export and an
import-all between the shared servers with credentials in the URI and in MLFLOW_TRACKING_PASSWORD /
MLFLOW_TRACKING_TOKEN (the servers do not check them, so the calls succeed), and failing commands with
credentials in the URI of a server that cannot be reached or answers like a broken gateway."""
import os

import pytest
from click.testing import CliRunner

from mlflow_export_import.bulk import export_experiments, export_models, import_all
from tests.fault_proxy import FaultProxy
from tests.servers import free_port
from tests.workload import make_run

PASSWORD_IN_URI = "S3cretPassInUri"
ENV_PASSWORD = "S3cretEnvPassword"
ENV_TOKEN = "S3cretEnvToken"
SECRETS = (PASSWORD_IN_URI, ENV_PASSWORD, ENV_TOKEN)


def with_credentials(uri):
    return uri.replace("http://", f"http://exim-user:{PASSWORD_IN_URI}@", 1)


@pytest.fixture
def secret_env(tmp_path):
    return {"MLFLOW_TRACKING_USERNAME": "exim-user", "MLFLOW_TRACKING_PASSWORD": ENV_PASSWORD,
            "MLFLOW_TRACKING_TOKEN": ENV_TOKEN, "MLFLOW_EXPORT_IMPORT_LOG_OUTPUT_FILE": str(tmp_path / "exim.log")}


def run(main, args, uri, env):
    res = CliRunner().invoke(main, args, env={**env, "MLFLOW_TRACKING_URI": uri})
    assert isinstance(res.exception, SystemExit) or res.exception is None, repr(res.exception)
    return res


def leaks_in_files(root):
    """{path: [secrets]} for every file under root that holds a secret."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                content = f.read()
            hits = [s for s in SECRETS if s.encode() in content]
            if hits:
                found[path] = hits
    return found


def leaks_in_text(text):
    return [s for s in SECRETS if s in text]


def test_no_secret_in_exports_reports_logs_or_console(src_server, dst_server, uniq, secret_env, tmp_path):
    client = src_server.client()
    exp_id = client.create_experiment(f"secrets-{uniq}")
    run_ids = [make_run(client, exp_id, f"r{i}", artifacts=(i == 0)) for i in range(2)]
    model = f"secrets-model-{uniq}"
    client.create_registered_model(model)
    client.create_model_version(model, f"runs:/{run_ids[0]}/model", run_ids[0])
    other_exp = client.create_experiment(f"secrets-other-{uniq}")
    make_run(client, other_exp, "lonely", artifacts=False)

    export_dir, reports = tmp_path / "export", tmp_path / "reports"
    src_uri, dst_uri = with_credentials(src_server.uri), with_credentials(dst_server.uri)
    outputs = [
        run(export_models.main, ["--models", model, "--output-dir", str(export_dir), "--report",
                                 str(reports / "export-models.json")], src_uri, secret_env),
        run(export_experiments.main, ["--experiments", other_exp, "--output-dir", str(export_dir / "experiments-2"),
                                      "--report", str(reports / "export-experiments.json")], src_uri, secret_env),
        run(import_all.main, ["--input-dir", str(export_dir), "--report", str(reports / "import-all.json")],
            dst_uri, secret_env)]
    assert [res.exit_code for res in outputs] == [0, 0, 0], [res.output for res in outputs]
    dst = dst_server.client()
    assert [v.version for v in dst.search_model_versions(f"name='{model}'")] == ["1"]  # the credentials did work

    unreachable = with_credentials(f"http://127.0.0.1:{free_port()}")
    failed = [run(import_all.main, ["--input-dir", str(export_dir), "--report", str(reports / "unreachable.json")],
                  unreachable, secret_env)]
    with FaultProxy(f"http://127.0.0.1:{free_port()}", answer=lambda path: None) as gateway:  # answers 502
        failed.append(run(export_models.main, ["--models", model, "--output-dir", str(tmp_path / "gateway"),
                                               "--report", str(reports / "gateway.json")],
                          with_credentials(gateway.uri), secret_env))
    broken_registry = lambda path: (502, {}, b"") if "registered-models" in path else None  # noqa: E731
    with FaultProxy(src_server.uri, answer=broken_registry) as half_broken:  # fails after the server check
        failed.append(run(export_models.main, ["--models", model, "--output-dir", str(tmp_path / "half"),
                                               "--report", str(reports / "half-broken.json")],
                          with_credentials(half_broken.uri), secret_env))
    assert [res.exit_code for res in failed] == [1, 1, 1], [res.output for res in failed]
    assert "Cannot reach the MLflow tracking server at http://127.0.0.1:" in failed[0].output

    assert sorted(os.listdir(reports)) == ["export-experiments.json", "export-models.json", "gateway.json",
                                           "half-broken.json", "import-all.json", "unreachable.json"]
    assert leaks_in_files(export_dir) == {}
    assert leaks_in_files(reports) == {}
    log = open(secret_env["MLFLOW_EXPORT_IMPORT_LOG_OUTPUT_FILE"], encoding="utf-8").read()
    assert f"Exported model '{model}'" in log  # the log file did get the commands' lines
    assert leaks_in_text(log) == []
    for res in outputs + failed:
        assert leaks_in_text(res.output) == [], res.output
        assert leaks_in_text(res.stderr) == [], res.stderr
