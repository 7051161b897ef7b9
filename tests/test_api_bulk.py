"""The reference's bulk functions, called by their reference paths and keyword names as a notebook would
(`export_models(model_names=[...], output_dir=..., mlflow_client=...)`), against real servers: the shapes they
return (python-api.md §2.1) and what reached the destination."""
import os
import shutil
from contextlib import contextmanager

import pytest
from mlflow import MlflowClient

from mlflow_export_import.bulk import bulk_utils, model_utils, rename_utils
from mlflow_export_import.bulk.export_all import export_all
from mlflow_export_import.bulk.export_evaluation_datasets import export_evaluation_datasets
from mlflow_export_import.bulk.export_experiments import export_experiments
from mlflow_export_import.bulk.export_logged_models import export_logged_models
from mlflow_export_import.bulk.export_models import export_models
from mlflow_export_import.bulk.export_prompts import export_prompts
from mlflow_export_import.bulk.export_traces import export_traces
from mlflow_export_import.bulk.import_all import import_all
from mlflow_export_import.bulk.import_evaluation_datasets import import_evaluation_datasets
from mlflow_export_import.bulk.import_experiments import import_experiments
from mlflow_export_import.bulk.import_logged_models import import_logged_models
from mlflow_export_import.bulk.import_models import import_models
from mlflow_export_import.bulk.import_prompts import import_prompts
from mlflow_export_import.bulk.import_traces import import_traces
from mlflow_export_import.common import io_utils
from tests.mlflow3_workload import make_logged_model, make_trace
from tests.workload import make_run


@pytest.fixture(scope="module")
def src(src_server):
    """Two experiments of one prefix (a run each), a model with a version of each run, a logged model and a trace in
    the first experiment, a prompt and an evaluation dataset."""
    client = src_server.client()
    tag = f"api-bulk-{os.getpid()}"
    exps = [client.create_experiment(f"{tag}-e{i}") for i in range(2)]
    runs = [make_run(client, exp, f"r{i}", params=1, metrics=1, steps=1, tags=1) for i, exp in enumerate(exps)]
    model = f"{tag}-model"
    client.create_registered_model(model)
    for run_id in runs:
        client.create_model_version(model, f"runs:/{run_id}/model", run_id)
    logged_model = make_logged_model(client, exps[0], "lm", run_id=runs[0])
    trace_id = make_trace(client, exps[0], "tr", run_id=runs[0])
    client.register_prompt(f"{tag}-prompt", "Hi {{x}}")
    store = client._tracking_client.store
    dataset = store.create_dataset(f"{tag}-ds", experiment_ids=[exps[0]])
    store.upsert_dataset_records(dataset.dataset_id, [{"inputs": {"q": "a"}, "expectations": {"a": "b"}}])
    return {"client": client, "tag": tag, "exps": exps, "runs": runs, "model": model, "logged_model": logged_model,
            "trace_id": trace_id, "prompt": f"{tag}-prompt", "dataset": f"{tag}-ds"}


def test_selectors(src):
    client, tag = src["client"], src["tag"]
    assert sorted(bulk_utils.get_experiment_ids(mlflow_client=client, experiment_ids=f"{tag}-*")) == \
        sorted(src["exps"])
    assert bulk_utils.get_model_names(client, f"{tag}-*") == [src["model"]]
    assert [m.model_id for m in bulk_utils.get_logged_models(client, src["exps"])] == [src["logged_model"]]
    assert [t.info.trace_id for t in bulk_utils.get_traces(client, src["exps"], run_id=src["runs"][0])] == \
        [src["trace_id"]]
    assert model_utils.get_experiments_runs_of_models(client, [src["model"]]) == \
        {src["exps"][0]: [src["runs"][0]], src["exps"][1]: [src["runs"][1]]}
    renames = {"/User/foo": "/User/bar", "": "ignored"}
    assert rename_utils.rename("/User/foo/home", renames) == "/User/bar/home"
    assert rename_utils.rename("foo", renames, object_name="experiment") == "foo"
    assert rename_utils.get_renames(renames) is renames


def test_experiments_round_trip(src, dst_client, tmp_path):
    names = [f"{src['tag']}-e0", f"{src['tag']}-e1"]
    info = export_experiments(experiments=names, output_dir=str(tmp_path), mlflow_client=src["client"])
    assert info["status"]["experiments"] == 2 and info["status"]["ok_runs"] == 2
    assert info["experiment_names"] == names
    renames = {n: n.replace("api-bulk", "api-bulk-imported") for n in names}
    results = import_experiments(input_dir=str(tmp_path), experiment_renames=renames, mlflow_client=dst_client)
    assert sorted(src_id for src_id, _ in results) == sorted(src["exps"])
    for src_exp_id, run_info_map in results:
        (src_run, dst_info), = run_info_map.items()
        assert src_run in src["runs"]
        assert dst_client.get_experiment(dst_info.experiment_id).name == renames[
            src["client"].get_experiment(src_exp_id).name]


def test_models_round_trip(src, dst_client, tmp_path):
    info = export_models(model_names=[src["model"]], output_dir=str(tmp_path), mlflow_client=src["client"])
    assert info["models"]["num_ok_models"] == 1 and info["models"]["failed_models"] == []
    dst_model = f"{src['model']}-imported"
    exp_renames = {f"{src['tag']}-e{i}": f"{src['tag']}-models-e{i}" for i in range(2)}
    result = import_models(input_dir=str(tmp_path), delete_model=False, model_renames={src["model"]: dst_model},
                           experiment_renames=exp_renames, mlflow_client=dst_client)
    assert set(result) == {"duration", "experiments_import", "models_import"}
    assert result["experiments_import"]["experiments"] == 2 and result["experiments_import"]["exceptions"] == 0
    assert result["models_import"]["models"] == 1
    versions = sorted(dst_client.search_model_versions(f"name='{dst_model}'"), key=lambda v: int(v.version))
    assert [v.version for v in versions] == ["1", "2"]
    assert [dst_client.get_experiment(dst_client.get_run(v.run_id).info.experiment_id).name for v in versions] == \
        [f"{src['tag']}-models-e0", f"{src['tag']}-models-e1"]


def test_mlflow3_bulk_round_trips(src, dst_client, tmp_path):
    client, exp0 = src["client"], src["exps"][0]
    ok, failed = export_logged_models(experiment_ids=[exp0], output_dir=str(tmp_path / "lm"), mlflow_client=client)
    assert (ok, failed) == ([src["logged_model"]], [])
    ok, failed = export_traces(experiment_ids=[exp0], output_dir=str(tmp_path / "tr"), run_id=None,
                               mlflow_client=client)
    assert (ok, failed) == ([src["trace_id"]], [])
    # both re-create the source experiment by name in the destination
    import_logged_models(input_dir=str(tmp_path / "lm"), mlflow_client=dst_client)
    import_traces(input_dir=str(tmp_path / "tr"), mlflow_client=dst_client)
    dst_exp = dst_client.get_experiment_by_name(f"{src['tag']}-e0").experiment_id
    assert [m.name for m in dst_client.search_logged_models([dst_exp])] == ["lm"]
    assert len(dst_client.search_traces(locations=[dst_exp])) == 1

    summary = export_prompts(output_dir=str(tmp_path / "p"), prompt_names=[src["prompt"]], mlflow_client=client)
    assert (summary["total_prompts"], summary["successful_exports"], summary["failed_exports"]) == (1, 1, 0)
    counts = import_prompts(input_dir=str(tmp_path / "p"), mlflow_client=dst_client)
    assert (counts["total_prompts"], counts["successful_imports"], counts["failed_imports"]) == (1, 1, 0)
    again = import_prompts(str(tmp_path / "p"), delete_prompt=False, mlflow_client=dst_client)
    assert (again["successful_imports"], again["skipped_imports"]) == (0, 1)

    summary = export_evaluation_datasets(output_dir=str(tmp_path / "d"), dataset_names=[src["dataset"]],
                                         mlflow_client=client)
    assert (summary["total_datasets"], summary["successful_exports"], summary["failed_exports"]) == (1, 1, 0)
    assert [d["name"] for d in summary["datasets"]] == [src["dataset"]]
    counts = import_evaluation_datasets(input_dir=str(tmp_path / "d"), mlflow_client=dst_client)
    assert (counts["total_datasets"], counts["successful_imports"], counts["failed_imports"]) == (1, 1, 0)


@contextmanager
def _cwd(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def test_export_all_and_import_all(src_server, servers_dir, dst_client, tmp_path, uniq):
    """A whole (small) server: a local SQLite store, so that export_all sees only what this test made. Its database
    is a copy of the session servers' migrated empty one (migrating takes seconds)."""
    shutil.copy(os.path.join(servers_dir, "template.db"), tmp_path / "src.db")
    with _cwd(tmp_path):  # nothing may land in the current folder
        store = MlflowClient(f"sqlite:///{tmp_path}/src.db")
        exp = store.create_experiment(f"api-all-{uniq}", artifact_location=str(tmp_path / "artifacts"))
        run_id = make_run(store, exp, "r", params=1, metrics=1, steps=1, tags=1)
        store.create_registered_model(f"api-all-{uniq}")
        store.create_model_version(f"api-all-{uniq}", f"runs:/{run_id}/model", run_id)
        store.register_prompt(f"api-all-{uniq}-prompt", "Yo {{x}}")
        out = str(tmp_path / "out")
        export_all(output_dir=out, mlflow_client=store)
    manifest = io_utils.read_file(os.path.join(out, "manifest.json"))
    assert manifest["info"]["options"]["stages"] == "Production,Staging,Archived,None"
    import_all(input_dir=out, delete_model=False, mlflow_client=dst_client)
    vr = dst_client.get_model_version(f"api-all-{uniq}", "1")
    assert dst_client.get_run(vr.run_id).data.params == {"p0": "value-0"}
    assert dst_client.get_experiment(dst_client.get_run(vr.run_id).info.experiment_id).name == f"api-all-{uniq}"
    assert dst_client.get_prompt_version(f"api-all-{uniq}-prompt", 1).template == "Yo {{x}}"
