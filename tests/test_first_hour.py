"""The first hour of a new user (issue 14): each defect met on a fresh machine, checked the way the user met it.
Tiny workloads on the shared session servers."""
import io
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings

from click.testing import CliRunner
from mlflow.entities import Metric

from mlflow_export_import.bulk import export_evaluation_datasets as export_datasets_mod
from mlflow_export_import.bulk.export_experiments import main as export_experiments_main
from mlflow_export_import.bulk.export_logged_models import export_logged_models
from mlflow_export_import.bulk.import_logged_models import main as import_logged_models_main
from mlflow_export_import.common import progress as progress_mod
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.copy.copy_run import main as copy_run_main
from mlflow_export_import.experiment.export_experiment import export_experiment
from mlflow_export_import.experiment.import_experiment import import_experiment, main as import_experiment_main
from mlflow_export_import.model.export_model import export_model, main as export_model_main
from mlflow_export_import.model.import_model import main as import_model_main
from mlflow_export_import.run.export_run import export_run
from mlflow_export_import.run.import_run import main as import_run_main
from mlflow_export_import.verify.verify import main as verify_main, verify
from tests.fault_proxy import FaultProxy
from tests.mlflow3_workload import make_logged_model
from tests.test_evaluation_datasets import make_dataset
from tests.workload import T0, make_run, runs_by_name

BIN = os.path.dirname(sys.executable)


def invoke(main, args, uri=None, **env):
    env = {"MLFLOW_TRACKING_URI": uri, **env} if uri else env
    return CliRunner().invoke(main, args, env=env)


def history(client, run_id, key):
    points = [(m.step, m.timestamp, "nan" if math.isnan(m.value) else m.value)
              for m in client.get_metric_history(run_id, key)]
    return sorted(points, key=repr)


# ------------------------------------------------------------------ metrics: logged models and NaN

def test_logged_model_metric_is_not_doubled_on_its_run_and_nan_verifies(src_client, dst_client, uniq, tmp_path):
    name = f"fh-lm-nan-{uniq}"
    exp_id = src_client.create_experiment(name)
    run_id = make_run(src_client, exp_id, "r", metrics=0, artifacts=False)
    model_id = make_logged_model(src_client, exp_id, "m", run_id=run_id, metric=False)
    src_client.log_batch(run_id, metrics=[Metric("lm_nan", float("nan"), T0 + 5, 0, model_id=model_id,
                                                 run_id=run_id)], synchronous=True)
    # NaN and a number at the same step and timestamp: MLflow keeps both points
    src_client.log_batch(run_id, metrics=[Metric("mixed", float("nan"), T0 + 7, 1),
                                          Metric("mixed", 0.5, T0 + 7, 1)])
    export_experiment(exp_id, str(tmp_path / "exp"), mlflow_client=src_client)
    import_experiment(name, str(tmp_path / "exp"), mlflow_client=dst_client)

    dst_run = runs_by_name(dst_client, dst_client.get_experiment_by_name(name).experiment_id)["r"]
    assert history(dst_client, dst_run.info.run_id, "lm_nan") == [(0, T0 + 5, "nan")]
    assert history(dst_client, dst_run.info.run_id, "mixed") == history(src_client, run_id, "mixed")
    [dst_model] = dst_client.search_logged_models(experiment_ids=[dst_run.info.experiment_id])
    assert [(m.key, m.step) for m in dst_model.metrics] == [("lm_nan", 0)]
    result = verify(src_client, dst_client, experiments=name, artifact_checksums=False)
    assert result.ok, result.lines()


# ------------------------------------------------------------------ evaluation datasets

def test_verify_datasets_reads_links_from_its_own_servers(src_server, dst_server, src_client, dst_client, uniq,
                                                          tmp_path, monkeypatch):
    name = f"fh-ds-{uniq}"
    make_dataset(src_client, name, [src_client.create_experiment(f"fh-ds-a-{uniq}")], n=2)
    make_dataset(dst_client, name, [dst_client.create_experiment(f"fh-ds-b-{uniq}")], n=2)
    monkeypatch.chdir(tmp_path)  # MLflow's default store would be ./mlflow.db here
    res = invoke(verify_main, ["--src-uri", src_server.uri, "--dst-uri", dst_server.uri,
                               "--evaluation-datasets", name, "--json", "diff.json"])
    assert res.exit_code == 1, res.output
    [diff] = json.load(open("diff.json"))["differences"]
    assert diff["field"] == "experiments" and f"fh-ds-a-{uniq}" in diff["src"] and f"fh-ds-b-{uniq}" in diff["dst"]
    assert not os.path.exists("mlflow.db")


def test_export_datasets_by_name_ignores_experiment_ids(src_client, uniq, tmp_path):
    name = f"fh-dsx-{uniq}"
    make_dataset(src_client, name, [src_client.create_experiment(f"fh-dsx-a-{uniq}")], n=1)
    other = src_client.create_experiment(f"fh-dsx-b-{uniq}")
    report = Report()
    summary = export_datasets_mod.export_evaluation_datasets(str(tmp_path), name, other, mlflow_client=src_client,
                                                             report=report)
    assert [d["name"] for d in summary["datasets"]] == [name]
    assert any("--experiment-ids" in n for n in report.notes)


# ------------------------------------------------------------------ import-logged-models

def test_import_logged_models_creates_no_empty_experiments(src_server, dst_server, src_client, dst_client, uniq,
                                                           tmp_path):
    with_model, without = f"fh-lmx-a-{uniq}", f"fh-lmx-b-{uniq}"
    exp_a = src_client.create_experiment(with_model)
    exp_b = src_client.create_experiment(without)
    make_logged_model(src_client, exp_a, "m")
    out = str(tmp_path / "lm")
    export_logged_models(f"{exp_a},{exp_b}", out, mlflow_client=src_client)
    res = invoke(import_logged_models_main, ["--input-dir", out], dst_server.uri)
    assert res.exit_code == 0, res.output
    assert dst_client.get_experiment_by_name(with_model) is not None
    assert dst_client.get_experiment_by_name(without) is None


# ------------------------------------------------------------------ a busy server

def busy_once(path_part):
    """Answers the first request whose path has path_part as a busy SQLite-backed server does (HTTP 400)."""
    state = {"done": False}

    def answer(path):
        if path_part in path and not state["done"]:
            state["done"] = True
            body = {"error_code": "BAD_REQUEST", "message": "(sqlite3.IntegrityError) UNIQUE constraint failed: "
                                                            "datasets.experiment_id, datasets.name, datasets.digest"}
            return 400, {"Content-Type": "application/json"}, json.dumps(body).encode()
        return None
    return answer


def test_busy_server_retry_is_quiet(src_client, dst_server, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"fh-busy-{uniq}")
    run_id = make_run(src_client, exp_id, "r", artifacts=False, dataset="iris", metrics=1, steps=1)
    export_run(run_id, str(tmp_path / "run"), mlflow_client=src_client)
    with FaultProxy(dst_server.uri, answer=busy_once("/runs/log-inputs")) as proxy:
        res = invoke(import_run_main, ["--input-dir", str(tmp_path / "run"), "--experiment-name",
                                       f"fh-busy-{uniq}"], proxy.uri)
    assert res.exit_code == 0, res.output
    assert "1 copied" in res.output
    assert "WARNING" not in res.output and "UNIQUE constraint" not in res.output


# ------------------------------------------------------------------ --quiet

def test_verify_quiet_shows_no_download_bars(src_server, src_client, uniq, monkeypatch):
    name = f"fh-quiet-{uniq}"
    exp_id = src_client.create_experiment(name)
    make_run(src_client, exp_id, "r", metrics=0, params=0)
    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)  # as a user has it
    res = CliRunner().invoke(verify_main, ["--src-uri", src_server.uri, "--dst-uri", src_server.uri,
                                           "--experiments", name, "--quiet"])
    assert res.exit_code == 0, res.output
    assert "Downloading artifacts" not in res.output


# ------------------------------------------------------------------ Ctrl-C

def done_runs(client, experiment_name):
    exp = client.get_experiment_by_name(experiment_name)
    if exp is None:
        return 0
    return len(client.search_runs([exp.experiment_id], f"tags.`{ImportTags.STATE}` = 'done'"))


def _ctrl_c_as_in_a_terminal():
    """A job started in the background by a shell ignores SIGINT, and its children inherit that (a CI runner may
    start the suite so): the command under test gets the disposition it has in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_counts_what_was_done_exits_130_and_says_rerun(src_client, dst_server, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"fh-int-{uniq}")
    for i in range(8):
        make_run(src_client, exp_id, f"r{i}", artifacts=False, params=1, metrics=1, steps=1, tags=1)
    export_experiment(exp_id, str(tmp_path / "exp"), mlflow_client=src_client)
    dst_name = f"fh-int-dst-{uniq}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=dst_server.uri)
    proc = subprocess.Popen([os.path.join(BIN, "import-experiment"), "--input-dir", str(tmp_path / "exp"),
                             "--experiment-name", dst_name, "--workers", "2", "--max-requests-per-second", "3"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.time() + 60
    while done_runs(dst_client, dst_name) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    copied = int(re.search(r"runs:\s+(\d+) copied", out).group(1))
    assert copied == done_runs(dst_client, dst_name) < 8
    assert "re-run" in out + err
    assert "Traceback" not in err


# ------------------------------------------------------------------ options checked before any work

def test_bad_time_option_exits_2_before_any_write(src_server, tmp_path):
    out = tmp_path / "out"
    res = invoke(export_experiments_main, ["--experiments", "all", "--output-dir", str(out),
                                           "--run-start-time", "2024-13-01"], src_server.uri)
    assert res.exit_code == 2, res.output
    assert "2024-13-01" in res.output
    assert not out.exists()


def test_stages_with_versions_is_a_usage_error_said_once(src_server, tmp_path):
    res = invoke(export_model_main, ["--model", "any", "--output-dir", str(tmp_path / "m"), "--stages", "Production",
                                     "--versions", "1"], src_server.uri)
    assert res.exit_code == 2, res.output
    assert res.output.count("--stages") == 1, res.output
    assert "Summary" not in res.output and "failed" not in res.output
    assert not (tmp_path / "m").exists()


# ------------------------------------------------------------------ what re-runs say

def test_rerun_of_import_experiment_says_nothing_was_imported(src_client, dst_server, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"fh-rerun-{uniq}")
    for i in range(2):
        make_run(src_client, exp_id, f"r{i}", artifacts=False, metrics=1, steps=1)
    export_experiment(exp_id, str(tmp_path / "exp"), mlflow_client=src_client)
    args = ["--input-dir", str(tmp_path / "exp"), "--experiment-name", f"fh-rerun-{uniq}"]
    assert invoke(import_experiment_main, args, dst_server.uri).exit_code == 0
    res = invoke(import_experiment_main, args, dst_server.uri)
    assert res.exit_code == 0, res.output
    assert "2 of 2 runs" not in res.output
    assert re.search(r"0 runs imported, 2 already imported", res.output), res.output


def test_copy_run_of_a_nested_run_says_parent_link_dropped_and_rerun_says_skipped(
        src_server, dst_server, src_client, uniq):
    exp_id = src_client.create_experiment(f"fh-nest-{uniq}")
    parent = make_run(src_client, exp_id, "parent", artifacts=False, metrics=0)
    child = make_run(src_client, exp_id, "child", artifacts=False, metrics=0, parent_id=parent)
    args = ["--run-id", child, "--experiment-name", f"fh-nest-dst-{uniq}", "--src-mlflow-uri", src_server.uri,
            "--dst-mlflow-uri", dst_server.uri]
    res = invoke(copy_run_main, args)
    assert res.exit_code == 0, res.output
    assert re.search(rf"note: .*{child}.*parent run '{parent}'.*not linked", res.output), res.output
    res = invoke(copy_run_main, args)
    assert res.exit_code == 0, res.output
    assert "1 skipped" in res.output
    assert f"Run '{child}' copied as run" not in res.output
    assert f"Run '{child}' was already copied as run" in res.output


# ------------------------------------------------------------------ the progress line

def test_progress_line_has_totals_and_log_lines_start_on_their_own_line(src_client, dst_client, uniq, tmp_path,
                                                                         monkeypatch):
    exp_id = src_client.create_experiment(f"fh-prog-{uniq}")
    for i in range(2):
        make_run(src_client, exp_id, f"r{i}", artifacts=False, metrics=1, steps=1)
    export_experiment(exp_id, str(tmp_path / "exp"), mlflow_client=src_client)
    stream = io.StringIO()
    progress = progress_mod.Progress(stream=stream, enabled=True)
    logger = logging.getLogger("first_hour_test")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    progress_mod.attach_to_logger(progress, logger)
    monkeypatch.setattr(progress_mod, "REFRESH_SECONDS", 0)  # draw on every update
    try:
        report = Report("import-experiment", progress)
        import_experiment(f"fh-prog-{uniq}", str(tmp_path / "exp"), mlflow_client=dst_client, report=report)
        logger.warning("a log line")
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert "runs 1/2" in text and "runs 2/2" in text, repr(text)
    line_with_log = text.split("a log line")[0].rsplit("\n", 1)[-1]
    assert line_with_log.rsplit("\r", 1)[-1] == "", repr(line_with_log)


# ------------------------------------------------------------------ MLflow's own warnings

def test_import_model_with_stages_shows_no_future_warning(src_client, dst_server, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"fh-stage-{uniq}")
    run_id = make_run(src_client, exp_id, "r", metrics=0)
    model = f"fh-stage-{uniq}"
    src_client.create_registered_model(model)
    version = src_client.create_model_version(model, f"runs:/{run_id}/model", run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src_client.transition_model_version_stage(model, version.version, "Staging")
    export_model(model, str(tmp_path / "m"), mlflow_client=src_client)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = invoke(import_model_main, ["--model", model, "--experiment-name", f"fh-stage-dst-{uniq}",
                                         "--input-dir", str(tmp_path / "m")], dst_server.uri)
    assert res.exit_code == 0, res.output
    assert [str(w.message) for w in caught if issubclass(w.category, FutureWarning)] == []


# ------------------------------------------------------------------ a copy of a copy

def test_copy_of_a_copy_points_at_its_own_source(src_client, dst_client, uniq, tmp_path):
    """dev -> staging -> prod: the second import's lineage names the staging run, and its state is its own."""
    exp_id = src_client.create_experiment(f"fh-chain-{uniq}")
    run_id = make_run(src_client, exp_id, "r", artifacts=False, metrics=1, steps=1)
    export_experiment(exp_id, str(tmp_path / "a"), mlflow_client=src_client)
    first = import_experiment(f"fh-chain-b-{uniq}", str(tmp_path / "a"), mlflow_client=dst_client)[run_id]
    export_experiment(first.experiment_id, str(tmp_path / "b"), mlflow_client=dst_client)
    second = import_experiment(f"fh-chain-c-{uniq}", str(tmp_path / "b"), mlflow_client=src_client)[first.run_id]
    tags = src_client.get_run(second.run_id).data.tags
    assert tags[ImportTags.SRC_RUN_ID] == first.run_id
    assert tags[ImportTags.STATE] == ImportTags.STATE_DONE


# ------------------------------------------------------------------ local stores

def test_no_tracking_uri_names_the_store_and_dry_run_creates_no_database(src_client, uniq, tmp_path, monkeypatch):
    exp_id = src_client.create_experiment(f"fh-local-{uniq}")
    make_run(src_client, exp_id, "r", artifacts=False, metrics=0)
    export_experiment(exp_id, str(tmp_path / "exp"), mlflow_client=src_client)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    res = invoke(import_experiment_main, ["--input-dir", "exp", "--experiment-name", "e", "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "MLFLOW_TRACKING_URI is not set: using MLflow's default store sqlite:///" in res.output
    assert f"(a new file: {tmp_path / 'mlflow.db'})" in res.output
    assert "would create" in res.output or "1 to copy" in res.output
    assert not os.path.exists("mlflow.db")
    res = invoke(import_run_main, ["--input-dir", "exp", "--experiment-name", "e", "--dry-run"],
                 f"sqlite:///{tmp_path}/other.db")
    assert not os.path.exists(tmp_path / "other.db")


def test_export_into_a_used_directory_warns(src_server, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.json").write_text("{}")
    res = invoke(export_experiments_main, ["--experiments", "no-such-experiment-fh", "--output-dir", str(out)],
                 src_server.uri)
    assert "--output-dir" in res.output and "is not empty" in res.output


def test_skinny_install_asked_for_sqlite_says_install_full(tmp_path):
    """mlflow-skinny has no SQLAlchemy: simulated by hiding it from the import system."""
    script = ("import sys; sys.modules['sqlalchemy'] = None; sys.modules['alembic'] = None\n"
              "from mlflow_export_import.bulk.export_all import main\n"
              "main(['--output-dir', 'out'])\n")
    env = dict(os.environ, MLFLOW_TRACKING_URI="sqlite:///x.db")
    res = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 1
    assert "[full]" in res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.db").exists()


# ------------------------------------------------------------------ help

def test_every_command_help_has_an_example_its_environment_and_version():
    from mlflow_export_import.cli import COMMANDS, cli
    for name in COMMANDS:
        res = CliRunner().invoke(cli, [name, "--help"])
        assert res.exit_code == 0, (name, res.output)
        if "--report" not in res.output:
            continue  # http-client: the reference's REST tool, outside the command frame
        assert "Example:" in res.output and "MLFLOW_TRACKING_URI" in res.output, (name, res.output)
        if name == "export-model-version":
            assert "--version TEXT" in res.output  # the version number, as the reference has it
            continue
        res = CliRunner().invoke(cli, [name, "--version"])
        assert res.exit_code == 0 and "(mlflow-export-import)" in res.output and "mlflow 3" in res.output, name


def test_umbrella_help_and_version_do_not_import_mlflow():
    script = ("import sys\nfrom mlflow_export_import.cli import cli\n"
              "for args in (['--help'], ['--version']):\n"
              "    try:\n        cli(args)\n    except SystemExit:\n        pass\n"
              "print('MLFLOW IMPORTED' if 'mlflow' in sys.modules else 'NO MLFLOW')\n")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "import-all" in res.stdout and "(mlflow-export-import)" in res.stdout
    assert res.stdout.rstrip().endswith("NO MLFLOW"), res.stdout
