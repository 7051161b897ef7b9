"""The reference's `common` modules, called by their reference paths and keyword names as a notebook would, against
the real session server: what they return and what they did to it."""
import json
import os
import tempfile
from importlib.metadata import version

import mlflow
import pytest
from mlflow import MlflowClient

from mlflow_export_import.bulk import experiments_merge_utils
from mlflow_export_import.common import dump_utils, filesystem, io_utils, mlflow_utils, model_utils, pkg_version
from mlflow_export_import.common import prompt_utils, utils, version_utils
from mlflow_export_import.common.find_artifacts import find_artifacts, find_run_model_names
from mlflow_export_import.common.iterators import SearchRunsIterator
from mlflow_export_import.run.run_utils import get_model_name, update_mlmodel_run_id


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


@pytest.fixture(scope="module")
def experiment(src_server):
    client = src_server.client()
    name = f"api-common-{os.getpid()}-{id(client)}"
    exp_id = client.create_experiment(name)
    return name, exp_id


@pytest.fixture(scope="module")
def model_run(src_server, experiment):
    """A run whose artifacts hold two models, a registry copy in 'metadata' and other files; its MLmodel files name
    another run, as an imported run's do."""
    client = src_server.client()
    run = client.create_run(experiment[1], start_time=1_000)
    with tempfile.TemporaryDirectory() as d:
        for rel in ("model/MLmodel", "model/metadata/MLmodel", "other_models/model-onnx/MLmodel"):
            _write(os.path.join(d, rel), "artifact_path: x\nflavors: {}\nrun_id: source-run-id\n")
        _write(os.path.join(d, "notes", "readme.txt"), "hello")
        client.log_artifacts(run.info.run_id, d)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _mlmodel_run_id(client, run_id, path):
    with tempfile.TemporaryDirectory() as d:
        with open(client.download_artifacts(run_id, path, d)) as f:
            return [line for line in f.read().splitlines() if line.startswith("run_id:")][0].split(": ")[1]


def test_find_artifacts_and_mlmodel_fix(src_client, model_run):
    assert find_run_model_names(mlflow_client=src_client, run_id=model_run) == ["model", "other_models/model-onnx"]
    assert find_artifacts(src_client, model_run, "", "MLmodel", max_level=1) == ["model/MLmodel"]
    assert find_artifacts(src_client, model_run, path="notes", target="readme.txt") == ["notes/readme.txt"]
    assert find_artifacts(src_client, model_run, "", "MLmodel", max_level=0) == []

    updated = update_mlmodel_run_id(mlflow_client=src_client, run_id=model_run)
    assert sorted(updated) == ["model/MLmodel", "other_models/model-onnx/MLmodel"]
    assert _mlmodel_run_id(src_client, model_run, "model/MLmodel") == model_run
    assert _mlmodel_run_id(src_client, model_run, "other_models/model-onnx/MLmodel") == model_run
    assert _mlmodel_run_id(src_client, model_run, "model/metadata/MLmodel") == "source-run-id"
    assert update_mlmodel_run_id(src_client, model_run) == []  # nothing left to fix


def test_model_name_of_an_artifact_path():
    assert get_model_name("dbfs:/databricks/mlflow-tracking/1812/abc/artifacts/model") == "model"
    assert get_model_name("mlflow-artifacts:/1/abc/artifacts/model/sklearn") == "model/sklearn"
    assert get_model_name("runs:/abc/model") == "model"


def test_mlflow_utils_experiments_and_runs(src_client, experiment, model_run, uniq):
    name, exp_id = experiment
    assert mlflow_utils.get_experiment(src_client, name).experiment_id == exp_id
    assert mlflow_utils.get_experiment(mlflow_client=src_client, exp_id_or_name=exp_id).name == name
    second = src_client.create_run(exp_id, start_time=2_000).info.run_id
    assert mlflow_utils.get_first_run(src_client, exp_id).info.run_id == model_run
    assert mlflow_utils.get_last_run(src_client, name).info.run_id == second

    mlflow_utils.set_experiment_description(src_client, exp_id, "about it")
    assert mlflow_utils.get_experiment_description(src_client.get_experiment(exp_id)) == "about it"

    # the reference's call form: (client, dbx_client, name, tags) -> experiment id; created once, then reused
    new_id = mlflow_utils.set_experiment(src_client, None, f"api-set-{uniq}", tags={"k": "v"})
    assert isinstance(new_id, str) and src_client.get_experiment(new_id).tags["k"] == "v"
    assert mlflow_utils.set_experiment(mlflow_client=src_client, dbx_client=None, exp_name=f"api-set-{uniq}") == new_id
    assert mlflow_utils.set_experiment(src_client, f"api-set-{uniq}") == (new_id, False)  # our form
    assert mlflow_utils.delete_experiment(src_client, f"api-set-{uniq}")
    assert src_client.get_experiment(new_id).lifecycle_stage == "deleted"


def test_tracking_uri_tweak_restores_the_global_uri(src_client):
    before = mlflow.get_tracking_uri()
    with mlflow_utils.MlflowTrackingUriTweak(src_client):
        assert mlflow.get_tracking_uri() == src_client.tracking_uri
        assert mlflow.search_experiments(max_results=1)  # fluent calls reach the client's server
    assert mlflow.get_tracking_uri() == before


def test_download_artifacts(src_client, model_run, uniq, tmp_path):
    path = mlflow_utils.download_artifacts(src_client, f"runs:/{model_run}/notes", dst_path=str(tmp_path / "a"))
    assert open(os.path.join(path, "readme.txt")).read() == "hello"
    name = f"api-dl-{uniq}"
    src_client.create_registered_model(name)
    src_client.create_model_version(name, f"runs:/{model_run}/notes", model_run)
    path = mlflow_utils.download_artifacts(client=src_client, download_uri=f"models:/{name}/1",
                                           dst_path=str(tmp_path / "b"))
    assert open(os.path.join(path, "readme.txt")).read() == "hello"
    model_utils.delete_model(src_client, name)


def test_registered_model_helpers(src_client, uniq):
    name = f"api-rm-{uniq}"
    assert model_utils.create_model(src_client, name, {"description": "d", "tags": [{"key": "a", "value": "1"}]},
                                    import_metadata=True) is True
    assert model_utils.create_model(src_client, name, {}, False) is False
    model = model_utils.get_registered_model(mlflow_client=src_client, model_name=name)
    assert model["description"] == "d" and model["tags"] == [{"key": "a", "value": "1"}]
    assert model_utils.is_unity_catalog_model("cat.schema.m") and not model_utils.is_unity_catalog_model(name)
    assert not model_utils._is_sagemaker(src_client)
    model_utils.delete_model(src_client, name)  # default sleep_time=5 must not sleep
    assert not model_utils.model_exists(src_client, name)


def test_prompt_delete(src_client, uniq):
    name = f"api-prompt-{uniq}"
    src_client.register_prompt(name, "Hello {{x}}")
    src_client.register_prompt(name, "Hi {{x}}")
    assert prompt_utils.delete_prompt(client=src_client, prompt_name=name) is True
    assert src_client.get_prompt(name) is None
    assert prompt_utils.delete_prompt(src_client, name) is False


def test_nested_tags_links_children_and_skips_orphans(dst_client, experiment):
    exp_id = dst_client.create_experiment(f"{experiment[0]}-nested")
    parent, child, orphan = (dst_client.create_run(exp_id).info.run_id for _ in range(3))
    mapping = {"src-parent": {"dst_run_id": parent, "src_parent_run_id": None},
               "src-child": {"dst_run_id": child, "src_parent_run_id": "src-parent"},
               "src-orphan": {"dst_run_id": orphan, "src_parent_run_id": "not-exported"}}
    assert utils.nested_tags(dst_client, mapping) == 1
    assert dst_client.get_run(child).data.tags["mlflow.parentRunId"] == parent
    assert "mlflow.parentRunId" not in dst_client.get_run(orphan).data.tags


def test_paging_iterator(src_client, experiment, model_run):
    runs = list(SearchRunsIterator(src_client, [experiment[1]], max_results=1))
    assert model_run in {r.info.run_id for r in runs} and len(runs) >= 2


def test_dump_mlflow_client_shows_no_secret(src_server, capsys):
    client = MlflowClient(src_server.uri.replace("http://", "http://alice:s3cret-pw@"))
    dump_utils.dump_mlflow_client(client, msg="source")
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out and f"127.0.0.1:{src_server.port}" in out
    dump_utils.dump_as_json({"b": 1, "a": [1]}, title="T", sort_keys=True)
    assert capsys.readouterr().out == 'T:\n{\n  "a": [\n    1\n  ],\n  "b": 1\n}\n'


def test_version_and_package_info():
    info = version_utils.get_version_info()
    assert info["mlflow_version"] == mlflow.__version__
    assert info["supports_traces"] and info["supports_prompts"] and info["supports_logged_models"]
    assert info["supports_evaluation_datasets"] and version_utils.has_assessment_support()
    assert pkg_version.get_version() == version("mlflow-export-import")


def test_filesystem(tmp_path):
    assert filesystem.mk_dbfs_path("/dbfs/mnt/x") == "dbfs:/mnt/x"
    assert filesystem.mk_local_path("dbfs:/mnt/x") == "/dbfs/mnt/x"
    assert filesystem.mk_local_path("/tmp/x") == "/tmp/x"
    fs = filesystem.get_filesystem(str(tmp_path))
    assert isinstance(fs, filesystem.LocalFileSystem)
    assert isinstance(filesystem.get_filesystem("dbfs:/mnt/x"), filesystem.DatabricksFileSystem)
    fs.mkdirs(str(tmp_path / "a" / "b"))
    fs.write(str(tmp_path / "a" / "b" / "f.txt"), "text")
    fs.cp(str(tmp_path / "a"), str(tmp_path / "c"), recursive=True)
    assert fs.ls(str(tmp_path / "c" / "b")) == ["f.txt"]
    assert filesystem.exists(str(tmp_path / "c" / "b" / "f.txt")) is True
    fs.rm(str(tmp_path / "c"), recurse=True)
    assert filesystem.exists(str(tmp_path / "c")) is False


def test_utils():
    assert utils.get_threads(use_threads=False) == 1 and utils.get_threads(True) >= 1
    assert utils.string_to_list("a,b,") == ["a", "b"] and utils.string_to_list(None) == []
    tags = {"mlflow.user": "u", "mlflow.rootRunId": "r", "mlflow.source.name": "nb", "k": "v"}
    assert utils.create_mlflow_tags_for_databricks_import(tags) == {"mlflow.source.name": "nb", "k": "v"}
    assert utils.set_dst_user_id({}, "alice", use_src_user_id=True) == {"mlflow.user": "alice"}
    assert utils.set_dst_user_id({}, "alice", use_src_user_id=False)["mlflow.user"] == utils.get_user_id()
    assert utils.mk_key_value_array_dict([{"key": "a", "value": 1}], "key", "value") == {"a": 1}
    assert not utils.calling_databricks(MlflowClient("http://127.0.0.1:1"))
    assert utils.calling_databricks(type("C", (), {"tracking_uri": "databricks://p"})())


def test_io_utils_spans_file(tmp_path):
    path = str(tmp_path / "traces.json")
    io_utils.write_file(path, {"spans": [{"name": "root"}]})
    assert io_utils.read_spans_data_file(path) == [{"name": "root"}]
    assert json.load(open(path)) == {"spans": [{"name": "root"}]}


def test_merge_experiment_export_summaries():
    info1 = {"status": {"duration": 1.04, "experiments": 1, "total_runs": 2, "ok_runs": 2, "failed_runs": 0}}
    info2 = {"status": {"duration": 2.0, "experiments": 2, "total_runs": 3, "ok_runs": 2, "failed_runs": 1}}
    merged = experiments_merge_utils.merge_info(info1, info2)
    assert merged["status"] == {"duration": 3.0, "experiments": 3, "total_runs": 5, "ok_runs": 4, "failed_runs": 1}
    assert info1["status"]["experiments"] == 1  # the first summary itself is left as it was
    assert experiments_merge_utils.merge_info({"duration": 1, "experiments": 1}, {"duration": 1, "ok_runs": 2}) \
        == {"duration": 2, "experiments": 1, "total_runs": 0, "ok_runs": 2, "failed_runs": 0}
    assert experiments_merge_utils.merge_mlflow({"experiments": [1]}, {"experiments": [2]}) == {"experiments": [1, 2]}
