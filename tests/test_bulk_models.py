"""export-models / import-models between two real servers: selectors, renames, logged-model versions, prompts
left out, re-runs, and a destination model that is not ours."""
import json
import os
import re

from click.testing import CliRunner

from mlflow_export_import.bulk import export_models as ems
from mlflow_export_import.bulk import import_models as ims
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.report import Report
from tests.test_models import assert_same_model, make_model, versions_of


def test_export_import_models_with_renames(src_client, dst_client, uniq, tmp_path):
    a = make_model(src_client, f"bm-{uniq}-a", f"bm-exp-{uniq}-a", logged=True)
    b = make_model(src_client, f"bm-{uniq}-b", f"bm-exp-{uniq}-b", extra_versions=6)
    src_client.register_prompt(f"bm-{uniq}-prompt", "Hello {{name}}")
    out = str(tmp_path / "out")
    info = ems.export_models(f"bm-{uniq}-*", out, export_deleted_runs=True, mlflow_client=src_client)
    assert info["models"]["model_names"] == [a, b]
    assert json.load(open(os.path.join(out, "models", "models.json")))["mlflow"]["models"] == [a, b]
    assert not [d for d in os.listdir(os.path.join(out, "models", a)) if d != "model.json"]
    run_dirs = [d for e in os.listdir(os.path.join(out, "experiments")) if e != "experiments.json"
                for d in os.listdir(os.path.join(out, "experiments", e, "runs"))]
    assert len(run_dirs) == 6 == len(set(run_dirs))  # only the versions' runs, each once

    report, id_map = Report(), IdMap()
    result = ims.import_models(out, delete_model=False, experiment_renames={f"bm-exp-{uniq}": f"bmr-exp-{uniq}"},
                               model_renames={f"bm-{uniq}": f"bmr-{uniq}"}, mlflow_client=dst_client, report=report,
                               id_map=id_map)
    assert not report.failures, report.failures
    assert result["models_import"]["ok_models"] == 2
    assert_same_model(src_client, a, dst_client, f"bmr-{uniq}-a")
    assert_same_model(src_client, b, dst_client, f"bmr-{uniq}-b")
    assert dst_client.get_experiment_by_name(f"bmr-exp-{uniq}-a") is not None
    assert max(versions_of(dst_client, f"bmr-{uniq}-b")) == 11
    assert not dst_client.search_registered_models(f"name LIKE 'bmr-{uniq}-prompt%'")


def test_cli_rerun_and_foreign_model(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    a = make_model(src_client, f"bc-{uniq}-a", f"bc-exp-{uniq}-a")
    b = make_model(src_client, f"bc-{uniq}-b", f"bc-exp-{uniq}-b")
    names_file = tmp_path / "models.txt"
    names_file.write_text(f"{a}\n{b}\n")
    out = str(tmp_path / "out")
    runner = CliRunner()
    res = runner.invoke(ems.main, ["--models", str(names_file), "--output-dir", out, "--export-deleted-runs"],
                        env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output

    dst_client.create_registered_model(b, description="not from an import")
    dst_env = {"MLFLOW_TRACKING_URI": dst_server.uri}
    res = runner.invoke(ims.main, ["--input-dir", out], env=dst_env)
    assert res.exit_code == 1
    assert f"FAILED models {b}" in res.output and "already exists" in res.output and "--delete-model" in res.output
    assert_same_model(src_client, a, dst_client, a)
    assert dst_client.get_registered_model(b).description == "not from an import"
    assert versions_of(dst_client, b) == {}

    res = runner.invoke(ims.main, ["--input-dir", out, "--delete-model", "True"], env=dst_env)
    assert res.exit_code == 0, res.output
    assert_same_model(src_client, a, dst_client, a)
    assert_same_model(src_client, b, dst_client, b)

    res = runner.invoke(ims.main, ["--input-dir", out], env=dst_env)
    assert res.exit_code == 0, res.output
    assert re.search(r"model_versions:\s+0 copied, 8 skipped, 0 failed", res.output)
    assert len(versions_of(dst_client, a)) == 4


def test_bad_selector_and_corrupt_export(src_server, dst_server, uniq, tmp_path):
    runner = CliRunner()
    res = runner.invoke(ems.main, ["--models", f"nope-{uniq}", "--output-dir", str(tmp_path / "o")],
                        env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1 and f"Registered model 'nope-{uniq}' not found" in res.output
    os.makedirs(tmp_path / "bad" / "models")
    (tmp_path / "bad" / "models" / "models.json").write_text("{not json")
    res = runner.invoke(ims.main, ["--input-dir", str(tmp_path / "bad")], env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 1 and "Corrupt export file" in res.output and "models.json" in res.output
    assert "Traceback" not in res.output


def test_two_sources_with_a_model_of_the_same_name(src_server, fresh_pair, uniq, tmp_path):
    """Two exports written into one destination: runs and experiments merge by their own source ids; a model of
    the same name from a second source is refused with a clear message, never taken for the first one's
    versions (both have a version 1)."""
    dst, other_src = fresh_pair
    name = f"twin-{uniq}"
    make_model(src_server.client(), name, f"twin-exp-{uniq}")
    make_model(other_src.client(), name, f"twin-exp-{uniq}")
    outs = [str(tmp_path / "one"), str(tmp_path / "two")]
    for server, out in zip((src_server, other_src), outs):
        ems.export_models(name, out, export_deleted_runs=True, mlflow_client=server.client())
    env = {"MLFLOW_TRACKING_URI": dst.uri}

    first = CliRunner().invoke(ims.main, ["--input-dir", outs[0]], env=env)
    second = CliRunner().invoke(ims.main, ["--input-dir", outs[1]], env=env)
    again = CliRunner().invoke(ims.main, ["--input-dir", outs[0]], env=env)

    assert first.exit_code == 0, first.output
    assert second.exit_code == 1 and "Traceback" not in second.output
    assert f"FAILED models {name}" in second.output and "was imported from another source" in second.output
    assert again.exit_code == 0, again.output
    assert_same_model(src_server.client(), name, dst.client(), name)
    exp = dst.client().get_experiment_by_name(f"twin-exp-{uniq}")
    assert len(dst.client().search_runs([exp.experiment_id], run_view_type=3)) == 6  # 3 runs from each source
