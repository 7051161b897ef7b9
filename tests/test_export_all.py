"""export-all / import-all between two real servers: the destination equals the source (census diff), each
run is written once, and the reference's export-all imports."""
import json
import os
import subprocess
import sys

from click.testing import CliRunner

from mlflow_export_import.bulk import export_all as ea
from mlflow_export_import.bulk import import_all as ia
from mlflow_export_import.common.report import Report
from tests.conftest import FIXTURES_DIR, TOOLS_DIR
from tests.test_models import make_model, versions_of
from tests.workload import make_experiment

REGISTRY_SECTIONS = ("experiments", "runs", "logged_models", "registered_models", "model_versions")


def test_export_all_import_all_equal(fresh_pair, census_diff, tmp_path):
    src, dst = fresh_pair
    src_client = src.client()
    make_model(src_client, "alpha", "exp-alpha", extra_versions=6)
    make_model(src_client, "beta", "exp-beta", logged=True)
    make_experiment(src_client, "plain", runs=2)
    src_client.create_registered_model("empty-model", description="no versions")
    out = str(tmp_path / "all")
    runner = CliRunner()
    res = runner.invoke(ea.main, ["--output-dir", out, "--export-deleted-runs", "True"],
                        env={"MLFLOW_TRACKING_URI": src.uri})
    assert res.exit_code == 0, res.output
    manifest = json.load(open(os.path.join(out, "manifest.json")))
    assert manifest["mlflow"] == {} and manifest["info"]["status"]["models"]["num_ok_models"] == 3
    assert sorted(os.listdir(os.path.join(out, "models"))) == ["alpha", "beta", "empty-model", "models.json"]
    assert os.listdir(os.path.join(out, "models", "alpha")) == ["model.json"]  # runs only under experiments/

    res = runner.invoke(ia.main, ["--input-dir", out], env={"MLFLOW_TRACKING_URI": dst.uri})
    assert res.exit_code == 0, res.output
    diff = census_diff(src.uri, dst.uri, artifact_hash=False)
    assert not {k: v for k, v in diff.items() if k in REGISTRY_SECTIONS}, diff
    assert sorted(versions_of(dst.client(), "alpha")) == [1, 2, 4, 5, 6, 7, 8, 9, 10, 11]

    res = runner.invoke(ia.main, ["--input-dir", out], env={"MLFLOW_TRACKING_URI": dst.uri})
    assert res.exit_code == 0, res.output
    assert "model_versions:" in res.output and "0 copied, 15 skipped" in res.output
    diff = census_diff(src.uri, dst.uri, artifact_hash=False)
    assert not {k: v for k, v in diff.items() if k in REGISTRY_SECTIONS}, diff


def test_import_reference_export_all(fresh_pair, count_tool):
    """The reference's export-all (runs doubled under models/<name>/) imports into a destination equal to its
    source, except the versions whose logged models are not imported by experiment import (yet)."""
    _, dst = fresh_pair
    report = Report()
    ia.import_all(os.path.join(FIXTURES_DIR, "reference-exports", "export-all"), delete_model=False,
                  mlflow_client=dst.client(), report=report)
    src_census = json.load(open(os.path.join(FIXTURES_DIR, "reference-exports", "source-census.json")))
    dst_census = json.loads(json.dumps(count_tool.Census(dst.uri, threads=4, artifact_hash=True).build()))
    sections = count_tool.diff(src_census, dst_census)["sections"]
    problems = {name: sec for name, sec in sections.items()
                if name in REGISTRY_SECTIONS and (sec["missing_in_dst"] or sec["extra_in_dst"] or sec["changed"])}
    assert not {k: v for k, v in problems.items() if k in ("experiments", "runs")}, problems
    model_failures = [f for f in report.failures if f["type"] in ("models", "model_versions")]
    if model_failures:  # no logged model import yet: those versions fail clearly and take their model with them
        assert all("Logged model 'm-" in f["reason"] and "no imported copy" in f["reason"] for f in model_failures)
        assert not dst.client().search_registered_models()
    else:
        assert not problems, problems


def test_populated_server_round_trips_equal_in_every_section(fresh_pair, census_diff, tmp_path):
    """The outside check on a workload of every object type made by ../shared/tools/populate.py: experiments
    (one deleted), nested/deleted/failed runs, dataset inputs, artifacts, models with versions in three source
    styles, stages and aliases, logged models, traces with spans and assessments, prompts, evaluation datasets."""
    src, dst = fresh_pair
    subprocess.run([sys.executable, os.path.join(TOOLS_DIR, "populate.py"), "--tracking-uri", src.uri,
                    "--preset", "tiny", "--threads", "2"], check=True, capture_output=True)
    out = str(tmp_path / "out")
    runner = CliRunner()
    res = runner.invoke(ea.main, ["--output-dir", out, "--export-deleted-runs", "--workers", "4"],
                        env={"MLFLOW_TRACKING_URI": src.uri})
    assert res.exit_code == 0, res.output
    res = runner.invoke(ia.main, ["--input-dir", out, "--workers", "4"], env={"MLFLOW_TRACKING_URI": dst.uri})
    assert res.exit_code == 0, res.output

    assert census_diff(src.uri, dst.uri) == {}
