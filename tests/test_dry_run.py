"""--dry-run: the destination is left untouched, and the plan lists what the real import then does: the same
counts of objects copied, skipped as already present and refused, object type by object type."""
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mlflow_export_import.bulk import export_all as ea
from mlflow_export_import.bulk import import_all as ia
from mlflow_export_import.copy import copy_model_version, copy_run
from mlflow_export_import.experiment.import_experiment import import_experiment
from mlflow_export_import.run import export_run, import_run
from tests.conftest import TOOLS_DIR
from tests.workload import make_run


@pytest.fixture(scope="module")
def populated(server_pool, tmp_path_factory):
    """A server of every object type (populate.py --preset tiny) exported with export-all, and an empty
    destination."""
    src, dst = server_pool()
    subprocess.run([sys.executable, os.path.join(TOOLS_DIR, "populate.py"), "--tracking-uri", src.uri,
                    "--preset", "tiny", "--threads", "2"], check=True, capture_output=True)
    out = str(tmp_path_factory.mktemp("dry-run-export"))
    res = CliRunner().invoke(ea.main, ["--output-dir", out, "--export-deleted-runs"],
                             env={"MLFLOW_TRACKING_URI": src.uri})
    assert res.exit_code == 0, res.output
    yield src, dst, out
    src.stop()
    dst.stop()


def census(count_tool, uri):
    from tests.conftest import _census
    return _census(count_tool, uri, artifact_hash=False)


def run_import_all(dst, out, tmp_path, name, *extra):
    report_file = str(tmp_path / f"{name}.json")
    res = CliRunner().invoke(ia.main, ["--input-dir", out, "--report", report_file, *extra],
                             env={"MLFLOW_TRACKING_URI": dst.uri})
    assert "Traceback" not in res.output, res.output
    with open(report_file) as f:
        return res, json.load(f)


def outcome(report):
    """What a user compares between a plan and the real run: counts per type, and which objects were skipped
    and refused (failed)."""
    return (report["counts"], sorted((s["type"], s["id"]) for s in report["skipped"]),
            sorted((f["type"], f["id"]) for f in report["failures"]))


def test_dry_run_of_import_all_writes_nothing_and_predicts_the_import(populated, count_tool, tmp_path):
    src, dst, out = populated
    dst_client = dst.client()
    first_exp = json.load(open(os.path.join(out, "experiments", "experiments.json")))["mlflow"]["experiments"][0]
    import_experiment(first_exp["name"], os.path.join(out, "experiments", first_exp["id"]), mlflow_client=dst_client)
    conflicting_model = json.load(open(os.path.join(out, "models", "models.json")))["mlflow"]["models"][0]
    dst_client.create_registered_model(conflicting_model)
    before = census(count_tool, dst.uri)

    dry, plan = run_import_all(dst, out, tmp_path, "plan", "--dry-run")

    assert count_tool.diff(before, census(count_tool, dst.uri))["sections"] == \
        count_tool.diff(before, before)["sections"]
    assert plan["dry_run"] is True
    assert "Dry run of import-all: nothing was written" in dry.output
    assert f"REFUSED models {conflicting_model}" in dry.output and "--delete-model" in dry.output
    assert dry.exit_code == 1  # a refusal in the plan is a failure of the real run
    assert plan["counts"]["runs"]["skipped"] > 0 and plan["counts"]["runs"]["copied"] > 0
    for kind in ("experiments", "model_versions", "logged_models", "traces", "prompt_versions",
                 "evaluation_datasets"):
        assert plan["counts"][kind]["copied"] > 0, kind
    assert len(plan["planned"]) == sum(c["copied"] for c in plan["counts"].values())

    real, done = run_import_all(dst, out, tmp_path, "real")

    assert real.exit_code == 1
    assert outcome(done) == outcome(plan)

    again, replan = run_import_all(dst, out, tmp_path, "replan", "--dry-run")
    assert all(c["copied"] == 0 for c in replan["counts"].values()), replan["counts"]
    assert replan["planned"] == []


def test_dry_run_of_single_commands(src_server, dst_server, uniq, tmp_path):
    """import-run, copy-run and copy-model-version: the plan names the object, nothing is written, and after the
    real command the plan says it is already there."""
    src_client, dst_client = src_server.client(), dst_server.client()
    run_id = make_run(src_client, src_client.create_experiment(f"dry-{uniq}"), "r1", artifacts=True)
    version = src_client.create_model_version(f"dry-m-{uniq}", f"runs:/{run_id}/model", run_id) \
        if src_client.create_registered_model(f"dry-m-{uniq}") else None
    run_dir = str(tmp_path / "run")
    export_run.export_run(run_id, run_dir, mlflow_client=src_client)
    commands = [
        (import_run.main, ["--input-dir", run_dir, "--experiment-name", f"dry-ir-{uniq}"], f"dry-ir-{uniq}"),
        (copy_run.main, ["--run-id", run_id, "--experiment-name", f"dry-cr-{uniq}", "--src-mlflow-uri",
                         src_server.uri, "--dst-mlflow-uri", dst_server.uri], f"dry-cr-{uniq}"),
        (copy_model_version.main, ["--src-model", f"dry-m-{uniq}", "--src-version", version.version, "--dst-model",
                                   f"dry-cm-{uniq}", "--src-registry-uri", src_server.uri, "--dst-registry-uri",
                                   dst_server.uri, "--dst-experiment-name", f"dry-cm-{uniq}"], f"dry-cm-{uniq}"),
    ]
    env = {"MLFLOW_TRACKING_URI": dst_server.uri}
    for main, args, experiment_name in commands:
        plan = CliRunner().invoke(main, args + ["--dry-run"], env=env)
        assert plan.exit_code == 0, plan.output
        assert "\n  would copy" in plan.output or "\n  would create" in plan.output, plan.output
        assert dst_client.get_experiment_by_name(experiment_name) is None
        assert dst_client.search_registered_models(f"name='dry-cm-{uniq}'") == []

        real = CliRunner().invoke(main, args, env=env)
        assert real.exit_code == 0, real.output
        replan = CliRunner().invoke(main, args + ["--dry-run"], env=env)
        assert replan.exit_code == 0 and "\n  would " not in replan.output and "skipped" in replan.output, replan.output
        rerun = CliRunner().invoke(main, args, env=env)
        assert rerun.exit_code == 0 and "already" in rerun.output, rerun.output
        exp = dst_client.get_experiment_by_name(experiment_name)
        assert len(dst_client.search_runs([exp.experiment_id])) == 1
    assert len(dst_client.search_model_versions(f"name='dry-cm-{uniq}'")) == 1
