"""The frame every command runs in: progress display, rate limit, summary, report, exit codes."""
import io
import json
import subprocess
import sys
import time

from click.testing import CliRunner
from mlflow.entities import RunTag

from mlflow_export_import.common.progress import Progress, render
from mlflow_export_import.common.rate_limit import RateLimitedClient, TokenBucket
from mlflow_export_import.common.report import Report
from mlflow_export_import.run import export_run


def test_progress_line_shows_counts_rate_and_eta():
    line = render({"runs": {"copied": 4, "skipped": 1, "failed": 1}}, {"runs": 12}, elapsed=3.0)
    assert "runs 6/12" in line and "(1 failed)" in line and "2.0/s" in line and "ETA 00:03" in line


def test_progress_is_drawn_only_where_enabled():
    stream = io.StringIO()
    report = Report("x", Progress(stream=stream, enabled=True))
    report.expect("runs", 2)
    report.copied("runs")
    report.progress.close()
    assert "runs 1/2" in stream.getvalue()
    quiet = io.StringIO()
    Report("x", Progress(stream=quiet, enabled=False)).copied("runs")
    assert quiet.getvalue() == ""


def test_token_bucket_caps_the_rate():
    bucket = TokenBucket(10, burst=1)
    start = time.monotonic()
    for _ in range(6):
        bucket.acquire()
    assert time.monotonic() - start >= 0.45


def test_rate_limited_client_passes_calls_through(src_client, uniq):
    client = RateLimitedClient(src_client, 50)
    exp_id = client.create_experiment(f"rl-{uniq}")
    assert client.get_experiment(exp_id).name == f"rl-{uniq}"
    assert client.tracking_uri == src_client.tracking_uri


def test_rate_limit_counts_the_calls_made_past_the_client_methods(src_client, uniq):
    """The package writes some things through the tracking store or the registry client (to skip the read MLflow's
    client makes first): those requests count against --max-requests-per-second too."""
    client = RateLimitedClient(src_client, 4)
    run_id = client.create_run(client.create_experiment(f"rl-store-{uniq}")).info.run_id
    start = time.monotonic()
    for i in range(6):
        client._tracking_client.store.set_tag(run_id, RunTag(f"k{i}", "v"))
    client._get_registry_client().search_registered_models()
    # 2 tokens were used, 2 left in the bucket: 5 more calls wait a quarter of a second each
    assert time.monotonic() - start >= 1.1
    assert len(src_client.get_run(run_id).data.tags) >= 6


def test_report_file_quiet_and_rate_limit_options(src_server, tmp_path):
    report_file = tmp_path / "report.json"
    res = CliRunner().invoke(export_run.main, ["--run-id", "0" * 32, "--output-dir", str(tmp_path / "out"),
                                               "--quiet", "--max-requests-per-second", "20",
                                               "--report", str(report_file)],
                             env={"MLFLOW_TRACKING_URI": src_server.uri})
    assert res.exit_code == 1
    assert "FAILED runs 00000000000000000000000000000000" in res.output
    report = json.loads(report_file.read_text())
    assert report["ok"] is False
    assert report["counts"]["runs"]["failed"] == 1
    assert report["failures"][0]["id"] == "0" * 32


def test_modules_mlflow_looks_for_before_each_request_are_marked_absent_once(src_server):
    """A command records that the Databricks runtime is not installed (MLflow tries to import it before every
    request, searching sys.path each time): importing it then fails at once, installed modules are untouched, and
    requests still go out with their headers. Run in a fresh interpreter, as a command runs."""
    code = (
        "import sys, json\n"
        "from mlflow_export_import.common.absent_modules import remember_absent\n"
        "remember_absent(('no_such_module_here', 'json', 'dbruntime'))\n"
        "assert sys.modules['no_such_module_here'] is None and sys.modules['dbruntime'] is None\n"
        "assert sys.modules['json'] is json\n"
        "try:\n"
        "    import no_such_module_here\n"
        "    raise SystemExit('imported')\n"
        "except ImportError:\n"
        "    pass\n"
        "from mlflow import MlflowClient\n"
        f"print(len(MlflowClient('{src_server.uri}').search_experiments()) >= 1)\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and res.stdout.strip() == "True", res.stderr[-2000:]
