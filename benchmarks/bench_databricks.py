"""Requests a workspace-to-workspace export-all + import-all sends, on the local Databricks fakes.

Starts two fake workspaces (tests/fakes/databricks_workspace.py: a real `mlflow server` behind a Databricks shim
with per-workspace tokens), fills the source through the real MLflow client with N runs (params, a metric history,
a text artifact and a model each) and a model with versions in several stages, then runs export-all from
`databricks://bench-src` and import-all into `databricks://bench-dst` in this process, and prints wall times,
requests by endpoint on each side, requests per run, and whether any request carried the other workspace's token.

    .venv/bin/python benchmarks/bench_databricks.py --runs 40
"""
import argparse
import collections
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..")))

from click.testing import CliRunner  # noqa: E402

from tests.fakes.databricks_workspace import STORAGE_PREFIX, FakeWorkspace, write_databrickscfg  # noqa: E402
from tests.platforms import USER, acting_as, experiment_path, make_run_with_model  # noqa: E402


def fill(profile, runs, base):
    with acting_as(profile) as ws:
        exp_id = ws.create_experiment(experiment_path("bench"))
        run_ids = [make_run_with_model(ws, exp_id, base, f"run-{i}", metrics=20) for i in range(runs)]
        ws.create_registered_model("Bench_Model")
        for i, stage in enumerate(("Production", "Staging", "None")):
            vr = ws.create_model_version("Bench_Model", f"{ws.get_run(run_ids[i]).info.artifact_uri}/model",
                                         run_ids[i])
            if stage != "None":
                ws.transition_model_version_stage("Bench_Model", vr.version, stage)


def by_endpoint(ws):
    counts = collections.Counter()
    for r in ws.requests:
        path = r["path"]
        if path.startswith("/api/2.0/fs/"):
            path = "/api/2.0/fs/" + path.split("/")[4] + " (Files API)"
        elif path.startswith(STORAGE_PREFIX):
            path = STORAGE_PREFIX
        counts[f"{r['method']} {path}"] += 1
    return counts


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args(argv)
    base = tempfile.mkdtemp(prefix="bench-dbx-")
    src = FakeWorkspace(base, "bench-src", "dapi-bench-src", org_id="5555555555555555", user_name=USER)
    dst = FakeWorkspace(base, "bench-dst", "dapi-bench-dst", org_id="6666666666666666", user_name=USER)
    for ws in (src, dst):
        ws.launch()
    try:
        for ws in (src, dst):
            ws.wait_healthy()
        cfg = write_databrickscfg(os.path.join(base, "cfg"), {"bench-src": src, "bench-dst": dst})
        for key in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "MLFLOW_TRACKING_URI"):
            os.environ.pop(key, None)
        os.environ["DATABRICKS_CONFIG_FILE"] = cfg
        fill("bench-src", args.runs, base)
        src.clear_requests()
        dst.clear_requests()
        from mlflow_export_import.cli import cli
        out = os.path.join(base, "out")
        start = time.time()
        result = CliRunner().invoke(cli, ["export-all", "--output-dir", out, "--workers", str(args.workers), "--quiet"],
                                    env={"MLFLOW_TRACKING_URI": "databricks://bench-src"})
        export_s = time.time() - start
        assert result.exit_code == 0, result.output
        start = time.time()
        result = CliRunner().invoke(cli, ["import-all", "--input-dir", out, "--workers", str(args.workers), "--quiet"],
                                    env={"MLFLOW_TRACKING_URI": "databricks://bench-dst"})
        import_s = time.time() - start
        assert result.exit_code == 0, result.output
        for name, ws, secs in (("export (source)", src, export_s), ("import (destination)", dst, import_s)):
            counts = by_endpoint(ws)
            total = sum(counts.values())
            probes = counts.get("GET /.well-known/databricks-config", 0)
            print(f"\n{name}: {secs:.1f} s, {total} requests ({total / args.runs:.1f} per run; "
                  f"{probes} SDK host-metadata probes)")
            for endpoint, n in counts.most_common(15):
                print(f"  {n:6d}  {endpoint}")
        foreign = [r for ws in (src, dst) for r in ws.requests
                   if r.get("token") not in (ws.token, None) or (r.get("token") is None and not r["path"].startswith(
                       ("/.well-known/", STORAGE_PREFIX)))]
        print(f"\nrequests with another workspace's token (or none): {len(foreign)}")
    finally:
        for ws in (src, dst):
            ws.stop()


if __name__ == "__main__":
    main()
