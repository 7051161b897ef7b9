import json
import os
import shutil

import mlflow
import pytest

from click.testing import CliRunner

from mlflow_export_import.bulk.export_traces import main as export_traces_main
from mlflow_export_import.bulk.import_traces import import_traces, main as import_traces_main
from mlflow_export_import.common.id_map import TRACES, IdMap
from mlflow_export_import.common.report import Report
from mlflow_export_import.trace.export_trace import export_trace, main as export_trace_main
from mlflow_export_import.trace.import_trace import TraceImporter, import_trace, main as import_trace_main
from tests.conftest import FIXTURES_DIR
from tests.fault_proxy import FaultProxy
from tests.mlflow3_workload import make_trace
from tests.servers import FileStoreServer
from tests.workload import make_run

REQUEST_ID_ATTR = "mlflow.traceRequestId"


def _traces(client, experiment_id):
    return client.search_traces(locations=[experiment_id], max_results=100)


def _span_view(span):
    attrs = {k: v for k, v in span.attributes.items() if k != REQUEST_ID_ATTR}
    return {"name": span.name, "span_id": span.span_id, "parent_id": span.parent_id, "type": span.span_type,
            "start": span.start_time_ns, "end": span.end_time_ns, "status": span.status.status_code,
            "status_message": span.status.description, "inputs": span.inputs, "outputs": span.outputs,
            "attributes": attrs, "events": [(e.name, e.timestamp, e.attributes) for e in span.events]}


def _assessment_view(a, with_time=True):
    return {"name": a.name, "type": type(a).__name__, "source": (a.source.source_type, a.source.source_id),
            "rationale": a.rationale, "span_id": a.span_id, "value": a.value,
            "create": a.create_time_ms if with_time else None}


def assert_same_trace(src, dst, dst_run_id=None, assessment_times=True):
    s, d = src.info, dst.info
    assert d.trace_id != s.trace_id
    assert (d.request_time, d.execution_duration, d.state) == (s.request_time, s.execution_duration, s.state)
    assert (d.request_preview, d.response_preview) == (s.request_preview, s.response_preview)
    skip = ("mlflow.artifactLocation", "mlflow.trace.spansLocation")  # where the server keeps spans
    assert {k: v for k, v in d.tags.items() if k not in skip and not k.startswith("mlflow_exim.")} == \
        {k: v for k, v in s.tags.items() if k not in skip}
    # sourceRun is checked below; infoFinalized is stamped by SQL servers, whatever the source had
    own = ("mlflow.sourceRun", "mlflow.trace.infoFinalized")
    meta_src = {k: v for k, v in s.trace_metadata.items() if k not in own}
    assert {k: v for k, v in d.trace_metadata.items() if k not in own} == meta_src
    assert d.trace_metadata.get("mlflow.sourceRun") == dst_run_id
    assert [_span_view(x) for x in dst.data.spans] == [_span_view(x) for x in src.data.spans]
    assert sorted(str(_assessment_view(a, assessment_times)) for a in d.assessments) == \
        sorted(str(_assessment_view(a, assessment_times)) for a in s.assessments)


def test_trace_round_trip_keeps_spans_info_and_assessments(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"tr_src_{uniq}")
    trace_id = make_trace(src_client, exp_id, "ask")
    report = Report()
    assert export_trace(trace_id, str(tmp_path), mlflow_client=src_client, report=report) is not None
    payload = json.load(open(tmp_path / "trace.json"))["mlflow"]
    assert [s["name"] for s in payload["data"]] == ["ask", "retrieve", "embed"]
    assert {a["assessment_type"] for a in payload["info"]["assessments"]} == {"feedback", "expectation"}

    id_map = IdMap()
    info = import_trace(str(tmp_path), f"tr_dst_{uniq}", mlflow_client=dst_client, report=report, id_map=id_map)
    assert not report.has_failures, report.failures
    assert_same_trace(src_client.get_trace(trace_id), dst_client.get_trace(info.trace_id))
    assert id_map.get(TRACES, trace_id) == info.trace_id

    again = import_trace(str(tmp_path), f"tr_dst_{uniq}", mlflow_client=dst_client, report=report)
    assert again.trace_id == info.trace_id
    assert len(_traces(dst_client, info.experiment_id)) == 1


class _Killed(BaseException):
    """Stands for the process being killed: no `except Exception` of the importer sees it."""


def test_import_killed_between_spans_and_info_is_completed_by_the_next_import(src_client, dst_client, uniq, tmp_path):
    """The spans create the trace untagged; a kill before its info is written left it for a re-import to twin."""
    exp_id = src_client.create_experiment(f"tr_kill_{uniq}")
    trace_id = make_trace(src_client, exp_id, "ask")
    export_trace(trace_id, str(tmp_path), mlflow_client=src_client)
    importer = TraceImporter(dst_client)
    store = importer.store

    class KilledAtInfo:
        def __getattr__(self, name):
            return getattr(store, name)

        def start_trace(self, info):
            raise _Killed()

    importer.store = KilledAtInfo()
    dst_exp = dst_client.create_experiment(f"tr_kill_{uniq}")
    with pytest.raises(_Killed):
        importer.import_trace(dst_exp, str(tmp_path), {})
    assert len(_traces(dst_client, dst_exp)) == 1  # the spans' untagged trace, as a kill leaves it

    info = import_trace(str(tmp_path), f"tr_kill_{uniq}", mlflow_client=dst_client)
    traces = _traces(dst_client, dst_exp)
    assert [t.info.trace_id for t in traces] == [info.trace_id]
    assert_same_trace(src_client.get_trace(trace_id), dst_client.get_trace(info.trace_id))


def test_trace_linked_to_given_run(src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"tr_run_{uniq}")
    src_run = make_run(src_client, exp_id, "r", artifacts=False)
    trace_id = make_trace(src_client, exp_id, "linked", run_id=src_run)
    export_trace(trace_id, str(tmp_path), mlflow_client=src_client)
    dst_exp = dst_client.create_experiment(f"tr_run_{uniq}")
    dst_run = make_run(dst_client, dst_exp, "r", artifacts=False)
    info = import_trace(str(tmp_path), f"tr_run_{uniq}", run_id=dst_run, mlflow_client=dst_client)
    assert_same_trace(src_client.get_trace(trace_id), dst_client.get_trace(info.trace_id), dst_run)
    assert dst_client.get_run(dst_run).info.status == "FINISHED"


def test_bulk_trace_cli_round_trip(src_server, dst_client, src_client, uniq, tmp_path):
    exp_name = f"tr_bulk_{uniq}"
    exp_id = src_client.create_experiment(exp_name)
    ids = [make_trace(src_client, exp_id, f"t{i}") for i in range(2)]
    out = str(tmp_path / "out")
    res = CliRunner().invoke(export_traces_main, ["--experiment-ids", exp_name, "--output-dir", out],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    listed = json.load(open(os.path.join(out, "traces.json")))["mlflow"]["experiments"]
    assert sorted(listed[0]["traces"]) == sorted(ids)
    env = {"MLFLOW_TRACKING_URI": dst_client.tracking_uri}
    for _ in range(2):  # the second run finds the traces imported by the first
        res = CliRunner().invoke(import_traces_main, ["--input-dir", out], env=env)
        assert res.exit_code == 0, res.output
    dst_exp = dst_client.get_experiment_by_name(exp_name)
    dst = _traces(dst_client, dst_exp.experiment_id)
    assert sorted(t.info.tags["mlflow.traceName"] for t in dst) == ["t0", "t1"]
    by_name = {t.info.tags["mlflow.traceName"]: t.info.trace_id for t in dst}
    for src_id in ids:
        src = src_client.get_trace(src_id)
        assert_same_trace(src, dst_client.get_trace(by_name[src.info.tags["mlflow.traceName"]]))


def test_single_trace_cli(src_server, dst_server, src_client, dst_client, uniq, tmp_path):
    exp_id = src_client.create_experiment(f"tr_cli_{uniq}")
    trace_id = make_trace(src_client, exp_id, "cli")
    res = CliRunner().invoke(export_trace_main, ["--request-id", trace_id, "--output-dir", str(tmp_path)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(import_trace_main, ["--input-dir", str(tmp_path), "--experiment-name", f"tr_cli_{uniq}"],
                             env={"MLFLOW_TRACKING_URI": dst_server.uri})
    assert res.exit_code == 0, res.output
    dst_exp = dst_client.get_experiment_by_name(f"tr_cli_{uniq}")
    [dst] = _traces(dst_client, dst_exp.experiment_id)
    assert_same_trace(src_client.get_trace(trace_id), dst_client.get_trace(dst.info.trace_id))


def test_reference_trace_exports_import(dst_client, uniq, tmp_path):
    """The reference writes the full spans only when the trace artifact exists; otherwise only summaries."""
    src = os.path.join(FIXTURES_DIR, "reference-exports", "single", "experiment", "traces")
    data = str(tmp_path / "traces")
    shutil.copytree(src, data)
    listing = json.load(open(os.path.join(data, "traces.json")))
    listing["mlflow"]["experiments"][0]["name"] = f"ref_traces_{uniq}"
    json.dump(listing, open(os.path.join(data, "traces.json"), "w"))
    report = Report()
    mapping = import_traces(data, mlflow_client=dst_client, report=report)
    assert not report.has_failures, report.failures
    assert set(mapping) == {"tr-1dd77cd4ea2202a6f3f24c6efbf0ae1a", "tr-2b194efcc7ed9f4c145e5c692d03f141"}
    full = dst_client.get_trace(mapping["tr-2b194efcc7ed9f4c145e5c692d03f141"])
    assert [s.name for s in full.data.spans] == ["root_1", "child_0", "child_1"]
    assert full.data.spans[0].inputs == {"question": "q1", "k": 9}
    assert full.data.spans[1].parent_id == "449fb81b94601720"
    assert full.info.tags["bench.t"] == "1" and full.info.request_preview == '{"question": "q1", "k": 9}'
    partial = dst_client.get_trace(mapping["tr-1dd77cd4ea2202a6f3f24c6efbf0ae1a"])
    assert len(partial.data.spans) == 3
    assert any("rebuilt from their names and parents" in n for n in report.notes)


def test_bad_trace_input_gives_one_clear_error(src_server, dst_server, uniq, tmp_path):
    res = CliRunner().invoke(export_trace_main, ["--request-id", "tr-0123456789abcdef0123456789abcdef",
                                                 "--output-dir", str(tmp_path / "x")],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1
    assert "tr-0123456789abcdef0123456789abcdef" in res.output and "Traceback" not in res.output

    env = {"MLFLOW_TRACKING_URI": dst_server.uri}
    res = CliRunner().invoke(import_trace_main, ["--input-dir", str(tmp_path / "missing"),
                                                 "--experiment-name", f"bad_{uniq}"], env=env)
    assert res.exit_code == 1 and "Missing export file" in res.output and "Traceback" not in res.output

    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "trace.json").write_text('{"mlflow": {"info": ')
    res = CliRunner().invoke(import_trace_main, ["--input-dir", str(corrupt), "--experiment-name", f"bad_{uniq}"],
                             env=env)
    assert res.exit_code == 1 and "Corrupt export file" in res.output and "Traceback" not in res.output


def old_server_proxy(target_uri):
    """Forwards to an MLflow server but answers 404 for the MLflow 3 endpoints (logged models, traces), as a
    server from before them does."""
    not_found = (404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>")
    return FaultProxy(target_uri, answer=lambda path: not_found if "logged-models" in path or "traces" in path
                      else None)


def test_server_without_mlflow3_objects_gets_skipped_not_a_traceback(src_server, dst_server, src_client, uniq,
                                                                      tmp_path):
    from mlflow_export_import.experiment.export_experiment import main as export_experiment_main
    from mlflow_export_import.experiment.import_experiment import main as import_experiment_main
    from tests.mlflow3_workload import make_logged_model
    name = f"old_{uniq}"
    exp_id = src_client.create_experiment(name)
    run_id = make_run(src_client, exp_id, "r", artifacts=False)
    make_logged_model(src_client, exp_id, "lm", run_id)
    make_trace(src_client, exp_id, "t", run_id=run_id)
    full, partial = str(tmp_path / "full"), str(tmp_path / "partial")
    with old_server_proxy(src_server.uri) as old_src:
        res = CliRunner().invoke(export_experiment_main, ["--experiment", name, "--output-dir", partial],
                                 env={"MLFLOW_TRACKING_URI": old_src.uri})
        assert res.exit_code == 0, res.output
        assert f"not supported by {old_src.uri}" in res.output and "Traceback" not in res.output
    exp_file = json.load(open(os.path.join(partial, "experiment.json")))
    assert len(exp_file["mlflow"]["runs"]) == 1 and "logged_models" not in exp_file["mlflow"]

    res = CliRunner().invoke(export_experiment_main, ["--experiment", name, "--output-dir", full],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 0, res.output
    with old_server_proxy(dst_server.uri) as old_dst:
        res = CliRunner().invoke(import_experiment_main, ["--experiment-name", name, "--input-dir", full],
                                 env={"MLFLOW_TRACKING_URI": old_dst.uri})
        assert res.exit_code == 0, res.output
        assert res.output.count(f"not supported by {old_dst.uri}") == 2 and "Traceback" not in res.output


def test_spans_kept_in_artifacts_round_trip_both_ways(servers_dir, src_client, dst_client, uniq, tmp_path):
    """A file-store server keeps spans in the trace's artifacts, a SQL server in its tracking store: a trace
    crosses from one kind to the other and back with every span, its info and its assessments."""
    server = FileStoreServer(servers_dir, f"filestore-traces-{uniq}")
    server.launch()
    try:
        server.wait_healthy(120)
        fs_client = server.client()
        # MLflow's own get_trace reads `mlflow-artifacts:` span files through the global tracking URI (the
        # export code does not); the checks below use MLflow's reader, so point it at the file-store server.
        mlflow.set_tracking_uri(server.uri)
        fs_exp = fs_client.create_experiment(f"tr_fs_{uniq}")
        fs_trace = make_trace(fs_client, fs_exp, "ask")
        assert export_trace(fs_trace, str(tmp_path / "from_fs"), mlflow_client=fs_client) is not None
        sql_info = import_trace(str(tmp_path / "from_fs"), f"tr_sql_{uniq}", mlflow_client=dst_client)
        assert_same_trace(fs_client.get_trace(fs_trace), dst_client.get_trace(sql_info.trace_id))

        sql_exp = src_client.create_experiment(f"tr_src_sql_{uniq}")
        sql_trace = make_trace(src_client, sql_exp, "answer")
        assert export_trace(sql_trace, str(tmp_path / "from_sql"), mlflow_client=src_client) is not None
        fs_info = import_trace(str(tmp_path / "from_sql"), f"tr_fs_dst_{uniq}", mlflow_client=fs_client)
        # a file store stamps assessments with its own creation time
        assert_same_trace(src_client.get_trace(sql_trace), fs_client.get_trace(fs_info.trace_id),
                          assessment_times=False)
    finally:
        server.kill()
