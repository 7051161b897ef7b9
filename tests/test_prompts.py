import json
import os
import shutil

from click.testing import CliRunner
from mlflow import MlflowClient

from mlflow_export_import.bulk.export_prompts import export_prompts, main as export_prompts_main
from mlflow_export_import.bulk.import_prompts import import_prompts, main as import_prompts_main
from mlflow_export_import.common.report import Report
from mlflow_export_import.prompt.export_prompt import export_prompt, main as export_prompt_main
from mlflow_export_import.prompt.import_prompt import import_prompt, main as import_prompt_main
from tests.conftest import FIXTURES_DIR

REFERENCE_PROMPTS = os.path.join(FIXTURES_DIR, "reference-exports", "single", "prompts")
PROMPT_SECTIONS = ("prompts", "prompt_versions")
EXPERIMENT_IDS_TAG = "_mlflow_experiment_ids"


def make_prompt(client, name):
    """Versions 1 (text, response format, model config), 2 (chat), 3 (deleted) and 4; aliases on 2 and 4."""
    client.create_prompt(name, description=f"About {name}", tags={"team": "ml", "domain": "qa"})
    client.create_prompt_version(name, "Answer {{question}} in {{n}} words.", description="first",
                                 tags={"author": "alice"}, response_format={"type": "object", "properties": {
                                     "answer": {"type": "string"}}},
                                 model_config={"model_name": "gpt-x", "temperature": 0.2, "max_tokens": 50,
                                               "seed": 7})
    client.create_prompt_version(name, [{"role": "system", "content": "You are {{style}}."},
                                        {"role": "user", "content": "{{question}}"}], description="chat",
                                 tags={"author": "bob"})
    client.create_prompt_version(name, "Dropped {{x}}", description="dropped")
    client.delete_prompt_version(name, "3")
    client.create_prompt_version(name, "Answer {{question}} briefly.", description="fourth")
    client.set_prompt_alias(name, "production", 2)
    client.set_prompt_alias(name, "candidate", 4)


def prompt_view(client, name):
    prompt = client.get_prompt(name)
    versions = {}
    for pv in client.search_prompt_versions(name):
        full = client.get_prompt_version(name, pv.version)
        versions[int(full.version)] = {"template": full.template, "commit": full.commit_message, "tags": full.tags,
                                       "response_format": full.response_format, "model_config": full.model_config,
                                       "aliases": sorted(full.aliases)}
    tags = {k: v for k, v in prompt.tags.items() if k != EXPERIMENT_IDS_TAG}
    return {"description": prompt.description, "tags": tags, "versions": versions}


def census_problems(census_diff, src_uri, dst_uri, sections):
    problems = census_diff(src_uri, dst_uri, artifact_hash=False)
    return {k: v for k, v in problems.items() if k in sections}


def test_bulk_round_trip_equals_source_and_reimport_adds_nothing(fresh_pair, census_diff, tmp_path):
    src, dst = fresh_pair
    src_client, dst_client = src.client(), dst.client()
    make_prompt(src_client, "greeter")
    make_prompt(src_client, "summarizer")
    src_client.set_prompt_tag("greeter", EXPERIMENT_IDS_TAG, f",{src_client.create_experiment('apps/chat')},")
    dst_client.create_experiment("unrelated")
    dst_exp = dst_client.create_experiment("apps/chat")
    summary = export_prompts(str(tmp_path), mlflow_client=src_client)
    assert summary["successful_exports"] == 6 and summary["failed_exports"] == 0
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["prompts_summary.json"] + [f"{n}_v{v}" for n in ("greeter", "summarizer") for v in (1, 2, 4)])

    exported_files = sorted(os.listdir(tmp_path))
    report = Report()
    result = import_prompts(str(tmp_path), mlflow_client=dst_client, report=report)
    assert result == {"total_prompts": 6, "successful_imports": 6, "skipped_imports": 0, "failed_imports": 0}
    assert not report.failures
    assert census_problems(census_diff, src.uri, dst.uri, PROMPT_SECTIONS) == {}
    assert prompt_view(dst_client, "greeter") == prompt_view(src_client, "greeter")
    assert dst_client.get_prompt("greeter").tags[EXPERIMENT_IDS_TAG] == f",{dst_exp},"
    assert sorted(os.listdir(tmp_path)) == exported_files  # nothing written into the input

    result = import_prompts(str(tmp_path), mlflow_client=dst_client)
    assert result == {"total_prompts": 6, "successful_imports": 0, "skipped_imports": 6, "failed_imports": 0}
    assert census_problems(census_diff, src.uri, dst.uri, PROMPT_SECTIONS) == {}


def test_cli_bulk_round_trip_keeps_versions_in_numeric_order(src_client, dst_client, src_server, dst_server, uniq,
                                                             tmp_path):
    name = f"many_{uniq}"
    for i in range(1, 12):
        src_client.register_prompt(name, f"Version {i} of {{{{x}}}}", commit_message=f"v{i}")
    out = str(tmp_path / "out")
    res = CliRunner().invoke(export_prompts_main, ["--output-dir", out, "--prompts", name],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(import_prompts_main, ["--input-dir", out, "--use-threads"],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    for i in range(1, 12):
        pv = dst_client.get_prompt_version(name, i)
        assert (pv.template, pv.commit_message) == (f"Version {i} of {{{{x}}}}", f"v{i}")


def test_single_version_export_import_with_rename_and_reimport(src_client, dst_client, uniq, tmp_path):
    name = f"single_{uniq}"
    make_prompt(src_client, name)
    pv = export_prompt(name, 2, str(tmp_path), mlflow_client=src_client)
    assert pv.version == 2
    payload = json.load(open(tmp_path / "prompt.json"))["mlflow"]["prompt"]
    assert payload["version"] == 2 and payload["template"][0]["role"] == "system" and payload["aliases"] == [
        "production"]

    new_name = f"renamed_{uniq}"
    assert import_prompt(str(tmp_path), new_name, mlflow_client=dst_client) == (new_name, 2)
    dst = dst_client.get_prompt_version(new_name, "production")
    assert (dst.version, dst.template, dst.tags) == (2, pv.template, {"author": "bob"})
    assert dst_client.get_prompt(new_name).tags == {"team": "ml", "domain": "qa"}
    report = Report()
    assert import_prompt(str(tmp_path), new_name, mlflow_client=dst_client, report=report) == (new_name, None)
    assert report.count("prompt_versions", "skipped") == 1
    assert [int(v.version) for v in dst_client.search_prompt_versions(new_name)] == [2]


def test_delete_prompt_replaces_a_diverged_destination(src_client, dst_client, uniq, tmp_path):
    name = f"del_{uniq}"
    make_prompt(src_client, name)
    export_prompts(str(tmp_path), [name], mlflow_client=src_client)
    dst_client.register_prompt(name, "Something else {{y}}", commit_message="local change")
    import_prompts(str(tmp_path), delete_prompt=True, mlflow_client=dst_client)
    assert prompt_view(dst_client, name) == prompt_view(src_client, name)


def test_reference_export_imports(fresh_pair, count_tool, tmp_path):
    dst = fresh_pair[1]
    input_dir = str(tmp_path / "prompts")
    shutil.copytree(REFERENCE_PROMPTS, input_dir)
    before = sorted(os.listdir(input_dir))
    result = import_prompts(input_dir, mlflow_client=dst.client())
    assert result == {"total_prompts": 4, "successful_imports": 4, "skipped_imports": 0, "failed_imports": 0}
    assert sorted(os.listdir(input_dir)) == before
    src_census = json.load(open(os.path.join(FIXTURES_DIR, "reference-exports", "source-census.json")))
    dst_census = count_tool.Census(dst.uri, threads=2).build()
    assert dst_census["prompt_versions"] == src_census["prompt_versions"]
    for prompt in src_census["prompts"].values():
        prompt["aliases"] = {}  # the reference does not export aliases
    assert dst_census["prompts"] == src_census["prompts"]


def test_reference_sample_imports(dst_client, tmp_path):
    sample = os.path.join(FIXTURES_DIR, "reference-samples", "oss_mlflow", "bulk", "prompts")
    report = Report()
    import_prompts(sample, mlflow_client=dst_client, report=report)
    assert not report.failures
    pv = dst_client.get_prompt_version("my-greeting-prompt", 1)
    assert pv.template.startswith("Hello {name}") and pv.tags == {"purpose": "customer-greeting",
                                                                  "language": "english"}


def test_unknown_prompt_fails_with_one_clear_message(src_server, uniq, tmp_path):
    res = CliRunner().invoke(export_prompt_main, ["--prompt-name", f"nope_{uniq}", "--prompt-version", "1",
                                                  "--output-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1
    assert f"Prompt 'nope_{uniq}' not found" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(export_prompts_main, ["--prompts", f"nope_{uniq}", "--output-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1 and f"Prompt 'nope_{uniq}' not found" in res.output


def test_corrupt_file_fails_alone(src_client, dst_server, dst_client, uniq, tmp_path):
    good, bad = f"good_{uniq}", f"bad_{uniq}"
    src_client.register_prompt(good, "Hi {{x}}")
    src_client.register_prompt(bad, "Ho {{x}}")
    export_prompts(str(tmp_path), [good, bad], mlflow_client=src_client)
    with open(tmp_path / f"{bad}_v1" / "prompt.json", "w") as f:
        f.write('{"system": {}, "mlflow": {"prompt": {"name": ')
    res = CliRunner().invoke(import_prompts_main, ["--input-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 1
    assert "Corrupt export file" in res.output and f"{bad}_v1" in res.output and "Traceback" not in res.output
    assert dst_client.get_prompt_version(good, 1).template == "Hi {{x}}"
    res = CliRunner().invoke(import_prompt_main, ["--input-dir", str(tmp_path / f"{bad}_v1")],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 1 and "Corrupt export file" in res.output


def test_registry_without_prompts_is_skipped_with_reason(src_server, tmp_path):
    client = MlflowClient(src_server.uri, registry_uri="databricks")
    report = Report()
    assert export_prompts(str(tmp_path), mlflow_client=client, report=report)["unsupported"]
    assert import_prompts(str(tmp_path), mlflow_client=client, report=report)["unsupported"]
    assert not report.failures
    assert [s["reason"] for s in report.skips] == ["not supported by databricks"] * 2
