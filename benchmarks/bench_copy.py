"""Benchmark a whole-server copy: two fresh local MLflow servers, a populated source, timed export and import
through the console scripts, then the fidelity check (../shared/tools/count.py diff must be empty).

  .venv/bin/python benchmarks/bench_copy.py --preset small --workers 8 [--scope all|experiments]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
TOOLS = os.path.join(ROOT, "..", "shared", "tools")
BIN = os.path.dirname(sys.executable)

from tests.servers import MlflowServer, start_all  # noqa: E402

SCOPES = {
    "all": (["export-all"], ["import-all"]),
    "experiments": (["export-experiments", "--experiments", "all"], ["import-experiments"]),
}


def run(cmd, uri, env_extra=None):
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri, **(env_extra or {}))
    start = time.time()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.time() - start
    if res.returncode != 0:
        print(res.stdout[-3000:], res.stderr[-3000:], file=sys.stderr)
    return elapsed, res.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--scope", choices=sorted(SCOPES), default="all")
    ap.add_argument("--populate-args", default="", help="extra knobs for populate.py")
    args = ap.parse_args()

    base = tempfile.mkdtemp(prefix="bench-")
    src, dst = start_all([MlflowServer(base, "src"), MlflowServer(base, "dst")])
    try:
        t = time.time()
        subprocess.run([sys.executable, os.path.join(TOOLS, "populate.py"), "--tracking-uri", src.uri,
                        "--preset", args.preset] + args.populate_args.split(), check=True, capture_output=True)
        populate_s = time.time() - t
        out = os.path.join(base, "export")
        export_cmd, import_cmd = SCOPES[args.scope]
        workers = ["--workers", str(args.workers)]
        export_s, export_rc = run([os.path.join(BIN, export_cmd[0])] + export_cmd[1:] +
                                  ["--output-dir", out, "--export-deleted-runs", "--quiet"] + workers, src.uri)
        import_s, import_rc = run([os.path.join(BIN, import_cmd[0])] + import_cmd[1:] +
                                  ["--input-dir", out, "--quiet"] + workers, dst.uri)
        census = os.path.join(base, "census")
        subprocess.run([sys.executable, os.path.join(TOOLS, "count.py"), "compare", "--src", src.uri,
                        "--dst", dst.uri, "-o", census], capture_output=True)
        with open(f"{census}.src.json") as f:
            totals = json.load(f)["totals"]
        with open(f"{census}.diff.json") as f:
            sections = json.load(f)["sections"]
        differing = {k: v for k, v in sections.items() if v["missing_in_dst"] or v["extra_in_dst"] or v["changed"]}
        result = {"preset": args.preset, "scope": args.scope, "workers": args.workers, "runs": totals["runs"],
                  "metric_points": totals["metric_points"], "artifact_files": totals["artifact_files"],
                  "populate_s": round(populate_s, 1), "export_s": round(export_s, 1), "import_s": round(import_s, 1),
                  "export_runs_per_s": round(totals["runs"] / export_s, 2),
                  "import_runs_per_s": round(totals["runs"] / import_s, 2),
                  "exit_codes": [export_rc, import_rc], "differing_sections": sorted(differing)}
        print(json.dumps(result, indent=1))
    finally:
        src.stop()
        dst.stop()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
