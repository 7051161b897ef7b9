"""copy-all, copy-experiments, copy-models and sync between two real servers, no export directory: the
destination equals the source (census diff), a re-run copies nothing, a copy killed part-way and re-run is
exact, two copies started at once end exact with no twins, and a sync brings a changed source's copy level."""
import os
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.engine import copy_all, copy_experiments, copy_models, sync
from tests.conftest import TOOLS_DIR

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def populated(server_pool):
    """A source made by ../shared/tools/populate.py (every object type, deleted runs and experiment, nested
    runs, stages and aliases) and a spare empty server."""
    src, spare = server_pool()
    subprocess.run([sys.executable, os.path.join(TOOLS_DIR, "populate.py"), "--tracking-uri", src.uri,
                    "--preset", "tiny", "--threads", "2"], check=True, capture_output=True)
    yield src, spare
    src.kill()
    spare.kill()


@pytest.fixture(scope="module")
def src_census(populated, census):
    """The source's census, taken once: the source stays as populated until the sync tests, which come last and
    compare with a census of their own."""
    return census(populated[0].uri)


@pytest.fixture(scope="module")
def spare_pair(server_pool):
    pair = server_pool()
    yield pair
    for server in pair:
        server.kill()


def run_cli(command, *args):
    res = CliRunner().invoke(command.main, list(args), catch_exceptions=False)
    return res


def script(name, src, dst, *args):
    return [os.path.join(BIN, name), "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--quiet", *args]


def test_copy_all_equals_the_source_and_a_rerun_copies_nothing(populated, src_census, census_diff, tmp_path):
    src, dst = populated
    plan = run_cli(copy_all, "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--export-deleted-runs",
                   "--dry-run")
    assert plan.exit_code == 0, plan.output
    res = run_cli(copy_all, "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--export-deleted-runs",
                  "--workers", "4")
    assert res.exit_code == 0, res.output
    assert census_diff(src_census, dst.uri) == {}
    # the dry run said what the copy then did, kind by kind
    for kind in ("runs", "experiments", "model_versions", "traces", "logged_models", "prompt_versions"):
        assert _count(plan.output, kind, "to copy") == _count(res.output, kind, "copied"), (kind, plan.output,
                                                                                            res.output)
    again = run_cli(copy_all, "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--export-deleted-runs")
    assert again.exit_code == 0, again.output
    assert all(_count(again.output, kind, "copied") == 0
               for kind in ("runs", "experiments", "model_versions", "traces", "logged_models", "prompt_versions"))
    assert census_diff(src_census, dst.uri) == {}


def _count(output, kind, what):
    """The number before `what` on the summary line of `kind` (0 when the kind has no line)."""
    for line in output.splitlines():
        if line.strip().startswith(f"{kind}:"):
            for part in line.split(":", 1)[1].split(","):
                if part.strip().endswith(what):
                    return int(part.split()[0])
    return 0


def test_copy_killed_at_random_points_and_rerun_is_exact(populated, spare_pair, src_census, census_diff):
    src, _ = populated
    dst = spare_pair[0]
    for delay in (5.0,):  # part-way through the runs (the tiny source takes some 15 s to copy here)
        proc = subprocess.Popen(script("copy-all", src, dst, "--export-deleted-runs"), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # the re-run in this process: only the copy that is killed needs to be a process of its own
    res = run_cli(copy_all, "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--export-deleted-runs")
    assert res.exit_code == 0, res.output
    assert census_diff(src_census, dst.uri) == {}


def test_two_copies_started_at_once_end_exact_with_no_twins(populated, spare_pair, src_census, census_diff):
    src, _ = populated
    dst = spare_pair[1]
    procs = [subprocess.Popen(script("copy-all", src, dst, "--export-deleted-runs"), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate()[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert census_diff(src_census, dst.uri) == {}
    # between them, each run was copied once: what one copied, the other found done
    client = src.client()
    source_runs = sum(len(client.search_runs([e.experiment_id], run_view_type=ViewType.ALL))
                      for e in client.search_experiments(view_type=ViewType.ALL))
    assert sum(_count(out, "runs", "copied") for out in outputs) == source_runs, outputs


def test_copy_experiments_and_copy_models_select_and_rename(populated, spare_pair, tmp_path):
    """Into the server the killed copy filled: the renamed experiment is new there."""
    src, _ = populated
    dst = spare_pair[0]
    src_client, dst_client = src.client(), dst.client()
    name = src_client.search_experiments(filter_string="name LIKE 'bench/exp_%'")[0].name
    renames = tmp_path / "renames.txt"
    renames.write_text(f"{name},copied/{name}\n")
    res = run_cli(copy_experiments, "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--experiments", name,
                  "--experiment-rename-file", str(renames))
    assert res.exit_code == 0, res.output
    assert dst_client.get_experiment_by_name(f"copied/{name}") is not None
    src_runs = src_client.search_runs([src_client.get_experiment_by_name(name).experiment_id])
    dst_runs = dst_client.search_runs([dst_client.get_experiment_by_name(f"copied/{name}").experiment_id])
    assert sorted(r.info.run_name for r in src_runs) == sorted(r.info.run_name for r in dst_runs)

    model = src_client.search_registered_models()[0].name
    model_renames = tmp_path / "models.txt"
    model_renames.write_text(f"{model},copied_{model}\n")
    res = run_cli(copy_models, "--src-mlflow-uri", src.uri, "--dst-mlflow-uri", dst.uri, "--models", model,
                  "--model-rename-file", str(model_renames))
    assert res.exit_code == 0, res.output
    src_versions = {v.version: v.current_stage for v in src_client.search_model_versions(f"name='{model}'")}
    dst_versions = {v.version: v.current_stage
                    for v in dst_client.search_model_versions(f"name='copied_{model}'")}
    assert src_versions == dst_versions


def test_bad_options_exit_2_before_any_write(populated):
    src, _ = populated
    res = CliRunner().invoke(copy_all.main, ["--src-mlflow-uri", src.uri, "--dst-mlflow-uri", src.uri])
    assert res.exit_code == 2 and "same server" in res.output
    res = CliRunner().invoke(sync.main, ["--src-uri", src.uri])
    assert res.exit_code == 2 and "--dst-mlflow-uri" in res.output


def test_sync_into_a_directory_is_an_incremental_backup(populated, tmp_path):
    """sync --dst-dir keeps an export directory level: verify finds it equal to the source, a second sync
    writes only the run that changed, and import-all would read it (verify reads it as an export)."""
    from mlflow_export_import.verify import verify
    src, _ = populated
    backup = str(tmp_path / "backup")
    res = run_cli(sync, "--src-uri", src.uri, "--dst-dir", backup)
    assert res.exit_code == 0, res.output
    check = CliRunner().invoke(verify.main, ["--src-uri", src.uri, "--dst-dir", backup, "--include-deleted"])
    assert check.exit_code == 0 and "EQUAL" in check.output, check.output
    c = src.client()
    run = c.search_runs([c.get_experiment_by_name("bench/exp_001").experiment_id])[0]
    c.log_metric(run.info.run_id, "after_backup", 3.0)
    again = run_cli(sync, "--src-uri", src.uri, "--dst-dir", backup)
    assert again.exit_code == 0, again.output
    assert _count(again.output, "runs", "copied") == 1, again.output
    check = CliRunner().invoke(verify.main, ["--src-uri", src.uri, "--dst-dir", backup, "--include-deleted"])
    assert check.exit_code == 0 and "EQUAL" in check.output, check.output
    both = CliRunner().invoke(sync.main, ["--src-uri", src.uri, "--dst-dir", backup, "--dst-uri", src.uri])
    assert both.exit_code == 2 and "not both" in both.output


def test_sync_brings_a_changed_source_level_and_then_plans_nothing(populated, census_diff):
    """Last in the module: it changes the shared source."""
    src, dst = populated  # dst holds the copy the first test made
    c = src.client()
    exp = c.get_experiment_by_name("bench/exp_000")
    runs = c.search_runs([exp.experiment_id], order_by=["attributes.start_time ASC"])
    old, other = runs[0], runs[1]
    c.log_metric(old.info.run_id, "late_metric", 1.5, step=7)
    c.log_metric(old.info.run_id, runs[0].data._metric_objs[0].key, 42.0, step=10_000)
    c.set_tag(old.info.run_id, "reviewed", "yes")
    c.delete_run(other.info.run_id)
    new_run = c.create_run(exp.experiment_id, run_name="added-after-copy")
    c.log_param(new_run.info.run_id, "p", "1")
    c.set_terminated(new_run.info.run_id)
    model = c.search_registered_models()[0].name
    versions = sorted(c.search_model_versions(f"name='{model}'"), key=lambda v: int(v.version))
    c.create_model_version(model, versions[0].source, run_id=versions[0].run_id)
    c.transition_model_version_stage(model, versions[0].version, "Archived")
    c.set_registered_model_alias(model, "champion", versions[-1].version)
    c.register_prompt(c.search_prompts()[0].name, "Changed after the copy: {{question}}")

    res = run_cli(sync, "--src-uri", src.uri, "--dst-uri", dst.uri, "--delete")
    assert res.exit_code == 0, res.output
    assert census_diff(src.uri, dst.uri) == {}
    plan = run_cli(sync, "--src-uri", src.uri, "--dst-uri", dst.uri, "--delete", "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "to copy" not in plan.output or all(
        _count(plan.output, kind, "to copy") == 0 for kind in
        ("runs", "experiments", "models", "model_versions", "traces", "logged_models", "prompts", "prompt_versions",
         "evaluation_datasets")), plan.output


def test_a_copy_stopped_before_deleting_a_deleted_run_is_deleted_by_the_rerun(src_client, dst_client, src_server,
                                                                              dst_server, uniq):
    """A copy of a deleted run is deleted by its last request (a deleted run takes no write). A copy killed just
    before it leaves the run marked done but active: the next copy deletes it, without a twin."""
    name = f"deleted-run-{uniq}"
    exp_id = src_client.create_experiment(name)
    run = src_client.create_run(exp_id)
    src_client.set_terminated(run.info.run_id)
    src_client.delete_run(run.info.run_id)
    args = ("--src-mlflow-uri", src_server.uri, "--dst-mlflow-uri", dst_server.uri, "--experiments", name,
            "--export-deleted-runs")
    assert run_cli(copy_experiments, *args).exit_code == 0
    dst_exp_id = dst_client.get_experiment_by_name(name).experiment_id
    [copied] = dst_client.search_runs([dst_exp_id], run_view_type=ViewType.ALL)
    assert copied.info.lifecycle_stage == "deleted"
    dst_client.restore_run(copied.info.run_id)  # what a copy killed between its last write and the delete leaves

    res = run_cli(copy_experiments, *args)
    assert res.exit_code == 0, res.output
    assert [r.info.run_id for r in dst_client.search_runs([dst_exp_id], run_view_type=ViewType.ALL)] == \
        [copied.info.run_id]
    assert dst_client.get_run(copied.info.run_id).info.lifecycle_stage == "deleted"


def test_a_sync_of_selected_models_copies_a_version_whose_run_is_in_default(populated, uniq):
    """The registry's lease is held on Default (experiment 0). Selected models bring their versions' runs along,
    and a run in Default was copied under a second lease on Default, which waited forever for the first. (On this
    module's servers, after the sync test: a run in Default would change what other modules' servers hold.)"""
    src_server, dst_server = populated
    src_client, dst_client = src_server.client(), dst_server.client()
    name = f"in-default-{uniq}"
    run = src_client.create_run("0", run_name=name)
    src_client.log_text(run.info.run_id, "weights", "model/weights.txt")
    src_client.set_terminated(run.info.run_id)
    src_client.create_registered_model(name)
    src_client.create_model_version(name, f"{run.info.artifact_uri}/model", run.info.run_id)
    exp_name = f"selected-{uniq}"
    src_client.create_experiment(exp_name)

    proc = subprocess.run([os.path.join(BIN, "mlflow-export-import"), "sync", "--src-uri", src_server.uri,
                           "--dst-uri", dst_server.uri, "--experiments", exp_name, "--models", name, "--quiet"],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [version] = dst_client.search_model_versions(f"name='{name}'")
    copied = dst_client.get_run(version.run_id)
    assert copied.info.experiment_id == "0" and copied.info.run_name == name
