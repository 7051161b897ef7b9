"""--dry-run: the destination is left untouched, and the plan lists what the real import then does: the same
counts of objects copied, skipped as already present and refused, object type by object type."""
import hashlib
import json
import os
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from mlflow_export_import.bulk import export_all as ea
from mlflow_export_import.bulk import export_logged_models as elms
from mlflow_export_import.bulk import export_traces as ets
from mlflow_export_import.bulk import import_all as ia
from mlflow_export_import.bulk import import_evaluation_datasets as ieds
from mlflow_export_import.bulk import import_experiments as iexps
from mlflow_export_import.bulk import import_logged_models as ilms
from mlflow_export_import.bulk import import_models as ims
from mlflow_export_import.bulk import import_prompts as ips
from mlflow_export_import.bulk import import_traces as itrs
from mlflow_export_import.copy import copy_model_version, copy_run
from mlflow_export_import.evaluation_dataset import import_evaluation_dataset as ied
from mlflow_export_import.experiment import import_experiment as iexp
from mlflow_export_import.experiment.import_experiment import import_experiment
from mlflow_export_import.logged_model import import_logged_model as ilm
from mlflow_export_import.model import export_model as em
from mlflow_export_import.model import import_model as im
from mlflow_export_import.model_version import export_model_version as emv
from mlflow_export_import.model_version import import_model_version as imv
from mlflow_export_import.prompt import import_prompt as ip
from mlflow_export_import.run import export_run, import_run
from mlflow_export_import.trace import import_trace as itr
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
    src.kill()
    dst.kill()


def fingerprint(server):
    """Every row of the server's database and every artifact file with its size: equal before and after means
    nothing was written."""
    con = sqlite3.connect(f"file:{server.dir}/mlflow.db?mode=ro", uri=True)
    try:
        rows = hashlib.sha256("\n".join(con.iterdump()).encode()).hexdigest()
    finally:
        con.close()
    root = os.path.join(server.dir, "artifacts")
    files = sorted((os.path.relpath(os.path.join(d, f), root), os.path.getsize(os.path.join(d, f)))
                   for d, _, names in os.walk(root) for f in names)
    return rows, files


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


def test_dry_run_of_import_all_writes_nothing_and_predicts_the_import(populated, tmp_path):
    src, dst, out = populated
    dst_client = dst.client()
    first_exp = json.load(open(os.path.join(out, "experiments", "experiments.json")))["mlflow"]["experiments"][0]
    import_experiment(first_exp["name"], os.path.join(out, "experiments", first_exp["id"]), mlflow_client=dst_client)
    conflicting_model = json.load(open(os.path.join(out, "models", "models.json")))["mlflow"]["models"][0]
    dst_client.create_registered_model(conflicting_model)
    before = fingerprint(dst)

    dry, plan = run_import_all(dst, out, tmp_path, "plan", "--dry-run")

    assert fingerprint(dst) == before
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


def first_dir_with(root, sub):
    """(experiment id, first object id) of the first exported experiment that has objects in <sub>/."""
    for exp_id in sorted(os.listdir(root)):
        path = os.path.join(root, exp_id, sub)
        objects = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))) \
            if os.path.isdir(path) else []
        if objects:
            return exp_id, objects[0]
    raise AssertionError(f"no exported experiment has {sub}")


def every_command(src, out, tmp):
    """(command, its arguments) for each import and copy command, on objects of the populated export, in an order
    where each one has something left to do: single objects first, then the bulk commands."""
    exps = os.path.join(out, "experiments")
    listed = json.load(open(os.path.join(exps, "experiments.json")))["mlflow"]["experiments"]
    name_of = {e["id"]: e["name"] for e in listed}
    run_exp, run_id = first_dir_with(exps, "runs")
    lm_exp, lm_id = first_dir_with(exps, "logged_models")
    tr_exp, tr_id = first_dir_with(exps, "traces")
    model = json.load(open(os.path.join(out, "models", "models.json")))["mlflow"]["models"][0]
    src_client = src.client()
    version = src_client.search_model_versions(f"name='{model}'")[0].version
    prompt_dir = sorted(os.listdir(os.path.join(out, "prompts")))[0]
    dataset_dir = sorted(os.listdir(os.path.join(out, "evaluation_datasets")))[0]
    exports = {
        "model": (em.main, ["--model", model, "--output-dir", f"{tmp}/model"]),
        "version": (emv.main, ["--model", model, "--version", version, "--output-dir", f"{tmp}/version"]),
        "logged_models": (elms.main, ["--experiment-ids", lm_exp, "--output-dir", f"{tmp}/logged_models"]),
        "traces": (ets.main, ["--experiment-ids", tr_exp, "--output-dir", f"{tmp}/traces"]),
    }
    for main, args in exports.values():
        res = CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": src.uri})
        assert res.exit_code == 0, res.output
    return [
        (import_run.main, ["--input-dir", f"{exps}/{run_exp}/runs/{run_id}", "--experiment-name", name_of[run_exp]]),
        (ilm.main, ["--input-dir", f"{exps}/{lm_exp}/logged_models/{lm_id}", "--experiment-name", "dry-lm"]),
        (itr.main, ["--input-dir", f"{exps}/{tr_exp}/traces/{tr_id}", "--experiment-name", "dry-trace"]),
        (ip.main, ["--input-dir", f"{out}/prompts/{prompt_dir}"]),
        (ied.main, ["--input-dir", f"{out}/evaluation_datasets/{dataset_dir}"]),
        (imv.main, ["--model", "dry-version", "--experiment-name", "dry-version", "--input-dir", f"{tmp}/version",
                    "--create-model"]),
        (im.main, ["--model", "dry-model", "--experiment-name", "dry-model", "--input-dir", f"{tmp}/model"]),
        (copy_run.main, ["--run-id", run_id, "--experiment-name", "dry-copy-run", "--src-mlflow-uri", src.uri]),
        (copy_model_version.main, ["--src-model", model, "--src-version", version, "--dst-model", "dry-copy-model",
                                   "--src-registry-uri", src.uri, "--dst-experiment-name", "dry-copy-model"]),
        (ilms.main, ["--input-dir", f"{tmp}/logged_models"]),
        (itrs.main, ["--input-dir", f"{tmp}/traces"]),
        (iexp.main, ["--input-dir", f"{exps}/{run_exp}", "--experiment-name", name_of[run_exp]]),
        (ips.main, ["--input-dir", f"{out}/prompts"]),
        (ieds.main, ["--input-dir", f"{out}/evaluation_datasets"]),
        (iexps.main, ["--input-dir", exps]),
        (ims.main, ["--input-dir", out]),
        (ia.main, ["--input-dir", out]),
    ]


@pytest.fixture
def empty_server(server_pool):
    pair = server_pool()
    yield pair[0]
    for server in pair:
        server.kill()


def test_every_import_and_copy_command_plans_what_it_then_does(populated, empty_server, tmp_path):
    src, _, out = populated
    dst = empty_server
    commands = every_command(src, out, str(tmp_path))
    assert len(commands) == 17
    to_copy = {}
    for i, (main, args) in enumerate(commands):
        name = main.name
        env = {"MLFLOW_TRACKING_URI": dst.uri}
        before = fingerprint(dst)
        plan = CliRunner().invoke(main, args + ["--dry-run", "--report", f"{tmp_path}/plan{i}.json"], env=env)
        assert "Traceback" not in plan.output, (name, plan.output)
        assert fingerprint(dst) == before, name
        real = CliRunner().invoke(main, args + ["--report", f"{tmp_path}/real{i}.json"], env=env)
        planned, done = (json.load(open(f"{tmp_path}/{kind}{i}.json")) for kind in ("plan", "real"))
        assert planned["dry_run"], name
        assert outcome(planned) == outcome(done), (name, plan.output, real.output)
        assert plan.exit_code == real.exit_code, name
        to_copy[name] = sum(c["copied"] for c in planned["counts"].values())
    # The workload has one evaluation dataset (import-evaluation-dataset took it), and import-all comes last.
    assert {name for name, n in to_copy.items() if n == 0} <= {"import-evaluation-datasets", "import-all"}, to_copy