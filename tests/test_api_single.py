"""The reference's single-object and copy functions, called by their reference paths and keyword names as a notebook
would (`export_run(run_id=..., output_dir=..., mlflow_client=...)`), between the two real session servers: the
shapes they return and what reached the destination."""
import os

import mlflow
import pytest
from mlflow.entities import Run
from mlflow.entities.model_registry import ModelVersion
from mlflow.entities.trace_location import MlflowExperimentLocation

from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.copy import copy_model_version, copy_run
from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import export_evaluation_dataset
from mlflow_export_import.evaluation_dataset.import_evaluation_dataset import import_evaluation_dataset
from mlflow_export_import.experiment import nested_runs_utils, oss_nested_runs_utils
from mlflow_export_import.experiment.export_experiment import export_experiment
from mlflow_export_import.experiment.import_experiment import import_experiment
from mlflow_export_import.logged_model.export_logged_model import export_logged_model
from mlflow_export_import.logged_model.import_logged_model import import_logged_model
from mlflow_export_import.model.export_model import export_model
from mlflow_export_import.model.import_model import (
    BulkModelImporter, ModelImporter, _extract_model_path, _path_join, import_model)
from mlflow_export_import.model.model_utils import _get_logged_model_artifact_path
from mlflow_export_import.model_version.export_model_version import export_model_version
from mlflow_export_import.model_version.import_model_version import import_model_version
from mlflow_export_import.prompt.export_prompt import _get_prompt_safe, export_prompt
from mlflow_export_import.prompt.import_prompt import import_prompt
from mlflow_export_import.run import run_data_importer
from mlflow_export_import.run.export_run import export_run
from mlflow_export_import.run.import_run import import_run
from mlflow_export_import.trace.export_trace import export_trace
from mlflow_export_import.trace.import_trace import import_trace, set_trace_metadata
from tests.mlflow3_workload import make_logged_model, make_trace, tracking_uri
from tests.workload import make_run


@pytest.fixture(scope="module")
def src(src_server):
    """One experiment with a parent and a child run (with an MLmodel), a model with a runs:/ version and an
    artifact-URI version, a logged model of the parent, a trace, a prompt and an evaluation dataset."""
    client = src_server.client()
    tag = f"api-single-{os.getpid()}"
    exp_id = client.create_experiment(tag)
    parent = make_run(client, exp_id, "parent", params=2, metrics=1, steps=2, tags=1)
    child = make_run(client, exp_id, "child", parent_id=parent, params=1, metrics=1, steps=1, tags=1, artifacts=False)
    model = f"{tag}-model"
    client.create_registered_model(model, description="m")
    client.create_model_version(model, f"runs:/{parent}/model", parent, description="v1")
    client.create_model_version(model, f"{client.get_run(parent).info.artifact_uri}/model", parent)
    client.transition_model_version_stage(model, "2", "Staging")
    logged_model = make_logged_model(client, exp_id, "lm", run_id=parent)
    trace_id = make_trace(client, exp_id, "tr")
    client.register_prompt(f"{tag}-prompt", "Hello {{name}}", commit_message="first")
    dataset = client._tracking_client.store.create_dataset(f"{tag}-ds", tags={"k": "v"}, experiment_ids=[exp_id])
    client._tracking_client.store.upsert_dataset_records(dataset.dataset_id, [{"inputs": {"q": "2+2"},
                                                                               "expectations": {"a": "4"}}])
    return {"client": client, "tag": tag, "exp_id": exp_id, "parent": parent, "child": child, "model": model,
            "logged_model": logged_model, "trace_id": trace_id, "prompt": f"{tag}-prompt", "dataset": f"{tag}-ds"}


def test_run_round_trip(src, dst_client, tmp_path):
    run = export_run(run_id=src["parent"], output_dir=str(tmp_path / "parent"), mlflow_client=src["client"])
    assert isinstance(run, Run) and run.info.run_id == src["parent"]
    export_run(src["child"], str(tmp_path / "child"), mlflow_client=src["client"])
    dst_run, src_parent = import_run(input_dir=str(tmp_path / "parent"), experiment_name=f"{src['tag']}-run",
                                     mlflow_client=dst_client)
    assert isinstance(dst_run, Run) and src_parent is None
    assert dst_run.data.params == src["client"].get_run(src["parent"]).data.params
    dst_child, src_parent = import_run(str(tmp_path / "child"), f"{src['tag']}-run", mlflow_client=dst_client)
    assert src_parent == src["parent"]
    assert dst_child.data.tags["mlflow.parentRunId"] == dst_run.info.run_id


def test_experiment_round_trip(src, dst_client, tmp_path):
    ok, failed = export_experiment(experiment_id_or_name=src["tag"], output_dir=str(tmp_path),
                                   mlflow_client=src["client"])
    assert (ok, failed) == (2, 0)
    run_info_map = import_experiment(experiment_name=f"{src['tag']}-exp", input_dir=str(tmp_path),
                                     mlflow_client=dst_client)
    assert set(run_info_map) == {src["parent"], src["child"]}
    dst_child = dst_client.get_run(run_info_map[src["child"]].run_id)
    assert dst_child.data.tags["mlflow.parentRunId"] == run_info_map[src["parent"]].run_id


def test_model_round_trip_and_importers(src, dst_client, tmp_path):
    with pytest.raises(MlflowExportImportException) as ex:
        export_model(src["model"], str(tmp_path / "no"), stages="Production", versions="1",
                     mlflow_client=src["client"])
    assert ex.value.http_status_code == 400
    assert export_model(model_name=src["model"], output_dir=str(tmp_path), mlflow_client=src["client"]) == \
        (True, src["model"])
    dst_name = f"{src['model']}-imported"
    import_model(model_name=dst_name, experiment_name=f"{src['tag']}-models", input_dir=str(tmp_path),
                 mlflow_client=dst_client)
    versions = sorted(dst_client.search_model_versions(f"name='{dst_name}'"), key=lambda v: int(v.version))
    assert [(v.version, v.current_stage) for v in versions] == [("1", "None"), ("2", "Staging")]
    assert versions[0].source == f"runs:/{versions[0].run_id}/model"

    # the importer classes: a version from its exported dict, then a whole model from an export directory
    src_vr = io_utils.read_file_mlflow(str(tmp_path / "model.json"))["registered_model"]["versions"][0]
    one = f"{src['model']}-one"
    dst_client.create_registered_model(one)
    vr = ModelImporter(mlflow_client=dst_client).import_version(model_name=one, src_vr=src_vr,
                                                                dst_run_id=versions[0].run_id)
    assert isinstance(vr, ModelVersion) and vr.source == f"runs:/{versions[0].run_id}/model"
    bulk = f"{src['model']}-bulk"
    run_info_map = {src["parent"]: dst_client.get_run(versions[0].run_id).info}
    BulkModelImporter(run_info_map, mlflow_client=dst_client).import_model(model_name=bulk, input_dir=str(tmp_path))
    assert {v.run_id for v in dst_client.search_model_versions(f"name='{bulk}'")} == {versions[0].run_id}


def test_model_version_round_trip(src, dst_client, tmp_path):
    vr = export_model_version(model_name=src["model"], version="2", output_dir=str(tmp_path),
                              mlflow_client=src["client"])
    assert vr == src["client"].get_model_version(src["model"], "2")
    dst_name = f"{src['model']}-version"
    dst_vr = import_model_version(model_name=dst_name, experiment_name=f"{src['tag']}-versions",
                                  input_dir=str(tmp_path), create_model=True, mlflow_client=dst_client)
    assert dst_vr == dst_client.get_model_version(dst_name, dst_vr.version)
    assert dst_vr.current_stage == "Staging" and dst_vr.run_id != src["parent"]


def test_copy_functions(src, src_server, dst_server, dst_client):
    dst_run = copy_run.copy(src_run_id=src["parent"], dst_experiment_name=f"{src['tag']}-copied",
                            src_mlflow_uri=src_server.uri, dst_mlflow_uri=dst_server.uri)
    assert isinstance(dst_run, Run) and dst_client.get_run(dst_run.info.run_id).data.params == dst_run.data.params
    dst_name = f"{src['model']}-copied"
    src_vr, dst_vr = copy_model_version.copy(
        src_model_name=src["model"], src_model_version="2", dst_model_name=dst_name,
        dst_experiment_name=f"{src['tag']}-copied", src_registry_uri=src_server.uri, dst_registry_uri=dst_server.uri,
        copy_stages_and_aliases=True)
    assert src_vr == src["client"].get_model_version(src["model"], "2")
    assert dst_vr == dst_client.get_model_version(dst_name, dst_vr.version)
    assert dst_vr.current_stage == "Staging"


def test_mlflow3_objects_round_trip(src, dst_client, tmp_path):
    client, exp = src["client"], f"{src['tag']}-mlflow3"
    lm = export_logged_model(model_id=src["logged_model"], output_dir=str(tmp_path / "lm"), mlflow_client=client)
    assert lm.model_id == src["logged_model"]
    import_logged_model(input_dir=str(tmp_path / "lm"), experiment_name=exp, mlflow_client=dst_client)
    exp_id = dst_client.get_experiment_by_name(exp).experiment_id
    assert [m.name for m in dst_client.search_logged_models([exp_id])] == ["lm"]

    trace = export_trace(request_id=src["trace_id"], output_dir=str(tmp_path / "trace"), mlflow_client=client)
    assert trace.info.trace_id == src["trace_id"]
    dst_trace = import_trace(input_dir=str(tmp_path / "trace"), experiment_name=exp, mlflow_client=dst_client)
    assert dst_trace.request_id and dst_trace.request_id != src["trace_id"]
    assert len(dst_client.get_trace(dst_trace.request_id).data.spans) == 3

    pv = export_prompt(prompt_name=src["prompt"], prompt_version=1, output_dir=str(tmp_path / "prompt"),
                       mlflow_client=client)
    assert (pv.name, pv.version) == (src["prompt"], 1)
    new_name = f"{src['prompt']}-renamed"
    assert import_prompt(input_dir=str(tmp_path / "prompt"), prompt_name=new_name, mlflow_client=dst_client) == \
        (new_name, 1)
    assert import_prompt(str(tmp_path / "prompt"), new_name, mlflow_client=dst_client) == (new_name, None)
    assert dst_client.get_prompt_version(new_name, 1).template == "Hello {{name}}"

    ds = export_evaluation_dataset(output_dir=str(tmp_path / "ds"), dataset_name=src["dataset"], mlflow_client=client)
    assert ds.name == src["dataset"]
    name, dataset_id = import_evaluation_dataset(input_dir=str(tmp_path / "ds"), mlflow_client=dst_client)
    assert name == src["dataset"] and dataset_id
    assert import_evaluation_dataset(str(tmp_path / "ds"), mlflow_client=dst_client) == (name, dataset_id)


def test_run_data_importer_reference_form(src, dst_client, tmp_path):
    export_run(src["parent"], str(tmp_path), mlflow_client=src["client"])
    run_dct = io_utils.read_file_mlflow(str(tmp_path / "run.json"))
    exp_id = dst_client.create_experiment(f"{src['tag']}-data")
    run_id = dst_client.create_run(exp_id).info.run_id
    run_data_importer.import_run_data(dst_client, run_dct, run_id, import_source_tags=True, src_user_id="zed",
                                      use_src_user_id=True, in_databricks=False)
    run = dst_client.get_run(run_id)
    assert run.data.params == run_dct["params"]
    assert len(dst_client.get_metric_history(run_id, "m0")) == 2
    assert run.data.tags["mlflow.user"] == "zed"
    assert run.data.tags["mlflow_exim.run_info.run_id"] == src["parent"]
    other = dst_client.create_run(exp_id).info.run_id
    run_data_importer._log_params(dst_client, run_dct, other)
    assert dst_client.get_run(other).data.params == run_dct["params"]


def test_nested_runs(src):
    client, parent, child = src["client"], src["parent"], src["child"]
    found = nested_runs_utils.get_nested_runs(client, [client.get_run(parent)])
    assert [r.info.run_id for r in found] == [parent, child]
    assert [r.info.run_id for r in oss_nested_runs_utils.get_nested_runs_for_experiment(client, src["exp_id"])] \
        == [child]
    assert [r.info.run_id for r in oss_nested_runs_utils.get_nested_runs(client, [child])] == [child]
    client.set_tag(child, "mlflow.rootRunId", parent)  # as Databricks sets it
    found = nested_runs_utils.get_nested_runs_by_rootRunId(client, [client.get_run(parent)])
    assert {r.info.run_id for r in found} == {parent, child}


def test_model_path_helpers(src):
    rid = "4b0ce88fd34e45fc8ca08876127299ce"
    base = f"dbfs:/databricks/mlflow-tracking/1812/{rid}"
    assert _extract_model_path(base, rid) == ""
    assert _extract_model_path(f"{base}/artifacts", rid) == ""
    assert _extract_model_path(f"{base}/artifacts/", rid) == ""
    assert _extract_model_path(f"{base}/artifacts/model", rid) == "model"
    assert _extract_model_path(f"{base}/artifacts/model/sklearn", rid) == "model/sklearn"
    with pytest.raises(MlflowExportImportException) as ex:
        _extract_model_path(f"{base}/artifacts/model", "another-run")
    assert ex.value.http_status_code == 404
    assert _path_join("dbfs:\\mlflow\\1812", "model") == "dbfs:/mlflow/1812/model"
    assert _get_logged_model_artifact_path(src["logged_model"], mlflow_client=src["client"]) == \
        src["client"].get_logged_model(src["logged_model"]).artifact_location


def test_prompt_lookup_and_trace_metadata(src):
    client = src["client"]
    assert _get_prompt_safe(src["prompt"], 1, mlflow_client=client).template == "Hello {{name}}"
    assert _get_prompt_safe(src["prompt"], 9, mlflow_client=client) is None
    with tracking_uri(client.tracking_uri):
        with mlflow.start_span("meta", trace_destination=MlflowExperimentLocation(src["exp_id"])) as span:
            set_trace_metadata(span.trace_id, {"origin": "notebook"})
    assert client.get_trace(span.trace_id).info.trace_metadata["origin"] == "notebook"
    with pytest.raises(MlflowExportImportException):
        set_trace_metadata(span.trace_id, {"late": "x"})  # the trace has ended
