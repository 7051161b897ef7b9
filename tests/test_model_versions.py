"""export-model-version / import-model-version and the shared version builder, on real servers."""
import os

import pytest
from click.testing import CliRunner

from mlflow_export_import.model.model_utils import SRC_MODEL_ID_TAG, SRC_VERSION_TAG
from mlflow_export_import.model_version import export_model_version as emv
from mlflow_export_import.model_version import import_model_version as imv
from mlflow_export_import.model_version.import_model_version import _import_model_version
from tests.mlflow3_workload import make_logged_model
from tests.workload import make_run


def _make_version(client, uniq, source_style="runs", stage="Staging", aliases=("champ",)):
    exp_id = client.create_experiment(f"mv-exp-{uniq}")
    run_id = make_run(client, exp_id, "train")
    name = f"mv-{uniq}"
    client.create_registered_model(name, tags={"team": "ml"}, description="about")
    run = client.get_run(run_id)
    kwargs = {}
    if source_style == "logged":
        kwargs["model_id"] = make_logged_model(client, exp_id, "lm", run_id)
        source = f"models:/{kwargs['model_id']}"
    else:
        source = f"runs:/{run_id}/model" if source_style == "runs" else f"{run.info.artifact_uri}/model"
    vr = client.create_model_version(name, source, run_id, tags={"vt": "1"}, description="first", **kwargs)
    if stage:
        client.transition_model_version_stage(name, vr.version, stage)
    for alias in aliases:
        client.set_registered_model_alias(name, alias, vr.version)
    return name, client.get_model_version(name, vr.version), run


def test_import_model_version_builder(src_client, uniq):
    name, vr, run = _make_version(src_client, uniq)
    dst_name = f"{name}-copy"
    src_client.create_registered_model(dst_name)
    src_vr = {"name": name, "version": vr.version, "description": "first", "tags": {"vt": "1"},
              "current_stage": "Staging", "aliases": ["champ", "best"]}
    dst_vr = _import_model_version(src_client, dst_name, src_vr, run.info.run_id, vr.source)
    dst_vr = src_client.get_model_version(dst_name, dst_vr.version)
    assert (dst_vr.description, dst_vr.tags, dst_vr.current_stage) == ("first", {"vt": "1"}, "Staging")
    assert sorted(dst_vr.aliases) == ["best", "champ"]
    assert dst_vr.run_id == run.info.run_id and dst_vr.source == vr.source

    plain = _import_model_version(src_client, dst_name, src_vr, run.info.run_id, vr.source,
                                  import_stages_and_aliases=False, import_source_tags=True)
    plain = src_client.get_model_version(dst_name, plain.version)
    assert plain.current_stage == "None" and plain.aliases == []
    assert plain.tags["vt"] == "1" and plain.tags["mlflow_exim.field.version"] == vr.version


@pytest.mark.parametrize("style", ["runs", "artifact", "logged"])
def test_export_import_model_version(src_client, dst_client, uniq, tmp_path, style):
    name, vr, run = _make_version(src_client, uniq, style)
    out = str(tmp_path / "out")
    emv.export_model_version(name, vr.version, out, mlflow_client=src_client)
    assert os.path.exists(os.path.join(out, "run", "run.json"))
    dst_vr = imv.import_model_version(name, f"mv-dst-{uniq}", out, create_model=True, import_metadata=True,
                                      mlflow_client=dst_client)
    assert (dst_vr.description, dst_vr.current_stage, dst_vr.aliases) == ("first", "Staging", ["champ"])
    assert dst_vr.tags["vt"] == "1" and dst_vr.tags[SRC_VERSION_TAG] == f"{name}/{vr.version}"
    dst_run = dst_client.get_run(dst_vr.run_id)
    assert dst_run.data.tags["mlflow_exim.import.src_run_id"] == run.info.run_id
    if style == "logged":
        dst_model = dst_client.get_logged_model(dst_vr.source[len("models:/"):])
        assert dst_model.tags[SRC_MODEL_ID_TAG] == vr.source[len("models:/"):]
        assert dst_model.source_run_id == dst_vr.run_id
    elif style == "runs":
        assert dst_vr.source == f"runs:/{dst_vr.run_id}/model"
    else:
        assert dst_vr.source == f"{dst_run.info.artifact_uri}/model"
    model = dst_client.get_registered_model(name)
    assert model.description == "about" and model.tags == {"team": "ml"}

    again = imv.import_model_version(name, f"mv-dst-{uniq}", out, create_model=True, mlflow_client=dst_client)
    assert again.version == dst_vr.version
    assert len(dst_client.search_model_versions(f"name='{name}'")) == 1


def test_cli_round_trip_and_bad_input(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    name, vr, _ = _make_version(src_client, uniq, aliases=())
    out = str(tmp_path / "out")
    runner = CliRunner()
    res = runner.invoke(emv.main, ["--model", name, "--version", vr.version, "--output-dir", out],
                        env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    res = runner.invoke(imv.main, ["--model", name, "--experiment-name", f"mv-cli-{uniq}", "--input-dir", out],
                        env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 1 and "does not exist" in res.output and "--create-model" in res.output
    res = runner.invoke(imv.main, ["--model", name, "--experiment-name", f"mv-cli-{uniq}", "--input-dir", out,
                                   "--create-model", "--import-stages-and-aliases"],
                        env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    assert dst_client.get_model_version(name, "1").current_stage == "Staging"

    res = runner.invoke(emv.main, ["--model", name, "--version", "7", "--output-dir", str(tmp_path / "x")],
                        env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1 and f"Version '7' of registered model '{name}' not found" in res.output
    res = runner.invoke(emv.main, ["--model", f"nope-{uniq}", "--version", "1", "--output-dir", str(tmp_path / "y")],
                        env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1 and f"Registered model 'nope-{uniq}' not found" in res.output


def test_import_reference_export_model_version(dst_client, uniq):
    from tests.conftest import FIXTURES_DIR
    input_dir = os.path.join(FIXTURES_DIR, "reference-exports", "single", "model_version")
    name = f"ref-mv-{uniq}"
    vr = imv.import_model_version(name, f"ref-mv-exp-{uniq}", input_dir, create_model=True, import_metadata=True,
                                  mlflow_client=dst_client)
    assert (vr.version, vr.current_stage, vr.aliases, vr.description) == \
        ("1", "Archived", ["challenger"], "version 1 of bench_model_001")
    assert vr.source == f"runs:/{vr.run_id}/model_bench_model_001_v1"
    assert {"bench.v": "1", "quality": "good", "bench.source": "runs"}.items() <= vr.tags.items()
    model = dst_client.get_registered_model(name)
    assert model.description == "Benchmark model 1"
    assert "MLmodel" in {os.path.basename(f.path) for f in dst_client.list_artifacts(vr.run_id,
                                                                                     "model_bench_model_001_v1")}
