"""export-model / import-model on real servers: versions in every source style, stages, aliases, tags, a gap
left by a deleted version, a version of a deleted run, re-runs and bad input."""
import os

from click.testing import CliRunner

from mlflow_export_import.common.report import Report
from mlflow_export_import.model import export_model as em
from mlflow_export_import.model import import_model as im
from mlflow_export_import.model.model_utils import SRC_MODEL_ID_TAG, SRC_VERSION_TAG
from tests.mlflow3_workload import make_logged_model
from tests.workload import make_run


def make_model(client, name, experiment_name, extra_versions=0, logged=False):
    """A model whose versions use runs:/ and artifact-URI sources (and with `logged`, version 6 a logged model:
    models:/<id>), with stages, aliases and tags; version 3 is deleted (a gap) and version 5 belongs to a deleted
    run. Returns the model name."""
    exp_id = client.create_experiment(experiment_name)
    r1 = make_run(client, exp_id, "r1")
    r2 = make_run(client, exp_id, "r2", start=1_700_000_100_000)
    r3 = make_run(client, exp_id, "r3", start=1_700_000_200_000)
    uri = {r: client.get_run(r).info.artifact_uri for r in (r1, r2, r3)}
    client.create_registered_model(name, tags={"team": "ml", "tier": "gold"}, description=f"About {name}")
    specs = [(f"runs:/{r1}/model", r1, "Archived"), (f"{uri[r1]}/model", r1, "Staging"),
             (f"runs:/{r2}/model", r2, "None"), (f"{uri[r2]}/model", r2, "Production"),
             (f"runs:/{r3}/model", r3, "None")]
    if logged:
        model_id = make_logged_model(client, exp_id, f"lm-{name}", r2)
        specs.append((f"models:/{model_id}", r2, "Staging"))
    specs += [(f"runs:/{r2}/model", r2, "None")] * extra_versions
    for i, (source, run_id, stage) in enumerate(specs, 1):
        kwargs = {"model_id": source[len("models:/"):]} if source.startswith("models:/") else {}
        client.create_model_version(name, source, run_id, tags={"v": str(i), "kind": "test"},
                                    description=f"version {i}", **kwargs)
        if stage != "None":
            client.transition_model_version_stage(name, str(i), stage)
    client.set_registered_model_alias(name, "champion", "4")
    client.set_registered_model_alias(name, "challenger", "1")
    client.set_registered_model_alias(name, "old", "5")
    client.delete_model_version(name, "3")
    client.delete_run(r3)
    return name


def versions_of(client, name):
    return {int(v.version): v for v in client.search_model_versions(f"name='{name}'")}


def assert_same_model(src_client, src_name, dst_client, dst_name, skip=()):
    src, dst = src_client.get_registered_model(src_name), dst_client.get_registered_model(dst_name)
    assert dst.description == src.description
    assert {k: v for k, v in dst.tags.items() if not k.startswith("mlflow_exim.")} == src.tags
    assert {a: v for a, v in dst.aliases.items() if v not in skip} == \
        {a: v for a, v in src.aliases.items() if v not in skip}
    src_vs, dst_vs = versions_of(src_client, src_name), versions_of(dst_client, dst_name)
    assert sorted(dst_vs) == sorted(n for n in src_vs if str(n) not in skip)
    for n, dv in dst_vs.items():
        sv = src_vs[n]
        assert (dv.description, dv.current_stage, dv.status) == (sv.description, sv.current_stage, sv.status)
        assert {k: v for k, v in dv.tags.items() if not k.startswith("mlflow_exim.")} == sv.tags
        assert dv.tags[SRC_VERSION_TAG] == f"{src_name}/{n}"
        assert sorted(dv.aliases) == sorted(sv.aliases)
        dst_run = dst_client.get_run(dv.run_id)
        assert dst_run.data.tags["mlflow_exim.import.src_run_id"] == sv.run_id
        assert dst_run.info.lifecycle_stage == src_client.get_run(sv.run_id).info.lifecycle_stage
        if sv.source.startswith("models:/"):
            dst_model = dst_client.get_logged_model(dv.source[len("models:/"):])
            assert dst_model.tags[SRC_MODEL_ID_TAG] == sv.source[len("models:/"):]
            assert dst_model.source_run_id == dv.run_id
        elif sv.source.startswith("runs:/"):
            assert dv.source == sv.source.replace(sv.run_id, dv.run_id)
        else:
            assert dv.source == f"{dst_run.info.artifact_uri}/model"


def test_export_import_model(src_client, dst_client, uniq, tmp_path):
    name = make_model(src_client, f"m-{uniq}", f"m-exp-{uniq}", extra_versions=5, logged=True)
    out = str(tmp_path / "out")
    assert em.export_model(name, out, export_deleted_runs=True, mlflow_client=src_client) == (True, name)
    runs = [d for d in os.listdir(out) if os.path.exists(os.path.join(out, d, "run.json"))]
    assert len(runs) == 3
    assert len([d for d in os.listdir(out) if os.path.exists(os.path.join(out, d, "logged_model.json"))]) == 1
    report = Report()
    im.import_model(name, f"m-dst-{uniq}", out, mlflow_client=dst_client, report=report)
    assert not report.failures
    assert_same_model(src_client, name, dst_client, name)
    assert max(versions_of(dst_client, name)) == 11

    report = Report()
    im.import_model(name, f"m-dst-{uniq}", out, mlflow_client=dst_client, report=report)
    assert report.count("model_versions", "skipped") == 10 and report.count("model_versions") == 0
    assert report.count("runs", "skipped") == 3 and not report.failures
    assert len(versions_of(dst_client, name)) == 10


def test_deleted_run_versions_left_out_without_flag(src_client, dst_client, uniq, tmp_path):
    name = make_model(src_client, f"md-{uniq}", f"md-exp-{uniq}")
    out = str(tmp_path / "out")
    report = Report()
    em.export_model(name, out, mlflow_client=src_client, report=report)
    assert report.count("model_versions", "skipped") == 1
    im.import_model(name, f"md-dst-{uniq}", out, mlflow_client=dst_client)
    assert_same_model(src_client, name, dst_client, name, skip=("5",))


def test_stages_and_versions_filters(src_client, dst_client, uniq, tmp_path):
    name = make_model(src_client, f"mf-{uniq}", f"mf-exp-{uniq}")
    out = str(tmp_path / "out")
    em.export_model(name, out, stages="production,staging", mlflow_client=src_client)
    im.import_model(f"{name}-s", f"mf-dst-{uniq}", out, mlflow_client=dst_client)
    dst = versions_of(dst_client, f"{name}-s")
    assert sorted(dst) == [2, 4] and dst[4].current_stage == "Production"
    assert dst_client.get_registered_model(f"{name}-s").aliases == {"champion": "4"}

    out2 = str(tmp_path / "out2")
    em.export_model(name, out2, versions="1,4", mlflow_client=src_client)
    im.import_model(f"{name}-v", f"mf-dst-{uniq}", out2, mlflow_client=dst_client)
    assert sorted(versions_of(dst_client, f"{name}-v")) == [1, 4]


def test_cli_and_bad_input(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    name = make_model(src_client, f"mc-{uniq}", f"mc-exp-{uniq}")
    out = str(tmp_path / "out")
    runner = CliRunner()
    src_env, dst_env = {"MLFLOW_TRACKING_URI": src_server.uri}, {"MLFLOW_TRACKING_URI": dst_server.uri}
    res = runner.invoke(em.main, ["--model", name, "--output-dir", out, "--export-deleted-runs", "True"], env=src_env)
    assert res.exit_code == 0, res.output
    res = runner.invoke(em.main, ["--model", name, "--output-dir", out, "--stages", "Production", "--versions", "1"],
                        env=src_env)
    assert res.exit_code == 2 and "--stages and --versions" in res.output  # a usage error (issue 14)
    res = runner.invoke(em.main, ["--model", f"nope-{uniq}", "--output-dir", str(tmp_path / "n")], env=src_env)
    assert res.exit_code == 1 and f"Registered model 'nope-{uniq}' not found" in res.output
    res = runner.invoke(em.main, ["--model", name, "--output-dir", str(tmp_path / "n"), "--versions", "3"],
                        env=src_env)
    assert res.exit_code == 1 and "Version(s) 3 of registered model" in res.output

    dst_client.create_registered_model(name, description="someone else's")
    res = runner.invoke(im.main, ["--model", name, "--experiment-name", f"mc-dst-{uniq}", "--input-dir", out],
                        env=dst_env)
    assert res.exit_code == 1 and "already exists" in res.output and "--delete-model" in res.output
    assert versions_of(dst_client, name) == {}
    res = runner.invoke(im.main, ["--model", name, "--experiment-name", f"mc-dst-{uniq}", "--input-dir", out,
                                  "--delete-model", "True"], env=dst_env)
    assert res.exit_code == 0, res.output
    assert_same_model(src_client, name, dst_client, name)


def test_a_version_with_missing_files_fails_alone(src_client, dst_client, uniq, tmp_path):
    """One bad version never stops the model's others: version 1 is imported, version 2 is reported failed
    and leaves nothing half-made (the model is not deleted, as it used to be)."""
    exp_id = src_client.create_experiment(f"mx-exp-{uniq}")
    run_id = make_run(src_client, exp_id, "r1")
    name = f"mx-{uniq}"
    src_client.create_registered_model(name)
    src_client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    src_client.create_model_version(name, f"runs:/{run_id}/no-such-dir", run_id)
    out = str(tmp_path / "out")
    em.export_model(name, out, mlflow_client=src_client)
    report = Report()
    im.import_model(name, f"mx-dst-{uniq}", out, mlflow_client=dst_client, report=report)
    failures = [f for f in report.failures if f["type"] == "model_versions"]
    assert [f["id"] for f in failures] == [f"{name}/2"]
    assert "no-such-dir" in failures[0]["reason"]
    versions = dst_client.search_model_versions(f"name='{name}'")
    assert [v.version for v in versions] == ["1"]


def _purge_run(server, run_id):
    """What `mlflow gc` does to a run's database rows, leaving its artifacts: the run no longer exists at all."""
    import sqlite3
    db = sqlite3.connect(os.path.join(server.dir, "mlflow.db"))
    with db:
        for table in ("latest_metrics", "metrics", "params", "tags"):
            db.execute(f"DELETE FROM {table} WHERE run_uuid = ?", (run_id,))
        db.execute("DELETE FROM runs WHERE run_uuid = ?", (run_id,))
    db.close()


def test_version_of_a_run_gone_for_good(src_server, src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"mg-exp-{uniq}")
    kept, gone = make_run(src_client, exp_id, "kept"), make_run(src_client, exp_id, "gone")
    name = f"mg-{uniq}"
    src_client.create_registered_model(name)
    src_client.create_model_version(name, f"runs:/{kept}/model", kept, description="kept")
    gone_uri = src_client.get_run(gone).info.artifact_uri
    src_client.create_model_version(name, f"{gone_uri}/model", gone, tags={"t": "1"}, description="orphan")
    _purge_run(src_server, gone)
    out = str(tmp_path / "out")
    report = Report()
    assert em.export_model(name, out, mlflow_client=src_client, report=report) == (True, name)
    assert os.path.exists(os.path.join(out, "version_models", "2", "model", "MLmodel"))
    im.import_model(name, f"mg-dst-{uniq}", out, mlflow_client=dst_client, report=report)
    assert not report.failures
    v2 = dst_client.get_model_version(name, "2")
    assert (v2.description, v2.tags["t"]) == ("orphan", "1")
    assert v2.source == f"runs:/{v2.run_id}/model"
    assert "MLmodel" in {os.path.basename(f.path) for f in dst_client.list_artifacts(v2.run_id, "model")}


def test_import_reference_export_model(dst_client, uniq):
    """The reference's export-model of a model with runs:/, mlflow-artifacts:/ and logged-model versions."""
    from tests.conftest import FIXTURES_DIR
    input_dir = os.path.join(FIXTURES_DIR, "reference-exports", "single", "model")
    name = f"ref-model-{uniq}"
    report = Report()
    im.import_model(name, f"ref-model-exp-{uniq}", input_dir, mlflow_client=dst_client, report=report)
    assert not report.failures, report.failures
    model = dst_client.get_registered_model(name)
    assert model.description == "Benchmark model 0" and model.aliases == {"challenger": "1", "champion": "3"}
    assert {k: v for k, v in model.tags.items() if not k.startswith("mlflow_exim.")} == \
        {"owner": "team_0", "bench.index": "0"}
    vs = versions_of(dst_client, name)
    assert [(n, v.current_stage, v.tags["bench.source"]) for n, v in sorted(vs.items())] == \
        [(1, "Archived", "runs"), (2, "None", "artifact"), (3, "Production", "logged")]
    run_id = vs[1].run_id
    assert vs[1].source == f"runs:/{run_id}/model_bench_model_000_v1"
    assert vs[2].source == f"{dst_client.get_run(run_id).info.artifact_uri}/model_bench_model_000_v2"
    logged = dst_client.get_logged_model(vs[3].source[len("models:/"):])
    assert logged.tags[SRC_MODEL_ID_TAG] == "m-5846404360684b72b594c94a13093924"
