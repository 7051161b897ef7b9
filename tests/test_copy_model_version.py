import os
import tempfile

import mlflow
import pytest
from click.testing import CliRunner
from mlflow.entities import LoggedModelStatus

from mlflow_export_import.common.report import Report
from mlflow_export_import.copy import copy_model_version, copy_utils
from tests.servers import free_port
from tests.workload import assert_same_run, make_run


def _make_version(client, uniq, style, stage="Staging", aliases=("champion",)):
    """A registered model with one version whose source is in the given style, made as MLflow does."""
    exp_id = client.create_experiment(f"cmv-src-{style}-{uniq}")
    run_id = make_run(client, exp_id, "trainer", dataset="iris")
    run = client.get_run(run_id)
    model_id = None
    if style == "runs":
        source = f"runs:/{run_id}/model"
    elif style == "artifact":
        source = f"{run.info.artifact_uri}/model"
    else:
        lm = client.create_logged_model(exp_id, name="lm", source_run_id=run_id, params={"alpha": "0.5"})
        model_id = lm.model_id
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "MLmodel"), "w") as f:
                f.write(f"artifact_path: model\nflavors: {{}}\nmodel_id: {model_id}\nrun_id: {run_id}\n")
            with open(os.path.join(d, "model.pkl"), "wb") as f:
                f.write(b"weights" * 100)
            client.log_model_artifacts(model_id, d)
        client.finalize_logged_model(model_id, LoggedModelStatus.READY)
        source = f"models:/{model_id}"
    name = f"cmv-{style}-{uniq}"
    client.create_registered_model(name, tags={"team": "ml"}, description=f"About {name}")
    vr = client.create_model_version(name, source, run_id, tags={"vt": "1"}, description="first", model_id=model_id)
    if stage:
        client.transition_model_version_stage(name, vr.version, stage)
    for alias in aliases:
        client.set_registered_model_alias(name, alias, vr.version)
    return name, vr.version, run_id


def _model_files(server, name, version, tmp_path):
    """The files a user loading the version gets: what the registry points its download URI at."""
    download_uri = server.client().get_model_version_download_uri(name, version)
    local = mlflow.artifacts.download_artifacts(artifact_uri=download_uri, dst_path=str(tmp_path),
                                                tracking_uri=server.uri)
    return sorted(os.listdir(local)), open(os.path.join(local, "MLmodel")).read()


def _versions(client, name):
    return client.search_model_versions(f"name='{name}'")


def test_shallow_copy_same_server_with_stages_aliases_and_lineage(src_server, uniq):
    client = src_server.client()
    name, version, run_id = _make_version(client, uniq, "artifact")
    dst_name = f"cmv-shallow-dst-{uniq}"

    src_vr, dst_vr = copy_model_version.copy(
        name, version, dst_name, src_registry_uri=src_server.uri, dst_registry_uri=src_server.uri,
        copy_stages_and_aliases=True, copy_lineage_tags=True)

    assert src_vr == client.get_model_version(name, version)
    assert dst_vr == client.get_model_version(dst_name, dst_vr.version)
    assert (dst_vr.source, dst_vr.run_id) == (src_vr.source, run_id)  # points at the source run
    assert dst_vr.description == "first" and dst_vr.current_stage == "Staging" and dst_vr.aliases == ["champion"]
    assert dst_vr.tags == {
        "vt": "1",
        "mlflow_exim.src_version.name": name,
        "mlflow_exim.src_version.version": version,
        "mlflow_exim.src_version.run_id": run_id,
        "mlflow_exim.src_client.tracking_uri": src_server.uri,
        "mlflow_exim.dst_client.tracking_uri": src_server.uri,
        "mlflow_exim.src_run.mlflow.user": "alice",
    }
    dst_model = client.get_registered_model(dst_name)
    assert dst_model.description == f"About {name}" and dst_model.tags == {"team": "ml"}
    assert client.get_model_version(name, version).aliases == ["champion"]  # the source is untouched


def test_deep_copy_same_server(src_server, uniq, tmp_path):
    client = src_server.client()
    name, version, run_id = _make_version(client, uniq, "runs", stage=None, aliases=())
    dst_name, dst_exp = f"cmv-deep-dst-{uniq}", f"cmv-deep-exp-{uniq}"

    _, dst_vr = copy_model_version.copy(name, version, dst_name, dst_exp, src_tracking_uri=src_server.uri,
                                        dst_tracking_uri=src_server.uri)

    [dst_run] = client.search_runs([client.get_experiment_by_name(dst_exp).experiment_id])
    assert dst_vr.run_id == dst_run.info.run_id != run_id
    assert dst_vr.source == f"runs:/{dst_run.info.run_id}/model"
    assert_same_run(client, client.get_run(run_id), client, dst_run)
    files, mlmodel = _model_files(src_server, dst_name, dst_vr.version, tmp_path)
    assert files == ["MLmodel"] and f"run_id: {dst_run.info.run_id}" in mlmodel
    assert dst_vr.current_stage == "None" and dst_vr.aliases == [] and dst_vr.tags == {"vt": "1"}


@pytest.mark.parametrize("style", ["runs", "artifact", "logged_model"])
def test_deep_copy_across_servers_in_every_source_style(src_server, dst_server, uniq, style, tmp_path):
    src_client, dst_client = src_server.client(), dst_server.client()
    name, version, run_id = _make_version(src_client, uniq, style)
    dst_name, dst_exp = f"cmv-x-{style}-{uniq}", f"cmv-x-exp-{style}-{uniq}"
    report = Report()

    src_vr, dst_vr = copy_model_version._copy(src_client, name, version, dst_client, dst_name, dst_exp,
                                              copy_stages_and_aliases=True, report=report)

    [dst_run] = dst_client.search_runs([dst_client.get_experiment_by_name(dst_exp).experiment_id])
    assert_same_run(src_client, src_client.get_run(run_id), dst_client, dst_run)
    assert dst_vr.run_id == dst_run.info.run_id
    assert (dst_vr.version, dst_vr.current_stage, dst_vr.aliases) == ("1", "Staging", ["champion"])
    assert (dst_vr.description, dst_vr.tags) == ("first", {"vt": "1"})
    src_files, _ = _model_files(src_server, name, version, tmp_path / "src")
    dst_files, mlmodel = _model_files(dst_server, dst_name, dst_vr.version, tmp_path / "dst")
    assert dst_files == src_files
    assert f"run_id: {dst_run.info.run_id}" in mlmodel
    if style == "runs":
        assert dst_vr.source == f"runs:/{dst_run.info.run_id}/model"
    elif style == "artifact":
        assert dst_vr.source == f"{dst_run.info.artifact_uri}/model"
        assert dst_vr.source.startswith("mlflow-artifacts:/")
    else:
        dst_model_id = dst_vr.source[len("models:/"):]
        lm = dst_client.get_logged_model(dst_model_id)
        assert lm.source_run_id == dst_run.info.run_id and lm.params == {"alpha": "0.5"}
        assert lm.experiment_id == dst_run.info.experiment_id and lm.status == LoggedModelStatus.READY
        assert f"model_id: {dst_model_id}" in mlmodel
        assert report.count("logged_models") == 1
    assert report.count("runs") == 1 and report.count("model_versions") == 1


def test_cli_deep_copy_across_servers_to_a_unity_catalog_name(src_server, dst_server, uniq):
    src_client, dst_client = src_server.client(), dst_server.client()
    name, version, run_id = _make_version(src_client, uniq, "artifact", stage="Production", aliases=("a", "b"))
    dst_name = f"cat.schema.cmv_{uniq}"

    src_uri = src_server.uri.replace("http://", "http://carol:s3cret@")

    res = CliRunner().invoke(copy_model_version.main, [
        "--src-model", name, "--src-version", version, "--dst-model", dst_name,
        "--src-registry-uri", src_uri, "--dst-registry-uri", dst_server.uri,
        "--dst-experiment-name", f"cmv-cli-{uniq}", "--copy-stages-and-aliases", "True",
        "--copy-lineage-tags"])

    assert res.exit_code == 0, res.output
    assert f"copied as version 1 of model '{dst_name}'" in res.output
    dst_vr = dst_client.get_model_version(dst_name, "1")
    assert sorted(dst_vr.aliases) == ["a", "b"]
    # An open-source registry holds stages whatever the name: the rule follows the registry, not the name
    assert dst_vr.current_stage == "Production"
    assert dst_vr.tags["mlflow_exim_src_version_name"] == name
    assert dst_vr.tags["mlflow_exim_src_client_tracking_uri"] == src_server.uri  # no credentials
    assert "s3cret" not in res.output
    assert dst_vr.tags["mlflow_exim_dst_client_tracking_uri"] == dst_server.uri
    assert not [k for k in dst_vr.tags if k.startswith("mlflow_exim.")]


def test_lineage_tags_of_an_earlier_copy_are_replaced(src_server, uniq):
    client = src_server.client()
    name, version, _ = _make_version(client, uniq, "runs", stage=None, aliases=())
    _, first = copy_model_version._copy(client, name, version, client, f"cmv-l1-{uniq}", copy_lineage_tags=True)

    _, second = copy_model_version._copy(client, f"cmv-l1-{uniq}", first.version, client, f"cmv-l2-{uniq}",
                                         copy_lineage_tags=True)

    assert second.tags["mlflow_exim.src_version.name"] == f"cmv-l1-{uniq}"
    assert second.tags["vt"] == "1"
    assert second.run_id == first.run_id


def test_shallow_copy_same_server_under_another_uri(src_server, uniq):
    client = src_server.client()
    name, version, run_id = _make_version(client, uniq, "logged_model", stage=None, aliases=())
    same_server = src_server.uri.replace("127.0.0.1", "localhost")

    _, dst_vr = copy_model_version.copy(name, version, f"cmv-alias-uri-{uniq}", src_registry_uri=src_server.uri,
                                        dst_registry_uri=same_server)

    assert (dst_vr.source, dst_vr.run_id) == (client.get_model_version(name, version).source, run_id)


def test_mk_client_takes_the_tracking_uri_from_the_registry_uri(src_server):
    client = copy_utils.mk_client(None, registry_uri=src_server.uri)
    assert client.tracking_uri == src_server.uri and client._registry_uri == src_server.uri


def test_shallow_copy_to_another_server_is_refused(src_server, dst_server, uniq):
    name, version, _ = _make_version(src_server.client(), uniq, "runs")

    res = CliRunner().invoke(copy_model_version.main, [
        "--src-model", name, "--src-version", version, "--dst-model", f"cmv-refused-{uniq}",
        "--src-registry-uri", src_server.uri, "--dst-registry-uri", dst_server.uri])

    assert res.exit_code == 1
    assert "only works when both sides share the tracking server" in res.output
    assert "--dst-experiment-name" in res.output
    assert _versions(dst_server.client(), f"cmv-refused-{uniq}") == []


@pytest.mark.parametrize("model, version, message", [
    ("nope-{uniq}", "1", "Registered model 'nope-{uniq}' not found in tracking http://127.0.0.1:"),
    ("cmv-runs-{uniq}", "7", "Version '7' of registered model 'cmv-runs-{uniq}' not found in tracking"),
])
def test_unknown_model_or_version(src_server, dst_server, uniq, model, version, message):
    _make_version(src_server.client(), uniq, "runs")
    model, message = model.format(uniq=uniq), message.format(uniq=uniq)

    res = CliRunner().invoke(copy_model_version.main, [
        "--src-model", model, "--src-version", version, "--dst-model", f"cmv-unknown-{uniq}",
        "--src-registry-uri", src_server.uri, "--dst-registry-uri", dst_server.uri,
        "--dst-experiment-name", f"cmv-unknown-{uniq}"])

    assert res.exit_code == 1
    assert message in res.output
    assert "Traceback" not in res.output
    dst_client = dst_server.client()
    assert dst_client.search_registered_models(f"name='cmv-unknown-{uniq}'") == []
    assert dst_client.get_experiment_by_name(f"cmv-unknown-{uniq}") is None


def test_existing_destination_version_is_not_duplicated(src_server, dst_server, uniq):
    src_client, dst_client = src_server.client(), dst_server.client()
    name, version, _ = _make_version(src_client, uniq, "artifact")
    args = ["--src-model", name, "--src-version", version, "--dst-model", f"cmv-twice-{uniq}",
            "--src-registry-uri", src_server.uri, "--dst-registry-uri", dst_server.uri,
            "--dst-experiment-name", f"cmv-twice-{uniq}"]

    first = CliRunner().invoke(copy_model_version.main, args)
    second = CliRunner().invoke(copy_model_version.main, args)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert f"already copied as version 1 of model 'cmv-twice-{uniq}'" in second.output
    assert len(_versions(dst_client, f"cmv-twice-{uniq}")) == 1
    exp = dst_client.get_experiment_by_name(f"cmv-twice-{uniq}")
    assert len(dst_client.search_runs([exp.experiment_id])) == 1


def test_unreachable_registry_without_leaking_credentials(src_server, uniq):
    name, version, _ = _make_version(src_server.client(), uniq, "runs")
    down = f"http://bob:s3cret@127.0.0.1:{free_port()}"

    res = CliRunner().invoke(copy_model_version.main, [
        "--src-model", name, "--src-version", version, "--dst-model", f"cmv-down-{uniq}",
        "--src-registry-uri", src_server.uri, "--dst-registry-uri", down, "--dst-experiment-name", "x"])

    assert res.exit_code == 1
    assert "Cannot reach the MLflow tracking server at http://127.0.0.1:" in res.output
    assert "s3cret" not in res.output


def test_cli_shallow_copy_defaults_to_the_tracking_uri(src_server, uniq):
    client = src_server.client()
    name, version, run_id = _make_version(client, uniq, "runs", stage="Archived", aliases=())

    res = CliRunner().invoke(copy_model_version.main, [
        "--src-model", name, "--src-version", version, "--dst-model", f"cmv-env-{uniq}",
        "--copy-stages-and-aliases"], env={"MLFLOW_TRACKING_URI": src_server.uri})

    assert res.exit_code == 0, res.output
    dst_vr = client.get_model_version(f"cmv-env-{uniq}", "1")
    assert (dst_vr.run_id, dst_vr.source, dst_vr.current_stage) == (run_id, f"runs:/{run_id}/model", "Archived")


def test_deep_copy_of_a_version_whose_files_are_missing(src_server, dst_server, uniq):
    src_client = src_server.client()
    exp_id = src_client.create_experiment(f"cmv-missing-{uniq}")
    run_id = make_run(src_client, exp_id, "trainer", artifacts=False)
    src_client.create_registered_model(f"cmv-missing-{uniq}")
    src_client.create_model_version(f"cmv-missing-{uniq}", f"runs:/{run_id}/model", run_id)

    res = CliRunner().invoke(copy_model_version.main, [
        "--src-model", f"cmv-missing-{uniq}", "--src-version", "1", "--dst-model", f"cmv-missing-dst-{uniq}",
        "--src-registry-uri", src_server.uri, "--dst-registry-uri", dst_server.uri,
        "--dst-experiment-name", f"cmv-missing-{uniq}"])

    assert res.exit_code == 1
    assert "its files 'model'" in res.output and "are not in the imported run" in res.output
    assert dst_server.client().search_registered_models(f"name='cmv-missing-dst-{uniq}'") == []
