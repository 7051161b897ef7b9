import json
import os
import shutil

from click.testing import CliRunner

from mlflow_export_import.bulk.export_evaluation_datasets import (
    export_evaluation_datasets, main as export_datasets_main)
from mlflow_export_import.bulk.import_evaluation_datasets import (
    import_evaluation_datasets, main as import_datasets_main)
from mlflow_export_import.common.id_map import EXPERIMENTS, IdMap
from mlflow_export_import.common.report import Report
from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import main as export_dataset_main
from mlflow_export_import.evaluation_dataset.import_evaluation_dataset import (
    import_evaluation_dataset, main as import_dataset_main)
from tests.conftest import FIXTURES_DIR
from tests.servers import FileStoreServer

REFERENCE_EXPORT_ALL = os.path.join(FIXTURES_DIR, "reference-exports", "export-all")


def store(client):
    return client._tracking_client.store


def make_dataset(client, name, experiment_ids, n=4):
    """Records with inputs, expectations, outputs, tags, and HUMAN / CODE / TRACE sources."""
    ds = store(client).create_dataset(name, tags={"purpose": "eval", "mlflow.user": "alice"},
                                      experiment_ids=experiment_ids)
    sources = [{"source_type": "HUMAN", "source_data": {"annotator": "bob"}},
               {"source_type": "CODE", "source_data": {}},
               {"source_type": "TRACE", "source_data": {"trace_id": "tr-123"}}]
    records = [{"inputs": {"question": f"{name} q{i}", "context": {"k": i}},
                "expectations": {"answer": f"a{i}"} if i % 3 != 1 else None,
                "outputs": {"text": f"o{i}"} if i % 2 else None,
                "tags": {"mlflow.user": "carol", "batch": str(i % 2)},
                "source": sources[i % 3]} for i in range(n)]
    store(client).upsert_dataset_records(ds.dataset_id, [{k: v for k, v in r.items() if v is not None}
                                                         for r in records])
    return ds.dataset_id


def dataset_view(client, name):
    ds = [d for d in client.search_datasets(filter_string=f"name = '{name}'") if d.name == name]
    assert len(ds) == 1
    ds = ds[0]
    records, _ = store(client)._load_dataset_records(ds.dataset_id, max_results=None)
    exps = sorted(client.get_experiment(x).name for x in store(client).get_dataset_experiment_ids(ds.dataset_id))
    recs = sorted(json.dumps({k: r.to_dict().get(k) for k in ("inputs", "expectations", "outputs", "tags", "source")},
                             sort_keys=True) for r in records)
    return {"tags": ds.tags, "schema": ds.schema, "experiments": exps, "records": recs}


def test_bulk_round_trip_maps_experiments_and_reimport_adds_nothing(fresh_pair, census_diff, tmp_path):
    src, dst = fresh_pair
    src_client, dst_client = src.client(), dst.client()
    exp_a, exp_b = src_client.create_experiment("team/a"), src_client.create_experiment("team/b")
    make_dataset(src_client, "qa_set", [exp_a, exp_b])
    make_dataset(src_client, "loose_set", [], n=2)
    dst_client.create_experiment("unrelated")  # destination ids differ from the source ids
    dst_b, dst_a = dst_client.create_experiment("team/b"), dst_client.create_experiment("team/a")
    assert (dst_a, dst_b) != (exp_a, exp_b)

    summary = export_evaluation_datasets(str(tmp_path), mlflow_client=src_client)
    assert (summary["successful_exports"], summary["failed_exports"]) == (2, 0)
    exported_files = sorted(os.listdir(tmp_path))
    report = Report()
    result = import_evaluation_datasets(str(tmp_path), mlflow_client=dst_client, report=report)
    assert result == {"total_datasets": 2, "successful_imports": 2, "skipped_imports": 0, "failed_imports": 0}
    assert not report.failures and not report.notes
    assert sorted(os.listdir(tmp_path)) == exported_files
    problems = census_diff(src.uri, dst.uri, artifact_hash=False)
    assert "eval_datasets" not in problems, problems.get("eval_datasets")
    assert dataset_view(dst_client, "qa_set") == dataset_view(src_client, "qa_set")
    assert sorted(store(dst_client).get_dataset_experiment_ids(
        dst_client.search_datasets(filter_string="name = 'qa_set'")[0].dataset_id)) == sorted([dst_a, dst_b])

    result = import_evaluation_datasets(str(tmp_path), mlflow_client=dst_client)
    assert result == {"total_datasets": 2, "successful_imports": 0, "skipped_imports": 2, "failed_imports": 0}
    assert "eval_datasets" not in census_diff(src.uri, dst.uri, artifact_hash=False)


def test_cli_single_round_trip_with_rename_and_delete(src_client, dst_client, src_server, dst_server, uniq,
                                                      tmp_path):
    name, new_name = f"ds_{uniq}", f"ds_copy_{uniq}"
    exp_name = f"dsexp_{uniq}"
    dataset_id = make_dataset(src_client, name, [src_client.create_experiment(exp_name)])
    res = CliRunner().invoke(export_dataset_main, ["--dataset-id", dataset_id, "--output-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    payload = json.load(open(tmp_path / "evaluation_dataset.json"))["mlflow"]["evaluation_dataset"]
    assert payload["experiment_names"] == [exp_name] and len(payload["records"]) == 4

    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path), "--evaluation-dataset-name",
                                                   new_name], env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    assert "dropped" in res.output  # the experiment is not in the destination: said, not linked to a wrong one
    dst_exp = dst_client.create_experiment(exp_name)
    dst_id = dst_client.search_datasets(filter_string=f"name = '{new_name}'")[0].dataset_id
    store(dst_client).upsert_dataset_records(dst_id, [{"inputs": {"question": "local only"}}])

    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path), "--evaluation-dataset-name",
                                                   new_name, "--delete-evaluation-dataset"],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    dst_view, src_view = dataset_view(dst_client, new_name), dataset_view(src_client, name)
    assert dst_view == src_view
    new_id = dst_client.search_datasets(filter_string=f"name = '{new_name}'")[0].dataset_id
    assert store(dst_client).get_dataset_experiment_ids(new_id) == [dst_exp]


def test_dry_run_plans_the_experiment_link_the_import_then_adds(src_client, dst_client, src_server, dst_server,
                                                                 uniq, tmp_path):
    """A dataset already complete in the destination but for a link to an experiment created there since: the
    import adds the link and says it copied; its dry run must say it would update, not 'already in the
    destination' (before the fix the plan looked at tags and records only)."""
    name, exp_name = f"dslink_{uniq}", f"dslinkexp_{uniq}"
    dataset_id = make_dataset(src_client, name, [src_client.create_experiment(exp_name)])
    env_src, env_dst = {"MLFLOW_TRACKING_URI": src_server.uri}, {"MLFLOW_TRACKING_URI": dst_server.uri}
    res = CliRunner().invoke(export_dataset_main, ["--dataset-id", dataset_id, "--output-dir", str(tmp_path)],
                             env=env_src)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path)], env=env_dst)
    assert res.exit_code == 0 and "dropped" in res.output, res.output
    dst_exp = dst_client.create_experiment(exp_name)

    plan_file = tmp_path / "plan.json"
    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path), "--dry-run",
                                                   "--report", str(plan_file)], env=env_dst)
    assert res.exit_code == 0, res.output
    plan = json.load(open(plan_file))
    assert [p["id"] for p in plan["planned"]] == [name], plan

    report_file = tmp_path / "report.json"
    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path), "--report", str(report_file)],
                             env=env_dst)
    assert res.exit_code == 0, res.output
    assert json.load(open(report_file))["counts"]["evaluation_datasets"]["copied"] == 1
    dst_id = dst_client.search_datasets(filter_string=f"name = '{name}'")[0].dataset_id
    assert store(dst_client).get_dataset_experiment_ids(dst_id) == [dst_exp]
    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path), "--dry-run",
                                                   "--report", str(plan_file)], env=env_dst)
    assert res.exit_code == 0 and json.load(open(plan_file))["planned"] == [], res.output


def test_reference_export_imports_with_experiment_links(fresh_pair, count_tool, tmp_path):
    dst = fresh_pair[1]
    client = dst.client()
    client.create_experiment("other")
    exp_id = client.create_experiment("bench/exp_000")
    input_dir = str(tmp_path / "evaluation_datasets")
    shutil.copytree(os.path.join(REFERENCE_EXPORT_ALL, "evaluation_datasets"), input_dir)
    shutil.copytree(os.path.join(REFERENCE_EXPORT_ALL, "experiments"), str(tmp_path / "experiments"),
                    ignore=shutil.ignore_patterns("[0-9]*"))
    before = sorted(os.listdir(input_dir))
    report = Report()
    result = import_evaluation_datasets(input_dir, mlflow_client=client, report=report)
    assert result["successful_imports"] == 1 and not report.failures
    assert sorted(os.listdir(input_dir)) == before
    src_census = json.load(open(os.path.join(FIXTURES_DIR, "reference-exports", "source-census.json")))
    assert count_tool.Census(dst.uri, threads=2).build()["eval_datasets"] == src_census["eval_datasets"]
    ds = client.search_datasets()[0]
    assert store(client).get_dataset_experiment_ids(ds.dataset_id) == [exp_id]


def test_reference_sample_imports_with_id_map(dst_client, uniq, tmp_path):
    sample = os.path.join(FIXTURES_DIR, "reference-samples", "oss_mlflow", "bulk", "evaluation_datasets")
    wine = os.path.join(sample, "wine-quality-eval_abc123")
    exp_id = dst_client.create_experiment(f"wine_{uniq}")
    id_map = IdMap()
    id_map.put(EXPERIMENTS, "1", exp_id)
    name = f"wine_{uniq}"
    report = Report()
    assert import_evaluation_dataset(wine, name, mlflow_client=dst_client, report=report, id_map=id_map)[0] == name
    assert not report.failures
    ds = dst_client.search_datasets(filter_string=f"name = '{name}'")[0]
    assert store(dst_client).get_dataset_experiment_ids(ds.dataset_id) == [exp_id]
    assert any("experiment 2 dropped" in n for n in report.notes)
    records, _ = store(dst_client)._load_dataset_records(ds.dataset_id, max_results=None)
    src = json.load(open(os.path.join(wine, "evaluation_dataset.json")))["mlflow"]["evaluation_dataset"]
    assert len(records) == len(src["records"])
    assert all(r.expectations and r.expectations.get("quality") is not None for r in records)


def test_bad_input_gives_one_clear_message(src_server, dst_server, uniq, tmp_path):
    env_src, env_dst = {"MLFLOW_TRACKING_URI": src_server.uri}, {"MLFLOW_TRACKING_URI": dst_server.uri}
    res = CliRunner().invoke(export_dataset_main, ["--dataset-name", f"nope_{uniq}", "--output-dir",
                                                   str(tmp_path)], env=env_src)
    assert res.exit_code == 1 and f"Evaluation dataset 'nope_{uniq}' not found" in res.output
    res = CliRunner().invoke(export_dataset_main, ["--output-dir", str(tmp_path)], env=env_src)
    assert res.exit_code == 1 and "Give a dataset name or a dataset id" in res.output
    res = CliRunner().invoke(export_datasets_main, ["--evaluation-datasets", f"nope_{uniq}", "--output-dir",
                                                    str(tmp_path / "bulk")], env=env_src)
    assert res.exit_code == 1 and f"Evaluation dataset 'nope_{uniq}' not found" in res.output

    res = CliRunner().invoke(import_dataset_main, ["--input-dir", str(tmp_path / "missing")], env=env_dst)
    assert res.exit_code == 1 and "Missing export file" in res.output
    corrupt = tmp_path / "bulk_in" / f"x_{uniq}"
    corrupt.mkdir(parents=True)
    (corrupt / "evaluation_dataset.json").write_text('{"mlflow": {"evaluation_dataset": ')
    res = CliRunner().invoke(import_datasets_main, ["--input-dir", str(tmp_path / "bulk_in")], env=env_dst)
    assert res.exit_code == 1 and "Corrupt export file" in res.output
    assert "Traceback" not in res.output


def test_server_without_datasets_is_skipped_with_reason(servers_dir, src_client, uniq, tmp_path):
    server = FileStoreServer(servers_dir, "filestore")
    server.launch()
    try:
        server.wait_healthy(120)
        make_dataset(src_client, f"ds_fs_{uniq}", [], n=1)
        export_evaluation_datasets(str(tmp_path), mlflow_client=src_client)
        res = CliRunner().invoke(import_datasets_main, ["--input-dir", str(tmp_path)],
                                 env={"MLFLOW_TRACKING_URI": server.uri})
        assert res.exit_code == 0, res.output
        assert f"not supported by {server.uri}" in res.output
        report = Report()
        assert export_evaluation_datasets(str(tmp_path / "x"), mlflow_client=server.client(), report=report) == {
            "unsupported": True, "reason": f"not supported by {server.uri}"}
    finally:
        server.kill()
