import json
import os
import shutil

from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk.export_logged_models import main as export_logged_models_main
from mlflow_export_import.bulk.import_logged_models import main as import_logged_models_main
from mlflow_export_import.common.id_map import LOGGED_MODELS, IdMap
from mlflow_export_import.common.report import Report
from mlflow_export_import.experiment.export_experiment import export_experiment, main as export_experiment_main
from mlflow_export_import.experiment.import_experiment import import_experiment, main as import_experiment_main
from mlflow_export_import.logged_model.export_logged_model import export_logged_model, main as export_lm_main
from mlflow_export_import.logged_model.import_logged_model import (
    SRC_MODEL_ID_TAG, import_logged_model, main as import_lm_main)
from tests.conftest import FIXTURES_DIR
from tests.mlflow3_workload import link_input, make_logged_model, make_trace, model_files
from tests.workload import make_run, runs_by_name


def _models(client, experiment_id):
    return client.search_logged_models(experiment_ids=[experiment_id], max_results=100)


def _view(lm):
    return {"name": lm.name, "status": lm.status, "model_type": lm.model_type, "params": lm.params,
            "tags": {k: v for k, v in lm.tags.items() if not k.startswith("mlflow_exim.")}}


def _mlmodel(client, model_id, tmp_path):
    repo_dir = tmp_path / f"dl_{model_id}"
    repo_dir.mkdir()
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository
    lm = client.get_logged_model(model_id)
    get_artifact_repository(lm.artifact_location, tracking_uri=client.tracking_uri).download_artifacts(
        "MLmodel", str(repo_dir))
    return (repo_dir / "MLmodel").read_text()


def test_logged_model_round_trip_without_its_run(src_client, dst_client, uniq, tmp_path):
    """The source run is not imported: the model has no source run and no run is created for it."""
    exp_id = src_client.create_experiment(f"lm_src_{uniq}")
    run_id = make_run(src_client, exp_id, "r", artifacts=False)
    model_id = make_logged_model(src_client, exp_id, "clf", run_id)
    report, id_map = Report(), IdMap()
    assert export_logged_model(model_id, str(tmp_path), mlflow_client=src_client, report=report) is not None
    dst = import_logged_model(str(tmp_path), f"lm_dst_{uniq}", mlflow_client=dst_client, report=report,
                              id_map=id_map)
    assert not report.has_failures, report.failures
    src = src_client.get_logged_model(model_id)
    assert _view(dst) == _view(src)
    assert dst.tags[SRC_MODEL_ID_TAG] == model_id and id_map.get(LOGGED_MODELS, model_id) == dst.model_id
    assert not dst.source_run_id
    assert dst_client.search_runs([dst.experiment_id], run_view_type=ViewType.ALL) == []
    assert model_files(dst_client, dst.model_id).keys() == model_files(src_client, model_id).keys()
    assert model_files(dst_client, dst.model_id)["data/weights.bin"] == 1024
    mlmodel = _mlmodel(dst_client, dst.model_id, tmp_path)
    assert f"model_id: {dst.model_id}" in mlmodel and f"model_uuid: {dst.model_id[2:]}" in mlmodel
    assert model_id not in mlmodel and run_id not in mlmodel

    again = import_logged_model(str(tmp_path), f"lm_dst_{uniq}", mlflow_client=dst_client, report=report)
    assert again.model_id == dst.model_id and len(_models(dst_client, dst.experiment_id)) == 1


def test_single_logged_model_cli(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"lm_cli_{uniq}")
    model_id = make_logged_model(src_client, exp_id, "free", status="FAILED")
    res = CliRunner().invoke(export_lm_main, ["--model-id", model_id, "--output-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(import_lm_main, ["--input-dir", str(tmp_path), "--experiment-name", f"lm_cli_{uniq}",
                                              "--mlmodel-fix", "True"], env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    [dst] = _models(dst_client, dst_client.get_experiment_by_name(f"lm_cli_{uniq}").experiment_id)
    assert _view(dst) == _view(src_client.get_logged_model(model_id))


def test_bulk_logged_models_cli_links_imported_runs(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    """export-logged-models / import-logged-models: a model finds the run an earlier experiment import made."""
    name = f"lm_bulk_{uniq}"
    exp_id = src_client.create_experiment(name)
    run_id = make_run(src_client, exp_id, "r", artifacts=False)
    exp_dir, models_dir = str(tmp_path / "exp"), str(tmp_path / "models")
    export_experiment(name, exp_dir, mlflow_client=src_client)  # the run only: no models yet
    model_ids = [make_logged_model(src_client, exp_id, f"m{i}", run_id, step=i, metric=False) for i in range(2)]
    import_experiment(name, exp_dir, mlflow_client=dst_client)
    src_env, dst_env = {"MLFLOW_TRACKING_URI": src_server.uri}, {"MLFLOW_TRACKING_URI": dst_server.uri}
    res = CliRunner().invoke(export_logged_models_main, ["--experiment-ids", exp_id, "--output-dir", models_dir],
                             env=src_env)
    assert res.exit_code == 0, res.output
    assert sorted(json.load(open(os.path.join(models_dir, "logged_models.json")))["mlflow"]["experiments"][0]
                  ["logged_models"]) == sorted(model_ids)
    for _ in range(2):
        res = CliRunner().invoke(import_logged_models_main, ["--input-dir", models_dir], env=dst_env)
        assert res.exit_code == 0, res.output
    dst_exp_id = dst_client.get_experiment_by_name(name).experiment_id
    dst_run = runs_by_name(dst_client, dst_exp_id)["r"]
    dst_models = _models(dst_client, dst_exp_id)
    assert sorted(m.name for m in dst_models) == ["m0", "m1"]
    assert {m.source_run_id for m in dst_models} == {dst_run.info.run_id}


def test_experiment_with_logged_models_and_traces_round_trips(fresh_pair, census_diff, tmp_path):
    src_server, dst_server = fresh_pair
    src, dst = src_server.client(), dst_server.client()
    exp_id = src.create_experiment("mlflow3", tags={"team": "ml"})
    trainer = make_run(src, exp_id, "train", artifacts=False)
    evaluator = make_run(src, exp_id, "evaluate", artifacts=False)
    trained = make_logged_model(src, exp_id, "trained", trainer, step=3)
    link_input(src, evaluator, trained)
    make_logged_model(src, exp_id, "second", evaluator, step=0, metric=False)
    make_logged_model(src, exp_id, "no_run", status="FAILED")
    discarded = make_run(src, exp_id, "discarded", artifacts=False)
    make_logged_model(src, exp_id, "of_deleted_run", discarded, step=4)
    src.delete_run(discarded)
    make_trace(src, exp_id, "by_run", run_id=evaluator)
    make_trace(src, exp_id, "alone")
    end_times = {r.info.run_name: r.info.end_time for r in src.search_runs([exp_id], run_view_type=ViewType.ALL)}

    out = str(tmp_path / "exp")
    res = CliRunner().invoke(export_experiment_main, ["--experiment", "mlflow3", "--output-dir", out,
                                                      "--export-deleted-runs", "True"],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    exp_file = json.load(open(os.path.join(out, "experiment.json")))
    assert exp_file["info"]["ok_logged_models"] == 4 and exp_file["info"]["ok_traces"] == 2
    assert len(exp_file["mlflow"]["logged_models"]) == 4 and len(exp_file["mlflow"]["traces"]) == 2
    for _ in range(2):  # re-running finds everything already imported
        res = CliRunner().invoke(import_experiment_main, ["--experiment-name", "mlflow3", "--input-dir", out],
                                 env={"MLFLOW_TRACKING_URI": dst_server.uri})
        assert res.exit_code == 0, res.output
    assert census_diff(src_server.uri, dst_server.uri) == {}
    dst_exp = dst.get_experiment_by_name("mlflow3").experiment_id
    dst_evaluator = dst.get_run(runs_by_name(dst, dst_exp)["evaluate"].info.run_id)  # search_runs has no model inputs
    dst_trained = [m.model_id for m in _models(dst, dst_exp) if m.name == "trained"]
    assert [m.model_id for m in dst_evaluator.inputs.model_inputs] == dst_trained
    assert {r.info.run_name: r.info.end_time for r in dst.search_runs([dst_exp], run_view_type=ViewType.ALL)} \
        == end_times


def test_filtered_experiment_export_has_no_stray_runs(src_client, dst_client, uniq, tmp_path):
    name = f"lm_filter_{uniq}"
    exp_id = src_client.create_experiment(name)
    kept = make_run(src_client, exp_id, "kept", artifacts=False)
    other = make_run(src_client, exp_id, "other", artifacts=False)
    kept_model = make_logged_model(src_client, exp_id, "of_kept", kept)
    make_logged_model(src_client, exp_id, "of_other", other)
    free_model = make_logged_model(src_client, exp_id, "free")
    make_trace(src_client, exp_id, "of_other", run_id=other)
    out = str(tmp_path / "exp")
    export_experiment(name, out, run_ids=kept, mlflow_client=src_client)
    assert sorted(os.listdir(os.path.join(out, "logged_models"))) == sorted(
        [kept_model, free_model, "logged_models.json"])
    assert not os.path.isdir(os.path.join(out, "traces"))
    report = Report()
    import_experiment(name, out, mlflow_client=dst_client, report=report)
    assert not report.has_failures, report.failures
    dst_exp = dst_client.get_experiment_by_name(name).experiment_id
    assert list(runs_by_name(dst_client, dst_exp)) == ["kept"]
    assert sorted(m.name for m in _models(dst_client, dst_exp)) == ["free", "of_kept"]


def test_reference_experiment_export_imports_logged_models(dst_client, uniq):
    """The reference's own export of an experiment with 2 logged models (linked to version runs) and traces."""
    name = f"ref_lm_{uniq}"
    src_dir = os.path.join(FIXTURES_DIR, "reference-exports", "single", "experiment")
    report, id_map = Report(), IdMap()
    runs = import_experiment(name, src_dir, mlflow_client=dst_client, report=report, id_map=id_map)
    assert not report.has_failures, report.failures
    dst_exp = dst_client.get_experiment_by_name(name).experiment_id
    models = _models(dst_client, dst_exp)
    assert sorted(id_map.items(LOGGED_MODELS)) == ["m-2dcfba725ca0433d82a18f6ceb8903ee",
                                                   "m-36087f5fe1ec463d9fae5b28ac119867"]
    dst_run_ids = {info.run_id for info in runs.values()}
    assert len(models) == 2 and all(m.source_run_id in dst_run_ids for m in models)
    assert len(dst_client.search_runs([dst_exp], run_view_type=ViewType.ALL)) == len(runs)
    assert len(dst_client.search_traces(locations=[dst_exp])) == 2


def test_bad_logged_model_input_gives_one_clear_error(src_server, dst_server, uniq, tmp_path):
    res = CliRunner().invoke(export_lm_main, ["--model-id", "m-0123456789abcdef0123456789abcdef",
                                              "--output-dir", str(tmp_path / "x")],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1 and "m-0123456789abcdef0123456789abcdef" in res.output
    assert "Traceback" not in res.output
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "logged_model.json").write_text("{not json")
    res = CliRunner().invoke(import_lm_main, ["--input-dir", str(corrupt), "--experiment-name", f"bad_{uniq}"],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 1 and "Corrupt export file" in res.output and "Traceback" not in res.output
    shutil.rmtree(corrupt)


def test_run_cli_carries_its_logged_models(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    from mlflow_export_import.run.export_run import main as export_run_main
    from mlflow_export_import.run.import_run import main as import_run_main
    exp_id = src_client.create_experiment(f"lm_run_{uniq}")
    run_id = make_run(src_client, exp_id, "r", artifacts=False)
    produced = make_logged_model(src_client, exp_id, "produced", run_id, step=2)
    used = make_logged_model(src_client, exp_id, "used")
    link_input(src_client, run_id, used)
    res = CliRunner().invoke(export_run_main, ["--run-id", run_id, "--output-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    assert {produced, used} <= set(os.listdir(tmp_path))
    res = CliRunner().invoke(import_run_main, ["--input-dir", str(tmp_path), "--experiment-name", f"lm_run_{uniq}"],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    dst_exp = dst_client.get_experiment_by_name(f"lm_run_{uniq}").experiment_id
    dst_run = dst_client.get_run(runs_by_name(dst_client, dst_exp)["r"].info.run_id)
    by_name = {m.name: m for m in _models(dst_client, dst_exp)}
    assert [(m.model_id, m.step) for m in dst_run.outputs.model_outputs] == [(by_name["produced"].model_id, 2)]
    assert [m.model_id for m in dst_run.inputs.model_inputs] == [by_name["used"].model_id]
    assert by_name["produced"].source_run_id == dst_run.info.run_id and not by_name["used"].source_run_id
    assert dst_run.info.status == "FINISHED" and dst_run.info.end_time == src_client.get_run(run_id).info.end_time
    assert [m.key for m in by_name["produced"].metrics] == ["accuracy"]
