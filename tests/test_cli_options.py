"""The console scripts of runs and experiments take the reference's options (cli.md §1.1), boolean options in
both forms (`--flag True` and the bare `--flag`), `--use-src-user-id`, and `--workers`."""
import json
import os

import pytest
from click.testing import CliRunner

from mlflow_export_import.bulk import export_experiments, import_experiments
from mlflow_export_import.cli import cli as umbrella
from mlflow_export_import.common.utils import get_user
from mlflow_export_import.experiment import export_experiment, import_experiment
from mlflow_export_import.run import export_run, import_run
from tests.workload import T0, make_run

REFERENCE_OPTIONS = {
    export_run.main: ["--run-id", "--output-dir", "--notebook-formats"],
    import_run.main: ["--input-dir", "--experiment-name", "--import-source-tags", "--use-src-user-id",
                      "--dst-notebook-dir", "--mlmodel-fix"],
    export_experiment.main: ["--experiment", "--output-dir", "--run-ids", "--export-permissions", "--run-start-time",
                             "--runs-until", "--export-deleted-runs", "--check-nested-runs", "--notebook-formats"],
    import_experiment.main: ["--experiment-name", "--input-dir", "--import-permissions", "--import-source-tags",
                             "--use-src-user-id", "--dst-notebook-dir"],
    export_experiments.main: ["--experiments", "--output-dir", "--export-permissions", "--run-start-time",
                              "--runs-until", "--export-deleted-runs", "--notebook-formats", "--use-threads"],
    import_experiments.main: ["--input-dir", "--import-permissions", "--import-source-tags", "--use-src-user-id",
                              "--experiment-rename-file", "--use-threads"],
}


def cli(main, args, uri):
    return CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri}, catch_exceptions=False)


@pytest.mark.parametrize("main", list(REFERENCE_OPTIONS), ids=lambda m: m.name)
def test_reference_options_are_accepted(main):
    res = CliRunner().invoke(main, ["--help"])
    assert res.exit_code == 0
    for option in REFERENCE_OPTIONS[main]:
        assert option in res.output, option
    if main not in (export_run.main, import_run.main):
        assert "--workers" in res.output


@pytest.mark.parametrize("name", ["export-run", "import-run", "export-experiment", "import-experiment",
                                  "export-experiments", "import-experiments"])
def test_umbrella_group_holds_the_commands(name):
    res = CliRunner().invoke(umbrella, [name, "--help"])
    assert res.exit_code == 0 and ("--input-dir" in res.output or "--output-dir" in res.output)


@pytest.fixture(scope="module")
def exp_with_deleted_run(src_server):
    client = src_server.client()
    exp_id = client.create_experiment(f"bool-forms-{os.getpid()}")
    make_run(client, exp_id, "active", start=T0, artifacts=False, user="dora")
    client.delete_run(make_run(client, exp_id, "deleted", start=T0 + 1, artifacts=False))
    return exp_id


@pytest.mark.parametrize("args, expected", [([], 1), (["--export-deleted-runs"], 2),
                                            (["--export-deleted-runs", "True"], 2),
                                            (["--export-deleted-runs", "true"], 2),
                                            (["--export-deleted-runs", "False"], 1)])
def test_bool_option_forms(src_server, exp_with_deleted_run, tmp_path, args, expected):
    out = str(tmp_path / "out")
    res = cli(export_experiment.main, ["--experiment", exp_with_deleted_run, "--output-dir", out] + args,
              src_server.uri)
    assert res.exit_code == 0, res.output
    assert len(os.listdir(os.path.join(out, "runs"))) == expected


def test_bool_option_rejects_garbage(src_server, exp_with_deleted_run, tmp_path):
    res = CliRunner().invoke(export_experiment.main, ["--experiment", exp_with_deleted_run, "--output-dir",
                                                      str(tmp_path), "--export-deleted-runs", "maybe"],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 2 and "maybe" in res.output


@pytest.mark.parametrize("args, user", [([], "dora"), (["--use-src-user-id"], "dora"),
                                        (["--use-src-user-id", "True"], "dora"),
                                        (["--use-src-user-id", "False"], get_user())])
def test_use_src_user_id(src_server, dst_server, exp_with_deleted_run, tmp_path, uniq, args, user):
    src_client, dst_client = src_server.client(), dst_server.client()
    [run] = src_client.search_runs([exp_with_deleted_run])
    out = str(tmp_path / "run")
    assert cli(export_run.main, ["--run-id", run.info.run_id, "--output-dir", out], src_server.uri).exit_code == 0
    res = cli(import_run.main, ["--input-dir", out, "--experiment-name", f"user-{uniq}"] + args, dst_server.uri)
    assert res.exit_code == 0, res.output
    [dst_run] = dst_client.search_runs([dst_client.get_experiment_by_name(f"user-{uniq}").experiment_id])
    assert dst_run.info.user_id == user and dst_run.data.tags["mlflow.user"] == user


@pytest.mark.parametrize("workers", ["1", "4"])
def test_workers_and_use_threads(src_server, dst_server, exp_with_deleted_run, tmp_path, uniq, workers):
    out = str(tmp_path / "out")
    res = cli(export_experiments.main, ["--experiments", exp_with_deleted_run, "--output-dir", out,
                                        "--workers", workers, "--use-threads", "True", "--export-deleted-runs"],
              src_server.uri)
    assert res.exit_code == 0, res.output
    info = json.load(open(os.path.join(out, "experiments.json")))["info"]
    assert info["status"]["ok_runs"] == 2 and info["options"]["use_threads"] is True
    renames = tmp_path / "renames.csv"
    renames.write_text(f"bool-forms-,workers-{uniq}-\n")
    res = cli(import_experiments.main, ["--input-dir", out, "--workers", workers, "--use-threads",
                                        "--experiment-rename-file", str(renames)], dst_server.uri)
    assert res.exit_code == 0, res.output
    assert "2 copied" in res.output


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_workers_value_is_a_usage_error(value, tmp_path):
    res = CliRunner().invoke(export_experiments.main, ["--experiments", "all", "--output-dir", str(tmp_path),
                                                       "--workers", value])
    assert res.exit_code == 2 and "--workers" in res.output
