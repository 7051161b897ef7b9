"""Databricks workspaces end to end on the local fakes (tests/fakes): the seed examples of copy-run and
copy-model-version, bulk export/import from and into a workspace, each request with its own workspace's token."""
import json
import os
import time

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mlflow_export_import.cli import cli
from tests import platforms
from tests.platforms import acting_as, experiment_path, make_run_with_model


def run_cli(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result


def _same_run_data(src, dst):
    assert dst.data.params == src.data.params
    assert dst.data.metrics == src.data.metrics
    user_tags = {k: v for k, v in src.data.tags.items() if not k.startswith(("mlflow.", "mlflow_exim"))}
    assert {k: dst.data.tags.get(k) for k in user_tags} == user_tags


def _read_artifact(profile, run_id, path, tmp_path):
    with acting_as(profile) as client:
        local = client.download_artifacts(run_id, path, str(tmp_path / f"dl-{profile}-{run_id}"))
    with open(local) as f:
        return f.read()


def _global_state():
    import mlflow
    return (os.environ.get("DATABRICKS_CONFIG_PROFILE"), os.environ.get("MLFLOW_TRACKING_URI"),
            mlflow.get_tracking_uri(), mlflow.get_registry_uri())


@pytest.fixture(scope="module")
def src_runs(databricks, tmp_path_factory):
    """A run with a model in the source workspace (profile src-ws), made through the real MLflow client."""
    base = str(tmp_path_factory.mktemp("dbx-src"))
    with acting_as("src-ws") as client:
        exp_id = client.create_experiment(experiment_path("Wine_Experiment"))
        run_id = make_run_with_model(client, exp_id, base, "wine-run")
    return {"experiment_id": exp_id, "run_id": run_id, "base": base}


def test_copy_run_oss_to_databricks_creates_the_workspace_folder(dbx, src_client, uniq, tmp_path, monkeypatch):
    """Seed: copy-run --src-mlflow-uri http://... --dst-mlflow-uri databricks (default credentials)."""
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "prod-env")
    exp_id = src_client.create_experiment(f"dbx-oss-{uniq}")
    run_id = make_run_with_model(src_client, exp_id, str(tmp_path), "oss-run")
    dbx.clear_requests()
    before = _global_state()
    dst_name = f"/Users/{platforms.USER}/experiments/{uniq}/My_Experiment"

    result = run_cli("copy-run", "--run-id", run_id, "--experiment-name", dst_name,
                     "--src-mlflow-uri", src_client.tracking_uri, "--dst-mlflow-uri", "databricks")

    assert result.exit_code == 0, result.output
    assert _global_state() == before
    dst = MlflowClient("databricks://dst-ws")
    exp = dst.get_experiment_by_name(dst_name)
    assert exp is not None and exp.artifact_location.startswith("dbfs:/")
    (dst_run,) = dst.search_runs([exp.experiment_id])
    _same_run_data(src_client.get_run(run_id), dst_run)
    assert _read_artifact("dst-ws", dst_run.info.run_id, "notes/readme.txt", tmp_path) == "notes of oss-run"
    assert dbx.foreign_tokens() == []
    assert any(r["path"].startswith("/api/2.0/fs/files/") and r["method"] == "PUT" for r in dbx.dst.requests)


def test_copy_run_workspace_to_workspace_uses_each_side_token(dbx, src_runs, uniq, tmp_path):
    """Seed: copy-run --src-mlflow-uri databricks://dev-env --dst-mlflow-uri databricks://prod-env, in one
    process: every request to each workspace carries that workspace's token, artifacts included."""
    dbx.clear_requests()
    before = _global_state()
    dst_name = f"/Users/{platforms.USER}/experiments/ws2ws-{uniq}/My_Experiment"

    result = run_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name", dst_name,
                     "--src-mlflow-uri", "databricks://dev-env", "--dst-mlflow-uri", "databricks://prod-env")

    assert result.exit_code == 0, result.output
    assert _global_state() == before
    assert dbx.foreign_tokens() == []
    src_run = MlflowClient("databricks://src-ws").get_run(src_runs["run_id"])
    dst = MlflowClient("databricks://dst-ws")
    (dst_run,) = dst.search_runs([dst.get_experiment_by_name(dst_name).experiment_id])
    _same_run_data(src_run, dst_run)
    assert _read_artifact("dst-ws", dst_run.info.run_id, "notes/readme.txt", tmp_path) == "notes of wine-run"
    assert _read_artifact("dst-ws", dst_run.info.run_id, "model/MLmodel", tmp_path)
    src_reads = [r for r in dbx.src.requests if r["path"].startswith("/api/2.0/fs/") and r["method"] == "GET"]
    dst_writes = [r for r in dbx.dst.requests if r["path"].startswith("/api/2.0/fs/files/") and r["method"] == "PUT"]
    assert src_reads and dst_writes


@pytest.fixture(scope="module")
def registries(databricks, src_runs, tmp_path_factory):
    """Source registries as a Databricks user has them: the workspace registry of src-ws (Sklearn_Wine with a
    version in each stage and one without a signature; dev.models.sklearn_wine), and its Unity Catalog
    (dev.models.sklearn_wine with alias champion)."""
    base = src_runs["base"]
    out = {"stages": {}}
    with acting_as("src-ws") as ws:
        exp_id = src_runs["experiment_id"]
        ws.create_registered_model("Sklearn_Wine", description="wine model", tags={"owner": "ml"})
        for stage in ("Production", "Staging", "Archived", "None", "Production"):
            run_id = make_run_with_model(ws, exp_id, base, f"wine-{stage}")
            vr = ws.create_model_version("Sklearn_Wine", f"{ws.get_run(run_id).info.artifact_uri}/model", run_id,
                                         description=f"in {stage}")
            if stage != "None":
                ws.transition_model_version_stage("Sklearn_Wine", vr.version, stage)
            out["stages"][vr.version] = stage
        run_id = make_run_with_model(ws, exp_id, base, "wine-nosig", with_signature=False)
        vr = ws.create_model_version("Sklearn_Wine", f"{ws.get_run(run_id).info.artifact_uri}/model", run_id)
        out["nosig_version"] = vr.version
        ws.create_registered_model("dev.models.sklearn_wine")
        ws.create_model_version("dev.models.sklearn_wine", f"{ws.get_run(src_runs['run_id']).info.artifact_uri}/model",
                                src_runs["run_id"])
    with acting_as("src-ws", "databricks-uc") as uc:
        uc.create_registered_model("dev.models.sklearn_wine")
        vr = uc.create_model_version("dev.models.sklearn_wine",
                                     f"{uc.get_run(src_runs['run_id']).info.artifact_uri}/model", src_runs["run_id"])
        uc.set_registered_model_alias("dev.models.sklearn_wine", "champion", vr.version)
    return out


def _uc_version(profile, name, version):
    return MlflowClient(f"databricks://{profile}", registry_uri=f"databricks-uc://{profile}").get_model_version(
        name, version)


def _uc_versions(profile, name):
    client = MlflowClient(f"databricks://{profile}", registry_uri=f"databricks-uc://{profile}")
    found = client.search_model_versions(f"name='{name}'")  # UC search answers lack tags and aliases: get each
    return sorted((client.get_model_version(name, v.version) for v in found), key=lambda v: int(v.version))


def _download_uc_model(profile, name, version, tmp_path):
    with acting_as(profile, "databricks-uc"):
        import mlflow
        local = mlflow.artifacts.download_artifacts(f"models:/{name}/{version}", dst_path=str(tmp_path / "uc-dl"))
    return sorted(os.listdir(local))


def test_seed_copy_model_version_workspace_to_workspace(dbx, registries, tmp_path):
    """Seed 1 (README_copy), written with the colon after the option names as the seed has it."""
    dbx.clear_requests()
    result = run_cli("copy-model-version", "--src-model", "dev.models.sklearn_wine", "--src-version", "1",
                     "--dst-model", "prod.models.sklearn_wine",
                     "--dst-experiment-name", "/Users/first.last@mycompany.com/experiments/My_Experiment",
                     "--src-registry-uri:", "databricks://test-env", "--dst-registry-uri:", "databricks://prod-env")
    assert result.exit_code == 0, result.output
    dst = MlflowClient("databricks://dst-ws", registry_uri="databricks://dst-ws")
    (vr,) = dst.search_model_versions("name='prod.models.sklearn_wine'")
    assert vr.status == "READY"
    run = dst.get_run(vr.run_id)
    assert dst.get_experiment(run.info.experiment_id).name == \
        "/Users/first.last@mycompany.com/experiments/My_Experiment"
    assert _read_artifact("dst-ws", vr.run_id, "model/MLmodel", tmp_path)
    assert dbx.foreign_tokens() == []


def test_seed_copy_model_version_uc_to_uc(dbx, registries, tmp_path):
    """Seed 2: Unity Catalog of one workspace to that of another; UC stores its own copy of the files (moto)."""
    dbx.clear_requests()
    result = run_cli("copy-model-version", "--src-model", "dev.models.sklearn_wine", "--src-version", "1",
                     "--dst-model", "prod.models.sklearn_wine",
                     "--dst-experiment-name", "/Users/first.last@mycompany.com/experiments/My_Experiment",
                     "--src-registry-uri", "databricks-uc://test-env", "--dst-registry-uri", "databricks-uc://prod-env",
                     "--copy-stages-and-aliases", "--copy-lineage-tags")
    assert result.exit_code == 0, result.output
    (vr,) = [v for v in _uc_versions("dst-ws", "prod.models.sklearn_wine")
             if v.tags.get("mlflow_exim_src_version_name") == "dev.models.sklearn_wine"]
    assert vr.status == "READY" and vr.aliases == ["champion"]
    assert vr.tags["mlflow_exim_src_client_tracking_uri"] == "databricks://test-env"
    assert "MLmodel" in _download_uc_model("dst-ws", "prod.models.sklearn_wine", vr.version, tmp_path)
    prefix = dbx.dst_uc.storage_location("prod.models.sklearn_wine", vr.version)[len("s3://uc-dst/"):]
    assert any(k.endswith("/MLmodel") for k in dbx.moto.keys("uc-dst", prefix))
    assert dbx.foreign_tokens() == []


def test_seed_copy_model_version_workspace_to_uc_with_lineage(dbx, registries, tmp_path):
    """Seed 3: workspace registry -> Unity Catalog, deep copy with --copy-lineage-tags."""
    dbx.clear_requests()
    result = run_cli("copy-model-version", "--src-model", "Sklearn_Wine", "--src-version", "1",
                     "--dst-model", "prod.models.sklearn_wine",
                     "--dst-experiment-name", "/Users/first.last@mycompany.com/experiments/My_Experiment",
                     "--src-registry-uri", "databricks://test-env", "--dst-registry-uri", "databricks-uc://prod-env",
                     "--copy-lineage-tags", "--copy-stages-and-aliases")
    assert result.exit_code == 0, result.output
    (vr,) = [v for v in _uc_versions("dst-ws", "prod.models.sklearn_wine")
             if v.tags.get("mlflow_exim_src_version_name") == "Sklearn_Wine"]
    assert vr.status == "READY"
    assert vr.tags["mlflow_exim_src_version_version"] == "1"
    assert vr.tags["mlflow_exim.src_stage"] == "Production" and "production" in vr.aliases
    dst_run = MlflowClient("databricks://dst-ws").get_run(vr.run_id)
    assert dst_run.data.params == {"alpha": "0.5"}
    assert "MLmodel" in _download_uc_model("dst-ws", "prod.models.sklearn_wine", vr.version, tmp_path)
    assert dbx.foreign_tokens() == []


def test_seed_copy_model_version_local_server_to_uc(dbx, src_server, src_client, uniq, tmp_path):
    """Seed 4: an open-source server's model -> Unity Catalog of a workspace (deep copy)."""
    exp_id = src_client.create_experiment(f"uc4-{uniq}")
    run_id = make_run_with_model(src_client, exp_id, str(tmp_path), "local-run")
    name = f"Sklearn_Wine_{uniq}"
    src_client.create_registered_model(name)
    src_client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    dbx.clear_requests()
    result = run_cli("copy-model-version", "--src-model", name, "--src-version", "1",
                     "--dst-model", "dev.models.sklearn_wine",
                     "--dst-experiment-name", "/Users/first.last@mycompany.com/experiments/My_Experiment",
                     "--src-registry-uri:", src_server.uri, "--dst-registry-uri:", "databricks-uc://test-env")
    assert result.exit_code == 0, result.output
    versions = _uc_versions("src-ws", "dev.models.sklearn_wine")
    new = [v for v in versions if v.run_id != registries_run_id(versions)]
    assert new and new[-1].status == "READY"
    assert "MLmodel" in _download_uc_model("src-ws", "dev.models.sklearn_wine", new[-1].version, tmp_path)
    assert dbx.foreign_tokens() == []


def registries_run_id(versions):
    return versions[0].run_id


def test_shallow_copy_workspace_to_uc_keeps_the_source_run(dbx, registries):
    """Without --dst-experiment-name the UC version points at the source run of the same workspace."""
    src = MlflowClient("databricks://src-ws", registry_uri="databricks://src-ws")
    src_vr = src.get_model_version("Sklearn_Wine", "2")
    result = run_cli("copy-model-version", "--src-model", "Sklearn_Wine", "--src-version", "2",
                     "--dst-model", "main.default.sklearn_wine_shallow",
                     "--src-registry-uri", "databricks://src-ws", "--dst-registry-uri", "databricks-uc://src-ws")
    assert result.exit_code == 0, result.output
    (vr,) = _uc_versions("src-ws", "main.default.sklearn_wine_shallow")
    assert vr.run_id == src_vr.run_id and vr.status == "READY"
    assert dbx.foreign_tokens() == []


def _fill_bulk_source(profile, base):
    """A small workspace as a Databricks user makes it: experiments in two folders, nested and deleted runs,
    a logged model and a trace, a workspace-registry model with versions in several stages."""
    import mlflow
    with acting_as(profile) as ws:
        exp_a = ws.create_experiment(experiment_path("bulk_a"), tags={"purpose": "bulk"})
        parent = make_run_with_model(ws, exp_a, base, "parent")
        make_run_with_model(ws, exp_a, base, "child", parent_run_id=parent)
        gone = make_run_with_model(ws, exp_a, base, "deleted")
        ws.delete_run(gone)
        mlflow.set_experiment(experiment_id=exp_a)
        with mlflow.start_run(run_name="with-logged-model") as run:
            import pandas as pd
            from mlflow.models import infer_signature
            frame = pd.DataFrame({"x": [1.0]})
            info = mlflow.pyfunc.log_model(name="lm", python_model=platforms.Echo(), pip_requirements=[],
                                           signature=infer_signature(frame, frame))
            mlflow.log_metric("acc", 0.9)

        @mlflow.trace(name="predict")
        def predict(x):
            return x + 1
        predict(1)
        ws.create_registered_model("Bulk_Model", description="bulk", tags={"k": "v"})
        for stage, source, run_id in (("Production", f"{ws.get_run(parent).info.artifact_uri}/model", parent),
                                      ("Staging", info.model_uri, run.info.run_id), ("None", None, None)):
            if source is None:
                source, run_id = f"{ws.get_run(parent).info.artifact_uri}/model", parent
            kwargs = {"model_id": info.model_id} if source == info.model_uri else {}
            vr = ws.create_model_version("Bulk_Model", source, run_id, **kwargs)
            if stage != "None":
                ws.transition_model_version_stage("Bulk_Model", vr.version, stage)


def test_export_all_import_all_workspace_to_workspace_census_equal(dbx, count_tool, tmp_path):
    """export-all from a workspace, import-all into another: census diff empty, each side's token only."""
    src_ws, dst_ws = dbx.bulk_pair()
    src_ws.mkdirs(f"/Users/{platforms.USER}/team")
    _fill_bulk_source("bulk-src", str(tmp_path))
    dbx.clear_requests()
    out = str(tmp_path / "out")
    runner = CliRunner()
    result = runner.invoke(cli, ["export-all", "--output-dir", out, "--export-deleted-runs"],
                           env={"MLFLOW_TRACKING_URI": "databricks://bulk-src"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["import-all", "--input-dir", out],
                           env={"MLFLOW_TRACKING_URI": "databricks://bulk-dst"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert dbx.foreign_tokens() == []
    problems = platforms.census_problems(count_tool, platforms.census(count_tool, "bulk-src"),
                                         platforms.census(count_tool, "bulk-dst"))
    assert problems == {}
    again = runner.invoke(cli, ["import-all", "--input-dir", out], env={"MLFLOW_TRACKING_URI": "databricks://bulk-dst"},
                          catch_exceptions=False)
    assert again.exit_code == 0 and " 0 copied" in again.output or "copied" not in again.output.split("runs")[-1]


def test_export_experiments_and_models_into_a_workspace(dbx, registries, tmp_path, uniq):
    """export-experiments / export-models from a workspace, import-experiments / import-models into another."""
    runner = CliRunner()
    exps_out, models_out = str(tmp_path / "exps"), str(tmp_path / "models")
    src_env = {"MLFLOW_TRACKING_URI": "databricks://src-ws"}
    dst_env = {"MLFLOW_TRACKING_URI": "databricks://dst-ws"}
    result = runner.invoke(cli, ["export-experiments", "--experiments", experiment_path("Wine_Experiment"),
                                 "--output-dir", exps_out], env=src_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    renames = tmp_path / "renames.csv"
    renames.write_text(f"{experiment_path('Wine_Experiment')},{experiment_path(f'imported/{uniq}/Wine')}\n")
    result = runner.invoke(cli, ["import-experiments", "--input-dir", exps_out, "--experiment-rename-file",
                                 str(renames)], env=dst_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    src = MlflowClient("databricks://src-ws", registry_uri="databricks://src-ws")
    dst = MlflowClient("databricks://dst-ws", registry_uri="databricks://dst-ws")
    src_exp = src.get_experiment_by_name(experiment_path("Wine_Experiment"))
    dst_exp = dst.get_experiment_by_name(experiment_path(f"imported/{uniq}/Wine"))
    assert dst_exp is not None
    src_names = sorted(r.info.run_name for r in src.search_runs([src_exp.experiment_id]))
    assert sorted(r.info.run_name for r in dst.search_runs([dst_exp.experiment_id])) == src_names

    result = runner.invoke(cli, ["export-models", "--models", "Sklearn_Wine", "--output-dir", models_out],
                           env=src_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    model_renames = tmp_path / "models.csv"
    model_renames.write_text(f"Sklearn_Wine,Sklearn_Wine_{uniq}\n")
    result = runner.invoke(cli, ["import-models", "--input-dir", models_out, "--model-rename-file",
                                 str(model_renames)], env=dst_env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    dst_versions = {v.version: v for v in dst.search_model_versions(f"name='Sklearn_Wine_{uniq}'")}
    src_versions = {v.version: v for v in src.search_model_versions("name='Sklearn_Wine'")}
    assert {k: v.current_stage for k, v in dst_versions.items()} == \
        {k: v.current_stage for k, v in src_versions.items()}
    assert dbx.foreign_tokens() == []


def test_workspace_registry_to_unity_catalog_migration(dbx, registries, tmp_path, uniq):
    """export-models from the workspace registry, import-models into Unity Catalog: names mapped by the rename
    file, stages become aliases by the documented rule (the highest version of a stage gets it) and stay as a
    tag, the version without a signature is refused with a how-to and the others are still copied; a re-run
    duplicates nothing."""
    runner = CliRunner()
    out = str(tmp_path / "models")
    result = runner.invoke(cli, ["export-models", "--models", "Sklearn_Wine", "--output-dir", out],
                           env={"MLFLOW_TRACKING_URI": "databricks://src-ws"}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    uc_env = {"MLFLOW_TRACKING_URI": "databricks://dst-ws", "MLFLOW_REGISTRY_URI": "databricks-uc://dst-ws"}
    target = f"main.default.wine_{uniq}"
    renames = tmp_path / "models.csv"
    renames.write_text(f"Sklearn_Wine,{target}\n")
    experiments_before = len(MlflowClient("databricks://dst-ws").search_experiments())

    refused = runner.invoke(cli, ["import-models", "--input-dir", out], env=uc_env, catch_exceptions=False)
    assert refused.exit_code == 2 and "Not a Unity Catalog model name: 'Sklearn_Wine'" in refused.output
    assert len(MlflowClient("databricks://dst-ws").search_experiments()) == experiments_before  # nothing written

    result = runner.invoke(cli, ["import-models", "--input-dir", out, "--model-rename-file", str(renames)],
                           env=uc_env, catch_exceptions=False)
    assert result.exit_code == 1, result.output  # the version without a signature
    nosig = registries["nosig_version"]
    assert f"Sklearn_Wine/{nosig}" in result.output and "set-model-signature" in result.output
    versions = {v.version: v for v in _uc_versions("dst-ws", target)}
    stages = registries["stages"]
    assert sorted(versions) == sorted(stages)  # every version but the refused one, same numbers
    assert all(v.status == "READY" for v in versions.values())
    for number, stage in stages.items():
        assert versions[number].tags.get("mlflow_exim.src_stage") == (stage if stage != "None" else None)
    productions = [n for n, s in stages.items() if s == "Production"]
    aliases = {a: n for n, v in versions.items() for a in v.aliases}
    assert aliases == {"production": max(productions, key=int),
                       "staging": next(n for n, s in stages.items() if s == "Staging")}
    assert "MLmodel" in _download_uc_model("dst-ws", target, aliases["production"], tmp_path)
    copied_run = MlflowClient("databricks://dst-ws").get_run(versions[aliases["production"]].run_id)
    assert copied_run.data.tags["mlflow_exim.import.src_run_id"] == \
        MlflowClient("databricks://src-ws", registry_uri="databricks://src-ws").get_model_version(
            "Sklearn_Wine", aliases["production"]).run_id

    again = runner.invoke(cli, ["import-models", "--input-dir", out, "--model-rename-file", str(renames)],
                          env=uc_env, catch_exceptions=False)
    assert sorted(v.version for v in _uc_versions("dst-ws", target)) == sorted(stages)
    assert "model_versions:        0 copied" in again.output
    assert dbx.foreign_tokens() == []


def test_stage_alias_rule_can_be_overridden(dbx, registries, tmp_path, uniq, monkeypatch):
    monkeypatch.setenv("MLFLOW_EXPORT_IMPORT_STAGE_ALIASES", "Production=champion,Staging=challenger")
    result = run_cli("copy-model-version", "--src-model", "Sklearn_Wine", "--src-version", "2",
                     "--dst-model", f"main.default.rule_{uniq}", "--dst-experiment-name", experiment_path("rule"),
                     "--src-registry-uri", "databricks://src-ws", "--dst-registry-uri", "databricks-uc://dst-ws",
                     "--copy-stages-and-aliases")
    assert result.exit_code == 0, result.output
    (vr,) = _uc_versions("dst-ws", f"main.default.rule_{uniq}")
    assert vr.aliases == ["challenger"] and vr.tags["mlflow_exim.src_stage"] == "Staging"


def test_unity_catalog_to_workspace_keeps_aliases_as_a_tag(dbx, registries, uniq):
    result = run_cli("copy-model-version", "--src-model", "dev.models.sklearn_wine", "--src-version", "1",
                     "--dst-model", f"Wine_From_UC_{uniq}", "--dst-experiment-name", experiment_path("from_uc"),
                     "--src-registry-uri", "databricks-uc://src-ws", "--dst-registry-uri", "databricks://dst-ws",
                     "--copy-stages-and-aliases")
    assert result.exit_code == 0, result.output
    (vr,) = MlflowClient("databricks://dst-ws", registry_uri="databricks://dst-ws").search_model_versions(
        f"name='Wine_From_UC_{uniq}'")
    assert vr.tags["mlflow_exim.src_aliases"] == "champion"


# ---------------------------------------------------------------- bad cases: one clear line, non-zero exit, < 30 s
def _timed_cli(*args, env=None):
    start = time.time()
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    return result, time.time() - start


def _error_lines(output):
    return [line for line in output.splitlines() if line.startswith("Error:")]


def test_dry_run_skips_the_empty_default_experiment_as_the_import_does(dbx, fresh_pair, tmp_path):
    """An open-source server's Default experiment, empty, has nothing to go into a workspace (which has no Default):
    import-experiment --dry-run plans to skip it, as the import then does, and neither creates it."""
    runner = CliRunner()
    out = str(tmp_path / "default")
    res = runner.invoke(cli, ["export-experiment", "--experiment", "Default", "--output-dir", out],
                        env={"MLFLOW_TRACKING_URI": fresh_pair[0].uri}, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    reports = {}
    for name, extra in (("plan", ["--dry-run"]), ("real", [])):
        report_file = str(tmp_path / f"{name}.json")
        res = runner.invoke(cli, ["import-experiment", "--input-dir", out, "--experiment-name", "Default",
                                  "--report", report_file, *extra],
                            env={"MLFLOW_TRACKING_URI": "databricks://dst-ws"}, catch_exceptions=False)
        assert res.exit_code == 0, res.output
        with open(report_file) as f:
            reports[name] = json.load(f)
    assert reports["plan"]["planned"] == []
    assert [(s["type"], s["id"]) for s in reports["plan"]["skipped"]] == [("experiments", "Default")]
    assert reports["real"]["skipped"] == reports["plan"]["skipped"]
    assert reports["real"]["counts"] == reports["plan"]["counts"]
    assert MlflowClient("databricks://dst-ws").get_experiment_by_name("Default") is None


def test_missing_profile_names_the_config_file_and_the_profile(dbx, src_client):
    result, took = _timed_cli("copy-run", "--run-id", "0" * 32, "--experiment-name", "/Users/x/y",
                              "--src-mlflow-uri", src_client.tracking_uri,
                              "--dst-mlflow-uri", "databricks://nosuchprofile")
    assert result.exit_code != 0 and took < 30
    (line,) = _error_lines(result.output)
    assert "profile 'nosuchprofile'" in line and dbx.config_file in line and "src-ws" in line
    assert "Traceback" not in result.output


def test_wrong_token_is_one_clear_line(dbx, tmp_path, monkeypatch):
    cfg = tmp_path / "cfg"
    cfg.write_text(f"[stale]\nhost = {dbx.dst.host}\ntoken = dapi-expired\nretry_timeout_seconds = 5\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    result, took = _timed_cli("export-experiments", "--experiments", "all", "--output-dir", tmp_path / "o",
                              env={"MLFLOW_TRACKING_URI": "databricks://stale"})
    assert result.exit_code != 0 and took < 30
    (line,) = _error_lines(result.output)
    assert "refused the credentials" in line and "profile 'stale'" in line and "Invalid access token" in line


def test_unreachable_workspace_gives_up_within_30_seconds(dbx, tmp_path, monkeypatch):
    from tests.servers import free_port
    cfg = tmp_path / "cfg"
    cfg.write_text(f"[gone]\nhost = http://127.0.0.1:{free_port()}\ntoken = dapi-x\n")
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(cfg))
    result, took = _timed_cli("export-all", "--output-dir", tmp_path / "o",
                              env={"MLFLOW_TRACKING_URI": "databricks://gone"})
    assert result.exit_code != 0 and took < 30, (took, result.output)
    (line,) = _error_lines(result.output)
    assert "Cannot reach the Databricks workspace" in line and "connection refused" in line


def test_permission_denied_and_quota_name_the_object(dbx, src_runs, uniq):
    dbx.dst.fail_next("/api/2.0/mlflow/experiments/create", 403, "PERMISSION_DENIED",
                      "User does not have permission to create experiments in /Users/someone-else")
    result, _ = _timed_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name",
                           experiment_path(f"denied-{uniq}"), "--src-mlflow-uri", "databricks://src-ws",
                           "--dst-mlflow-uri", "databricks://dst-ws")
    assert result.exit_code == 1
    (line,) = _error_lines(result.output)
    assert "PERMISSION_DENIED" in line and f"denied-{uniq}" in line
    dbx.dst.fail_next("/api/2.0/mlflow/runs/create", 429, "REQUEST_LIMIT_EXCEEDED",
                      "Workspace quota exceeded", times=2)  # a passing limit is waited out
    result, _ = _timed_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name",
                           experiment_path(f"quota-ok-{uniq}"), "--src-mlflow-uri", "databricks://src-ws",
                           "--dst-mlflow-uri", "databricks://dst-ws")
    assert result.exit_code == 0, result.output
    dbx.dst.fail_next("/api/2.0/mlflow/runs/create", 400, "BAD_REQUEST",  # the shape Databricks gives quotas
                      "Unable to create run: exceeded maximum allowed number of runs per experiment: 1. To raise "
                      "this quota please contact the Databricks support team.", times=1)
    result, took = _timed_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name",
                              experiment_path(f"quota-{uniq}"), "--src-mlflow-uri", "databricks://src-ws",
                              "--dst-mlflow-uri", "databricks://dst-ws")
    assert result.exit_code == 1 and took < 30, (took, result.output)
    (line,) = _error_lines(result.output)
    assert "BAD_REQUEST" in line and "quota" in line and src_runs["run_id"] in line


def test_relative_experiment_name_into_a_workspace_says_how_to_fix_it(dbx, src_runs):
    result, _ = _timed_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name", "My_Experiment",
                           "--src-mlflow-uri", "databricks://src-ws", "--dst-mlflow-uri", "databricks://dst-ws")
    assert result.exit_code == 1
    (line,) = _error_lines(result.output)
    assert "'My_Experiment' is not a workspace path" in line and "/Users/" in line


def test_unity_catalog_name_rules_checked_before_any_write(dbx, registries, uniq):
    before = len(MlflowClient("databricks://dst-ws").search_experiments())
    result, _ = _timed_cli("copy-model-version", "--src-model", "Sklearn_Wine", "--src-version", "1",
                           "--dst-model", "default.two_levels", "--dst-experiment-name", experiment_path(f"n-{uniq}"),
                           "--src-registry-uri", "databricks://src-ws", "--dst-registry-uri", "databricks-uc://dst-ws")
    assert result.exit_code == 2
    (line,) = _error_lines(result.output)
    assert "three parts: catalog.schema.model" in line
    assert len(MlflowClient("databricks://dst-ws").search_experiments()) == before


def test_env_credentials_beside_a_profile_are_warned_about(dbx, src_runs, uniq, monkeypatch, caplog):
    monkeypatch.setenv("DATABRICKS_HOST", dbx.src.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", dbx.src.token)
    result, _ = _timed_cli("copy-run", "--run-id", src_runs["run_id"], "--experiment-name",
                           experiment_path(f"envwarn-{uniq}"), "--src-mlflow-uri", "databricks://src-ws",
                           "--dst-mlflow-uri", "databricks://src-ws", "--dry-run")
    assert "DATABRICKS_HOST/DATABRICKS_TOKEN are set and override" in result.output


@pytest.fixture(scope="module")
def oss_unity_catalog(tmp_path_factory):
    """An open-source Unity Catalog server (`uc:http://...`) stand-in with file storage."""
    from tests.fakes.unity_catalog import FakeUnityCatalog
    storage = tmp_path_factory.mktemp("uc-oss-storage")
    uc = FakeUnityCatalog(f"file://{storage}", catalogs={"unity": ["default"]}, flavor="oss").serve()
    yield uc
    uc.stop()


def test_copy_model_version_to_open_source_unity_catalog(oss_unity_catalog, src_client, dst_server, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"ucoss-{uniq}")
    run_id = make_run_with_model(src_client, exp_id, str(tmp_path), "r")
    name = f"wine_{uniq}"
    src_client.create_registered_model(name)
    src_client.create_model_version(name, f"runs:/{run_id}/model", run_id)
    nosig_run = make_run_with_model(src_client, exp_id, str(tmp_path), "nosig", with_signature=False)
    src_client.create_model_version(name, f"runs:/{nosig_run}/model", nosig_run)
    registry = f"uc:{oss_unity_catalog.url}"
    common = ["--src-registry-uri", src_client.tracking_uri, "--dst-registry-uri", registry,
              "--dst-mlflow-uri", dst_server.uri, "--dst-experiment-name", f"ucoss-dst-{uniq}"]
    result = run_cli("copy-model-version", "--src-model", name, "--src-version", "1",
                     "--dst-model", f"unity.default.{name}", *common)
    assert result.exit_code == 0, result.output
    client = MlflowClient(dst_server.uri, registry_uri=registry)
    vr = client.get_model_version(f"unity.default.{name}", "1")
    assert vr.status == "READY" and client.get_run(vr.run_id).data.params == {"alpha": "0.5"}
    refused = run_cli("copy-model-version", "--src-model", name, "--src-version", "2",
                      "--dst-model", f"unity.default.{name}", *common)
    assert refused.exit_code == 1
    (line,) = [x for x in refused.output.splitlines() if x.startswith("Error:")]
    assert "no model signature" in line and "set-model-signature" in line


def test_python_api_with_a_notebooks_own_client(dbx, src_runs, tmp_path):
    """A notebook passes its own MlflowClient for a profile: its artifact reads still use that profile (MLflow's
    Databricks artifact repository alone would take the default credentials, and there are none here)."""
    from mlflow_export_import.run.export_run import export_run
    dbx.clear_requests()
    client = MlflowClient("databricks://src-ws", registry_uri="databricks://src-ws")
    out = tmp_path / "run"
    export_run(src_runs["run_id"], str(out), mlflow_client=client)
    assert (out / "artifacts" / "notes" / "readme.txt").read_text() == "notes of wine-run"
    assert dbx.foreign_tokens() == []


def test_copy_models_workspace_registry_to_unity_catalog_without_an_export(dbx, registries, src_runs, tmp_path,
                                                                          uniq):
    """The migration most users need as one direct copy: copy-models from a workspace registry into Unity
    Catalog. Names are checked before any write; the versions' runs are copied into the renamed experiment;
    stages become aliases by the documented rule; the version without a signature is refused, the others
    copied with their numbers; a re-run copies nothing; each workspace only ever sees its own token."""
    target = f"main.default.direct_{uniq}"
    models = tmp_path / "models.csv"
    models.write_text(f"Sklearn_Wine,{target}\n")
    src_exp = MlflowClient("databricks://src-ws").get_experiment(src_runs["experiment_id"]).name
    args = ["copy-models", "--models", "Sklearn_Wine", "--src-mlflow-uri", "databricks://dev-env",
            "--dst-mlflow-uri", "databricks://prod-env", "--dst-registry-uri", "databricks-uc://prod-env"]
    experiments_before = len(MlflowClient("databricks://dst-ws").search_experiments())
    refused = run_cli(*args)
    assert refused.exit_code == 2 and "Not a Unity Catalog model name: 'Sklearn_Wine'" in refused.output
    assert len(MlflowClient("databricks://dst-ws").search_experiments()) == experiments_before

    dbx.clear_requests()
    result = run_cli(*args, "--model-rename-file", str(models))
    assert result.exit_code == 1, result.output  # the version without a signature
    assert f"Sklearn_Wine/{registries['nosig_version']}" in result.output and "set-model-signature" in result.output
    versions = {v.version: v for v in _uc_versions("dst-ws", target)}
    stages = registries["stages"]
    assert sorted(versions) == sorted(stages)
    aliases = {a: n for n, v in versions.items() for a in v.aliases}
    assert aliases["production"] == max((n for n, s in stages.items() if s == "Production"), key=int)
    copied_run = MlflowClient("databricks://dst-ws").get_run(versions[aliases["production"]].run_id)
    assert copied_run.data.tags["mlflow_exim.import.src_run_id"]
    assert MlflowClient("databricks://dst-ws").get_experiment(copied_run.info.experiment_id).name == src_exp
    assert dbx.foreign_tokens() == []

    again = run_cli(*args, "--model-rename-file", str(models))
    assert "model_versions:        0 copied" in again.output and "runs:                  0 copied" in again.output
    assert sorted(v.version for v in _uc_versions("dst-ws", target)) == sorted(stages)

    # a sync compares what Unity Catalog holds: no stages, so none to move
    synced = run_cli("sync", "--src-uri", "databricks://dev-env", "--dst-uri", "databricks://prod-env",
                     "--dst-registry-uri", "databricks-uc://prod-env", "--experiments", src_exp,
                     "--models", "Sklearn_Wine", "--model-rename-file", str(models))
    assert "could not be brought up to date" not in synced.output and "to stage" not in synced.output, \
        synced.output
