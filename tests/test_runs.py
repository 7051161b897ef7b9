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


def test_deleted_run_is_exported_only_on_request_and_arrives_deleted(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"runs-del-{uniq}")
    run_id = make_run(src_client, exp_id, "gone", artifacts=False)
    src_client.delete_run(run_id)
    assert export_run.export_run(run_id, str(tmp_path / "no"), mlflow_client=src_client) is None
    assert not os.path.exists(tmp_path / "no" / "run.json")
    assert export_run.export_run(run_id, str(tmp_path / "yes"), export_deleted_runs=True,
                                 mlflow_client=src_client) is not None
    dst_run, _ = import_run.import_run(str(tmp_path / "yes"), f"runs-del-dst-{uniq}", mlflow_client=dst_client)
    assert dst_run.info.lifecycle_stage == "deleted"
    assert_same_run(src_client, src_client.get_run(run_id), dst_client, dst_run)


def test_mlmodel_files_get_the_new_run_id_except_registry_metadata(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"runs-mlmodel-{uniq}")
    run_id = make_run(src_client, exp_id, "m")
    src = tmp_path / "extra"
    (src / "nested" / "deep").mkdir(parents=True)
    (src / "nested" / "deep" / "MLmodel").write_text(f"artifact_path: deep\nrun_id: {run_id}\n")
    (src / "model" / "metadata").mkdir(parents=True)
    (src / "model" / "metadata" / "MLmodel").write_text(f"run_id: {run_id}\n")
    src_client.log_artifacts(run_id, str(src))
    export_run.export_run(run_id, str(tmp_path / "out"), mlflow_client=src_client)
    dst_run, _ = import_run.import_run(str(tmp_path / "out"), f"runs-mlmodel-dst-{uniq}", mlflow_client=dst_client)
    dst_id = dst_run.info.run_id

    def read(path):
        return open(dst_client.download_artifacts(dst_id, path, str(tmp_path / "dl" / path.replace("/", "_")))).read()
    assert f"run_id: {dst_id}" in read("model/MLmodel")
    assert read("nested/deep/MLmodel") == f"artifact_path: deep\nrun_id: {dst_id}\n"
    assert read("model/metadata/MLmodel") == f"run_id: {run_id}\n"


def test_import_run_with_source_tags(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"runs-srctags-{uniq}")
    run_id = make_run(src_client, exp_id, "r", user="erin", artifacts=False)
    export_run.export_run(run_id, str(tmp_path), mlflow_client=src_client)
    dst_run, _ = import_run.import_run(str(tmp_path), f"runs-srctags-dst-{uniq}", import_source_tags=True,
                                       mlflow_client=dst_client)
    tags = dst_run.data.tags
    info = src_client.get_run(run_id).info
    for field in ("run_id", "experiment_id", "user_id", "status", "start_time", "end_time", "lifecycle_stage",
                  "artifact_uri", "run_name"):
        assert tags[f"mlflow_exim.run_info.{field}"] == str(getattr(info, field)), field
    assert tags["mlflow_exim.run_info._end_time"] == "2023-11-14 22:14:20"
    assert tags["mlflow_exim.mlflow_tag.user"] == "erin" and tags["mlflow_exim.mlflow_tag.runName"] == "r"
    assert_same_run(src_client, src_client.get_run(run_id), dst_client, dst_run)


def test_import_run_links_a_parent_imported_earlier(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"runs-nested-{uniq}")
    parent = make_run(src_client, exp_id, "parent", artifacts=False)
    child = make_run(src_client, exp_id, "child", parent_id=parent, artifacts=False)
    for run_id in (parent, child):
        export_run.export_run(run_id, str(tmp_path / run_id), mlflow_client=src_client)
    dst_parent, _ = import_run.import_run(str(tmp_path / parent), f"runs-nested-dst-{uniq}", mlflow_client=dst_client)
    dst_child, src_parent = import_run.import_run(str(tmp_path / child), f"runs-nested-dst-{uniq}",
                                                  mlflow_client=dst_client)
    assert src_parent == parent
    assert dst_child.data.tags["mlflow.parentRunId"] == dst_parent.info.run_id
