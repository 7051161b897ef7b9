import os

from click.testing import CliRunner

from mlflow_export_import.run import export_run, import_run
from tests.workload import assert_same_run, make_run


def test_run_round_trip_through_api(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"runs-api-{uniq}")
    run_id = make_run(src_client, exp_id, "r1", dataset="iris")

    assert export_run.export_run(run_id, str(tmp_path), mlflow_client=src_client).info.run_id == run_id
    dst_run, src_parent = import_run.import_run(str(tmp_path), f"runs-api-dst-{uniq}", mlflow_client=dst_client)

    assert src_parent is None
    assert_same_run(src_client, src_client.get_run(run_id), dst_client, dst_run)
    mlmodel = dst_client.download_artifacts(dst_run.info.run_id, "model/MLmodel", str(tmp_path / "dl"))
    assert f"run_id: {dst_run.info.run_id}" in open(mlmodel).read()


def test_run_round_trip_through_cli(src_server, dst_server, uniq, tmp_path):
    src_client, dst_client = src_server.client(), dst_server.client()
    exp_id = src_client.create_experiment(f"runs-cli-{uniq}")
    run_id = make_run(src_client, exp_id, "r1", status="KILLED", user="bob")
    out = str(tmp_path / "out")
    runner = CliRunner()

    res = runner.invoke(export_run.main, ["--run-id", run_id, "--output-dir", out],
                        env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    assert os.path.exists(os.path.join(out, "run.json"))
    res = runner.invoke(import_run.main, ["--input-dir", out, "--experiment-name", f"runs-cli-dst-{uniq}"],
                        env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    assert "runs:" in res.output and "1 copied" in res.output

    dst_exp = dst_client.get_experiment_by_name(f"runs-cli-dst-{uniq}")
    [dst_run] = dst_client.search_runs([dst_exp.experiment_id])
    assert_same_run(src_client, src_client.get_run(run_id), dst_client, dst_run)
