import os
import tempfile

from click.testing import CliRunner

from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.common.report import Report
from mlflow_export_import.copy import copy_run
from tests.servers import free_port
from tests.workload import assert_same_run, make_run, runs_by_name


def _mlmodel_run_id(client, run_id, tmp_path):
    path = client.download_artifacts(run_id, "model/MLmodel", str(tmp_path / run_id))
    return open(path).read().split("run_id:")[1].strip()


def test_copy_run_within_one_server(src_server, uniq, tmp_path, monkeypatch):
    client = src_server.client()
    run_id = make_run(client, client.create_experiment(f"cr-src-{uniq}"), "r1", dataset="iris")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    dst_run = copy_run.copy(run_id, f"cr-dst-{uniq}", src_server.uri, src_server.uri)

    assert dst_run.info.run_id != run_id
    assert dst_run.info.experiment_id == client.get_experiment_by_name(f"cr-dst-{uniq}").experiment_id
    assert_same_run(client, client.get_run(run_id), client, dst_run)
    assert _mlmodel_run_id(client, dst_run.info.run_id, tmp_path / "dl") == dst_run.info.run_id
    assert [p for p in os.listdir(tmp_path) if p.startswith("mlflow-copy-run-")] == []  # temp space removed


def test_copy_run_across_servers_links_parent_and_never_duplicates(src_client, dst_client, uniq):
    exp_id = src_client.create_experiment(f"cr-x-{uniq}")
    parent = make_run(src_client, exp_id, "parent", status="KILLED", user="bob")
    child = make_run(src_client, exp_id, "child", parent_id=parent, artifacts=False)
    report = Report()

    dst_parent = copy_run._copy(parent, f"cr-x-dst-{uniq}", src_client, dst_client, report)
    dst_child = copy_run._copy(child, f"cr-x-dst-{uniq}", src_client, dst_client, report)
    again = copy_run._copy(child, f"cr-x-dst-{uniq}", src_client, dst_client, report)

    assert_same_run(src_client, src_client.get_run(parent), dst_client, dst_parent)
    assert_same_run(src_client, src_client.get_run(child), dst_client, dst_child)
    assert dst_child.data.tags["mlflow.parentRunId"] == dst_parent.info.run_id
    assert again.info.run_id == dst_child.info.run_id
    assert report.count("runs") == 2 and report.count("runs", "skipped") == 1
    dst_exp = dst_client.get_experiment_by_name(f"cr-x-dst-{uniq}")
    assert sorted(runs_by_name(dst_client, dst_exp.experiment_id)) == ["child", "parent"]


def test_copy_run_finishes_a_half_done_copy(src_client, dst_client, uniq):
    run_id = make_run(src_client, src_client.create_experiment(f"cr-half-{uniq}"), "r1")
    exp_id = dst_client.create_experiment(f"cr-half-dst-{uniq}")
    src_run = src_client.get_run(run_id)
    half = dst_client.create_run(exp_id, start_time=src_run.info.start_time, run_name="r1",  # as a crash leaves it
                                 tags={ImportTags.SRC_RUN_ID: run_id, ImportTags.STATE: "started",
                                       "mlflow.user": "alice"})

    dst_run = copy_run._copy(run_id, f"cr-half-dst-{uniq}", src_client, dst_client)

    assert dst_run.info.run_id == half.info.run_id
    assert dst_run.data.tags[ImportTags.STATE] == ImportTags.STATE_DONE
    assert_same_run(src_client, src_run, dst_client, dst_run)


def test_copy_run_cli_across_servers(src_server, dst_server, uniq):
    src_client, dst_client = src_server.client(), dst_server.client()
    run_id = make_run(src_client, src_client.create_experiment(f"cr-cli-{uniq}"), "r1", status="FAILED")

    res = CliRunner().invoke(copy_run.main, ["--run-id", run_id, "--experiment-name", f"cr-cli-dst-{uniq}",
                                             "--src-mlflow-uri", src_server.uri, "--dst-mlflow-uri", dst_server.uri])

    assert res.exit_code == 0, res.output
    assert "1 copied" in res.output
    [dst_run] = dst_client.search_runs([dst_client.get_experiment_by_name(f"cr-cli-dst-{uniq}").experiment_id])
    assert f"copied as run '{dst_run.info.run_id}'" in res.output
    assert_same_run(src_client, src_client.get_run(run_id), dst_client, dst_run)


def test_copy_run_cli_defaults_to_the_tracking_uri(src_server, uniq):
    client = src_server.client()
    run_id = make_run(client, client.create_experiment(f"cr-env-{uniq}"), "r1", artifacts=False)

    res = CliRunner().invoke(copy_run.main, ["--run-id", run_id, "--experiment-name", f"cr-env-dst-{uniq}"],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})

    assert res.exit_code == 0, res.output
    [dst_run] = client.search_runs([client.get_experiment_by_name(f"cr-env-dst-{uniq}").experiment_id])
    assert_same_run(client, client.get_run(run_id), client, dst_run)


def test_copy_run_unknown_run(src_server, dst_server, uniq):
    res = CliRunner().invoke(copy_run.main, ["--run-id", "0" * 32, "--experiment-name", f"cr-bad-{uniq}",
                                             "--src-mlflow-uri", src_server.uri, "--dst-mlflow-uri", dst_server.uri])

    assert res.exit_code == 1
    assert f"Run '{'0' * 32}' not found in {src_server.uri}" in res.output
    assert "Traceback" not in res.output
    assert dst_server.client().get_experiment_by_name(f"cr-bad-{uniq}") is None  # nothing half-made


def test_copy_run_unreachable_server_without_leaking_credentials(src_server, uniq):
    client = src_server.client()
    run_id = make_run(client, client.create_experiment(f"cr-down-{uniq}"), "r1", artifacts=False)
    down = f"http://alice:s3cret@127.0.0.1:{free_port()}"

    res = CliRunner().invoke(copy_run.main, ["--run-id", run_id, "--experiment-name", f"cr-down-dst-{uniq}",
                                             "--src-mlflow-uri", src_server.uri, "--dst-mlflow-uri", down])

    assert res.exit_code == 1
    assert "Cannot reach the MLflow tracking server at http://127.0.0.1:" in res.output
    assert "s3cret" not in res.output
    assert "Traceback" not in res.output
