"""--retry-failed REPORT: the --report of an import fed back retries only the objects it lists as failed; a run
whose parent failed is retried with it, so their link is made."""
import json
import os
import shutil

from click.testing import CliRunner

from mlflow_export_import.bulk import export_models as ems
from mlflow_export_import.bulk import import_models as ims
from mlflow_export_import.common.source_tags import ImportTags
from tests.test_models import assert_same_model, make_model
from tests.workload import make_run


def import_models(dst_server, out, tmp_path, name, *extra):
    report_file = str(tmp_path / f"{name}.json")
    res = CliRunner().invoke(ims.main, ["--input-dir", out, "--report", report_file, *extra],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert "Traceback" not in res.output, res.output
    return res, (json.load(open(report_file)) if os.path.exists(report_file) else None)


def spoil(run_json):
    """A run.json that reads well but that MLflow refuses: a param name with a character names cannot have."""
    shutil.copy(run_json, run_json + ".good")
    dct = json.load(open(run_json))
    dct["mlflow"]["params"]["bad?name"] = "1"
    json.dump(dct, open(run_json, "w"))


def mend(run_json):
    shutil.move(run_json + ".good", run_json)


def imported(dst_client, experiment_name):
    exp = dst_client.get_experiment_by_name(experiment_name)
    runs = dst_client.search_runs([exp.experiment_id]) if exp else []
    return {r.data.tags[ImportTags.SRC_RUN_ID]: r for r in runs}


def test_retry_only_the_failed_objects(src_server, dst_server, uniq, tmp_path):
    src_client, dst_client = src_server.client(), dst_server.client()
    a = make_model(src_client, f"rf-{uniq}-a", f"rf-exp-{uniq}-a")
    b = make_model(src_client, f"rf-{uniq}-b", f"rf-exp-{uniq}-b")
    exp_a = src_client.get_experiment_by_name(f"rf-exp-{uniq}-a").experiment_id
    parent = make_run(src_client, exp_a, "parent")
    child = make_run(src_client, exp_a, "child", parent_id=parent)
    out = str(tmp_path / "out")
    ems.export_models(f"rf-{uniq}-*", out, export_all_runs=True, export_deleted_runs=True, mlflow_client=src_client)
    run_a = src_client.get_model_version(a, "1").run_id
    run_b = src_client.get_model_version(b, "1").run_id
    exp_b = src_client.get_experiment_by_name(f"rf-exp-{uniq}-b").experiment_id
    broken = [os.path.join(out, "experiments", exp, "runs", run_id, "run.json")
              for exp, run_id in ((exp_a, run_a), (exp_b, run_b), (exp_a, parent))]
    for run_json in broken:
        spoil(run_json)

    first, report = import_models(dst_server, out, tmp_path, "first")

    for run_json in broken:
        mend(run_json)
    failed = {(f["type"], f["id"]) for f in report["failures"]}
    assert first.exit_code == 1
    assert {("runs", run_a), ("runs", run_b), ("runs", parent), ("runs", child)} <= failed, failed
    assert any(kind == "model_versions" and obj.startswith(a + "/") for kind, obj in failed)
    assert set(imported(dst_client, f"rf-exp-{uniq}-a")).isdisjoint({run_a, parent, child})

    only_a = {**report, "failures": [f for f in report["failures"] if f["id"] not in (run_b,)
                                     and not str(f["id"]).startswith(b + "/") and f["id"] != b]}
    json.dump(only_a, open(tmp_path / "only_a.json", "w"))
    second, retried = import_models(dst_server, out, tmp_path, "second", "--retry-failed",
                                    str(tmp_path / "only_a.json"))

    assert second.exit_code == 0, second.output
    assert retried["counts"]["runs"] == {"copied": 3, "skipped": 0, "failed": 0}
    assert_same_model(src_client, a, dst_client, a)
    runs_a = imported(dst_client, f"rf-exp-{uniq}-a")
    assert runs_a[child].data.tags["mlflow.parentRunId"] == runs_a[parent].info.run_id
    assert run_b not in imported(dst_client, f"rf-exp-{uniq}-b")  # not in the list: not retried

    third, _ = import_models(dst_server, out, tmp_path, "third", "--retry-failed", str(tmp_path / "first.json"))

    assert third.exit_code == 0, third.output
    assert_same_model(src_client, b, dst_client, b)
    assert run_b in imported(dst_client, f"rf-exp-{uniq}-b")


def test_bad_retry_list_is_one_clear_error(dst_server, tmp_path):
    out = str(tmp_path / "empty")
    os.makedirs(out)
    (tmp_path / "not-a-report.json").write_text('{"runs": []}')
    for path, message in ((tmp_path / "missing.json", "does not exist"),
                          (tmp_path / "not-a-report.json", "is not a report written by --report")):
        res = CliRunner().invoke(ims.main, ["--input-dir", out, "--retry-failed", str(path)],
                                 env={"MLFLOW_TRACKING_URI": dst_server.uri})
        assert res.exit_code == 1 and "Traceback" not in res.output
        assert f"Report file '{path}' (--retry-failed) {message}" in res.output
