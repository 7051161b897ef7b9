"""Databricks notebooks and permissions on the workspace fakes (tests/fakes): a run's notebook revision exported in
the four formats and imported with the run's tags pointed at the new notebook; experiment and model permissions
from one workspace to another, and to Unity Catalog by the documented table; principals renamed by a map, unknown
ones skipped, nothing granted beyond what the source granted."""
import base64
import io
import json
import os
import uuid
import zipfile

import pytest
from click.testing import CliRunner
from mlflow import MlflowClient

from mlflow_export_import.cli import cli
from mlflow_export_import.common import uc_permissions_utils, ws_permissions_utils
from tests.fakes.databricks_workspace import MAX_EXPORT_BYTES
from tests.platforms import USER, acting_as, experiment_path, make_run_with_model

HEADER = b"# Databricks notebook source\n"
NB_V1 = HEADER + b"import mlflow\n\n# COMMAND ----------\n\nprint('v1')\n"
NB_V2 = HEADER + b"import mlflow\n\n# COMMAND ----------\n\nprint('v2')\n"
ALICE_SRC, ALICE_DST, GHOST = "alice@src.example.com", "alice@dst.example.com", "ghost@src.example.com"


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def _workspace(profile):
    from databricks.sdk import WorkspaceClient
    return WorkspaceClient(profile=profile)


def _save_notebook(w, path, content):
    from databricks.sdk.service.workspace import ImportFormat, Language
    w.workspace.mkdirs(os.path.dirname(path))
    w.workspace.import_(path, content=base64.b64encode(content).decode(), format=ImportFormat.SOURCE,
                        language=Language.PYTHON, overwrite=True)


def _notebook_run(client, experiment_id, name, path, revision, object_id="123"):
    """A run as a workspace notebook logs it: tags naming the notebook and its revision."""
    tags = {"mlflow.source.name": path, "mlflow.source.type": "NOTEBOOK", "mlflow.databricks.notebookPath": path,
            "mlflow.databricks.notebookID": object_id, "mlflow.databricks.notebookRevisionID": revision}
    run = client.create_run(experiment_id, tags=tags, run_name=name)
    client.log_param(run.info.run_id, "alpha", "1")
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def _imported(client, experiment_name):
    exp = client.get_experiment_by_name(experiment_name)
    return {r.data.tags["mlflow_exim.import.src_run_id"]: r for r in client.search_runs([exp.experiment_id])}


def _skips(report_file, kind):
    with open(report_file) as f:
        return [s for s in json.load(f)["skipped"] if s["type"] == kind]


def test_notebook_exported_in_four_formats_and_imported_with_tags_repointed(dbx, uniq, tmp_path, monkeypatch):
    w = _workspace("src-ws")
    folder = f"/Users/{USER}/nb-{uniq}"
    _save_notebook(w, f"{folder}/train", NB_V1)
    _save_notebook(w, f"{folder}/train", NB_V2)  # the run was made by the first revision, not this one
    rev1 = dbx.src.notebook_revisions(f"{folder}/train")[0]
    _save_notebook(w, f"{folder}/big", HEADER + b"x = 1\n" * 600)
    src = MlflowClient("databricks://src-ws")
    exp_name = experiment_path(f"nb-exp-{uniq}")
    exp_id = src.create_experiment(exp_name)
    made = _notebook_run(src, exp_id, "made", f"{folder}/train", rev1, str(w.workspace.get_status(f"{folder}/train")
                                                                          .object_id))
    gone = _notebook_run(src, exp_id, "gone", f"{folder}/deleted_since", "1700000000000")
    large = _notebook_run(src, exp_id, "large", f"{folder}/big", dbx.src.notebook_revisions(f"{folder}/big")[0])
    out, export_report = tmp_path / "exp", tmp_path / "export.json"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks://src-ws")
    dbx.src.max_export_bytes = 3000
    try:
        result = run_cli("export-experiment", "--experiment", exp_name, "--output-dir", out,
                         "--notebook-formats", "source,HTML,JUPYTER,DBC", "--report", export_report)
    finally:
        dbx.src.max_export_bytes = MAX_EXPORT_BYTES

    assert result.exit_code == 0, result.output
    notebooks = out / "runs" / made / "artifacts" / "notebooks"
    assert json.loads((notebooks / "manifest.json").read_text()) == {
        "mlflow.databricks.notebookPath": f"{folder}/train", "mlflow.databricks.notebookRevisionID": rev1,
        "formats": ["SOURCE", "HTML", "JUPYTER", "DBC"]}
    assert (notebooks / "train.source").read_bytes() == NB_V1
    jupyter = json.loads((notebooks / "train.jupyter").read_text())
    assert jupyter["nbformat"] == 4 and ["print('v1')"] in [c["source"] for c in jupyter["cells"]]
    assert b"<html>" in (notebooks / "train.html").read_bytes()
    assert zipfile.ZipFile(io.BytesIO((notebooks / "train.dbc").read_bytes())).namelist() == ["train.python"]
    reasons = {s["id"]: s["reason"] for s in _skips(export_report, "notebooks")}
    assert "no longer exists" in reasons[f"run {gone}"] and f"{folder}/deleted_since" in reasons[f"run {gone}"]
    assert "too large" in reasons[f"run {large}"]
    assert sorted(os.listdir(out / "runs")) == sorted([made, gone, large])  # every run exported all the same
    assert not (out / "runs" / gone / "artifacts" / "notebooks").exists()

    downloaded = tmp_path / "dl"
    result = run_cli("download-notebook", "--output-dir", downloaded, "--notebook", f"{folder}/train",
                     "--revision", rev1, "--notebook-formats", "SOURCE,DBC")
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(downloaded)) == ["train.dbc", "train.source"]
    assert (downloaded / "train.source").read_bytes() == NB_V1

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks://dst-ws")
    dst_dir, import_report = f"/Users/{USER}/imported-{uniq}", tmp_path / "import.json"
    result = run_cli("import-experiment", "--experiment-name", exp_name, "--input-dir", out,
                     "--dst-notebook-dir", dst_dir, "--report", import_report)

    assert result.exit_code == 0, result.output
    runs = _imported(MlflowClient("databricks://dst-ws"), exp_name)
    assert set(runs) == {made, gone, large}
    new_path = f"{dst_dir}/train_{rev1}"
    info = _workspace("dst-ws").workspace.get_status(new_path)
    tags = runs[made].data.tags
    assert (tags["mlflow.source.name"], tags["mlflow.databricks.notebookPath"]) == (new_path, new_path)
    assert tags["mlflow.databricks.notebookID"] == str(info.object_id)
    assert "mlflow.databricks.notebookRevisionID" not in tags
    assert tags["mlflow_exim.import.src_notebook_path"] == f"{folder}/train"
    exported = _workspace("dst-ws").workspace.export(new_path).content
    assert base64.b64decode(exported) == NB_V1
    assert runs[gone].data.tags["mlflow.databricks.notebookPath"] == f"{folder}/deleted_since"  # nothing to import
    assert dbx.foreign_tokens() == []


@pytest.fixture(scope="module")
def acl_source(databricks, tmp_path_factory):
    """In src-ws: an experiment and a workspace-registry model (one version) whose owner shares them with a user,
    two groups and a user the destination does not know; the export of both (export-models)."""
    u = uuid.uuid4().hex[:8]
    base = tmp_path_factory.mktemp("acl")
    with acting_as("src-ws") as ws:
        exp_id = ws.create_experiment(experiment_path(f"acl-{u}"))
        run_id = make_run_with_model(ws, exp_id, str(base), "acl-run")
        name = f"acl_model_{u}"
        ws.create_registered_model(name)
        ws.create_model_version(name, f"{ws.get_run(run_id).info.artifact_uri}/model", run_id)
    for kind, principal in (("user_name", ALICE_SRC), ("user_name", GHOST), ("group_name", "data-scientists"),
                            ("group_name", "ml-readers")):
        databricks.src.add_principal(kind, principal)
    w = _workspace("src-ws")
    _grant(w, "experiments", exp_id, [("user_name", ALICE_SRC, "CAN_EDIT"),
                                      ("group_name", "data-scientists", "CAN_READ"), ("user_name", GHOST, "CAN_READ")])
    model_id = w.model_registry.get_model(name).registered_model_databricks.id
    _grant(w, "registered-models", model_id, [("user_name", ALICE_SRC, "CAN_MANAGE_PRODUCTION_VERSIONS"),
                                              ("group_name", "ml-readers", "CAN_READ"),
                                              ("user_name", GHOST, "CAN_EDIT")])
    out = base / "export"
    os.environ["MLFLOW_TRACKING_URI"] = "databricks://src-ws"
    try:
        result = run_cli("export-models", "--models", name, "--output-dir", out, "--export-permissions",
                         "--export-all-runs")
    finally:
        os.environ.pop("MLFLOW_TRACKING_URI")
    assert result.exit_code == 0, result.output
    principal_map = base / "principals.csv"
    principal_map.write_text(f"# source,destination\n{ALICE_SRC},{ALICE_DST}\n")
    return {"experiment": experiment_path(f"acl-{u}"), "experiment_id": exp_id, "model": name, "out": out,
            "principal_map": principal_map, "u": u}


def _grant(w, object_type, object_id, entries):
    from databricks.sdk.service import iam
    w.permissions.update(object_type, object_id, access_control_list=[
        iam.AccessControlRequest(**{kind: name}, permission_level=iam.PermissionLevel(level))
        for kind, name, level in entries])


def _direct(w, object_type, object_id):
    """{principal: level granted on the object itself} and the principals that hold only inherited levels."""
    direct, inherited = {}, set()
    for e in w.permissions.get(object_type, object_id).access_control_list:
        name = e.user_name or e.group_name or e.service_principal_name
        levels = [p.permission_level.value for p in e.all_permissions if not p.inherited]
        if levels:
            direct[name] = levels
        else:
            inherited.add(name)
    return direct, inherited


def test_permissions_workspace_to_workspace_with_principal_map(dbx, acl_source, tmp_path, monkeypatch):
    exported = json.loads((acl_source["out"] / "experiments" / acl_source["experiment_id"] / "experiment.json")
                          .read_text())["mlflow"]["permissions"]
    assert {lvl["permission_level"] for lvl in exported["permission_levels"]} == {"CAN_READ", "CAN_EDIT",
                                                                                   "CAN_MANAGE"}
    assert exported["permissions"]["object_type"] == "mlflowExperiment"
    # the export holds the inherited admins entry as Databricks answers it; an import takes direct grants only
    assert "admins" in {e.get("group_name") for e in exported["permissions"]["access_control_list"]}
    assert {e.get("group_name") for e in ws_permissions_utils.map_acl(exported)} == {None, "data-scientists"}
    model_json = json.loads((acl_source["out"] / "models" / acl_source["model"] / "model.json").read_text())
    assert ALICE_SRC in {e.get("user_name") for e in
                         model_json["mlflow"]["registered_model"]["permissions"]["permissions"]["access_control_list"]}
    for kind, principal in (("user_name", ALICE_DST), ("group_name", "data-scientists"), ("group_name", "ml-readers")):
        dbx.dst.add_principal(kind, principal)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "databricks://dst-ws")
    report = tmp_path / "import.json"

    result = run_cli("import-models", "--input-dir", acl_source["out"], "--import-permissions",
                     "--principal-map", acl_source["principal_map"], "--report", report)

    assert result.exit_code == 0, result.output
    w = _workspace("dst-ws")
    experiment_id = MlflowClient("databricks://dst-ws").get_experiment_by_name(acl_source["experiment"]).experiment_id
    direct, inherited = _direct(w, "experiments", experiment_id)
    assert direct == {USER: ["CAN_MANAGE"], ALICE_DST: ["CAN_EDIT"], "data-scientists": ["CAN_READ"]}
    assert inherited == {"admins"}  # the source's inherited admins entry is not made a direct grant
    model_id = w.model_registry.get_model(acl_source["model"]).registered_model_databricks.id
    direct, _ = _direct(w, "registered-models", model_id)
    assert direct == {USER: ["CAN_MANAGE"], ALICE_DST: ["CAN_MANAGE_PRODUCTION_VERSIONS"], "ml-readers": ["CAN_READ"]}
    unknown = [s for s in _skips(report, "permissions") if GHOST in s["id"]]
    assert len(unknown) == 2 and all("does not exist in the destination" in s["reason"] for s in unknown)

    result = run_cli("import-models", "--input-dir", acl_source["out"], "--import-permissions",
                     "--principal-map", acl_source["principal_map"], "--report", report)
    assert result.exit_code == 0, result.output
    with open(report) as f:
        assert json.load(f)["counts"]["permissions"]["copied"] == 0  # a re-run grants nothing new


def test_permissions_to_unity_catalog_by_the_table_then_between_uc_models(dbx, acl_source, tmp_path):
    for principal in (USER, ALICE_DST, "ml-readers"):
        dbx.src_uc.add_principal(principal)
    dst_model = f"dev.models.acl_{acl_source['u']}"
    report = tmp_path / "copy.json"

    result = run_cli("copy-model-version", "--src-model", acl_source["model"], "--src-version", "1",
                     "--dst-model", dst_model, "--src-registry-uri", "databricks://src-ws",
                     "--dst-registry-uri", "databricks-uc://src-ws", "--copy-permissions",
                     "--principal-map", acl_source["principal_map"], "--report", report)

    assert result.exit_code == 0, result.output
    # CAN_MANAGE -> EXECUTE, APPLY_TAG, MANAGE; CAN_MANAGE_PRODUCTION_VERSIONS -> EXECUTE, APPLY_TAG; CAN_READ ->
    # EXECUTE: never ALL_PRIVILEGES, never MANAGE below CAN_MANAGE
    assert dbx.src_uc.grants(dst_model) == {USER: ["APPLY_TAG", "EXECUTE", "MANAGE"],
                                            ALICE_DST: ["APPLY_TAG", "EXECUTE"], "ml-readers": ["EXECUTE"]}
    with open(report) as f:
        summary = json.load(f)
    assert any(GHOST in s["id"] and "does not exist" in s["reason"] for s in summary["skipped"])
    assert any("CAN_MANAGE_PRODUCTION_VERSIONS becomes EXECUTE, APPLY_TAG" in n and "stage transitions" in n
               for n in summary["notes"])

    # Unity Catalog to Unity Catalog: the grants on the model itself, not what it inherits from its schema
    dbx.src_uc.grant_on_schema("dev", "models", "ml-readers", ["MANAGE"])
    uc_copy = f"main.default.acl_{acl_source['u']}"
    result = run_cli("copy-model-version", "--src-model", dst_model, "--src-version", "1", "--dst-model", uc_copy,
                     "--src-registry-uri", "databricks-uc://src-ws", "--dst-registry-uri", "databricks-uc://src-ws",
                     "--copy-permissions")
    assert result.exit_code == 0, result.output
    assert dbx.src_uc.grants(uc_copy) == dbx.src_uc.grants(dst_model)


def test_an_export_of_effective_permissions_only_grants_no_inherited_privilege():
    """An export that holds only the effective permissions: privileges inherited from the catalog or schema are
    left out of the changes an import sends."""
    exported = {"effective_permissions": {"privilege_assignments": [
        {"principal": "ml-readers", "privileges": [
            {"privilege": "EXECUTE"},
            {"privilege": "MANAGE", "inherited_from_type": "SCHEMA", "inherited_from_name": "dev.models"}]},
        {"principal": "schema-admins", "privileges": [
            {"privilege": "ALL_PRIVILEGES", "inherited_from_type": "CATALOG", "inherited_from_name": "dev"}]}]}}
    assert uc_permissions_utils._mk_update_changes(exported) == {"changes": [{"principal": "ml-readers",
                                                                              "add": ["EXECUTE"]}]}


def test_bad_notebook_formats_and_principal_maps_stop_before_any_work(tmp_path):
    bad_map = tmp_path / "principals.csv"
    bad_map.write_text("alice@src.example.com alice@dst.example.com\n")
    result = run_cli("export-run", "--run-id", "r", "--output-dir", tmp_path / "out", "--notebook-formats",
                     "SOURCE,PDF")
    assert result.exit_code == 2 and "Unknown notebook format(s) PDF" in result.output
    result = run_cli("import-experiment", "--experiment-name", "e", "--input-dir", tmp_path, "--import-permissions",
                     "--principal-map", bad_map)
    assert result.exit_code == 2 and "line 1: expected 'old,new'" in result.output
    result = run_cli("copy-model-version", "--src-model", "m", "--src-version", "1", "--dst-model", "n",
                     "--copy-permissions", "--principal-map", tmp_path / "missing.csv")
    assert result.exit_code == 2 and "Cannot read principal map file" in result.output
    assert not (tmp_path / "out").exists()
