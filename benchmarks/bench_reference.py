"""Side-by-side benchmark of the reference tool and ours: export-all + import-all of one populated source.

The reference (PyPI `databricks-mlflow-export-import`, the public mlflow-export-import, 1.2.1 by default) is
installed into a throwaway virtual environment of its own (reused when it is there, with its own mlflow). One
source server is populated (../shared/tools/populate.py); the tools then run interleaved (reference, ours,
reference, ours, ...) through the counting proxy ../shared/tools/cproxy.py in front of the source and of a fresh
destination server for every import, at each chosen added latency. For every run it records the wall time of
export and of import, the requests by endpoint, the servers' CPU seconds, the peak RSS of the command's process
tree, the census diff of source and destination (../shared/tools/count.py) and the ratios ours / reference.

  .venv/bin/python benchmarks/bench_reference.py --preset tiny --latency-ms 0
  .venv/bin/python benchmarks/bench_reference.py --preset small --latency-ms 0,50 --out benchmarks/results/x.json
  .venv/bin/python benchmarks/bench_reference.py --preset small --only ours \\
      --reference-results benchmarks/results/reference-small.json --workers 8,16

Both tools run with their defaults, as a user would (`export-all --output-dir D`, `import-all --input-dir D`);
the exact command lines are printed and saved. Wall times depend on what else runs on the machine.
"""
import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
TOOLS = os.path.normpath(os.path.join(ROOT, "..", "shared", "tools"))
BIN = os.path.dirname(sys.executable)

from tests.servers import MlflowServer, free_port, start_all  # noqa: E402

try:
    import psutil
except ImportError:  # measured from /proc instead (Linux)
    psutil = None

REF_SPEC = "databricks-mlflow-export-import==1.2.1"
REF_VENV = "/tmp/bench-ref-venv"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
# Targets of issue 13 (ours / reference), checked in the summary.
TARGETS = {"req_per_run_export": 0.4, "req_per_run_import": 0.4, "wall_total_s_max_latency": 0.1,
           "server_cpu_per_run_s": 0.6}
RSS_TARGET_MIB = 300


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ process trees: CPU seconds and RSS
def _kids(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def tree_pids(pid):
    if psutil:
        try:
            root = psutil.Process(pid)
            return [pid] + [c.pid for c in root.children(recursive=True)]
        except psutil.Error:
            return []
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo += _kids(p)
    return pids


def _stat(pid):
    """(cpu seconds of the process and of its waited-for children, rss bytes), or None when it is gone."""
    if psutil:
        try:
            p = psutil.Process(pid)
            t = p.cpu_times()
            return t.user + t.system + t.children_user + t.children_system, p.memory_info().rss
        except psutil.Error:
            return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return sum(int(x) for x in fields[11:15]) / TICK, int(fields[21]) * PAGE


def tree_cpu_seconds(pid):
    return sum(s[0] for s in map(_stat, tree_pids(pid)) if s)


def tree_rss(pid):
    return sum(s[1] for s in map(_stat, tree_pids(pid)) if s)


def run_measured(cmd, env, cwd, log_path, timeout):
    """Run a command; wall time, exit code, peak RSS of its process tree (polled), CPU of the tree."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak = [0]
    with open(log_path, "wb") as out:
        t0 = time.time()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        done = threading.Event()

        def poll():
            while not done.is_set():
                peak[0] = max(peak[0], tree_rss(proc.pid))
                done.wait(0.1)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            rc = proc.wait()
            rc = f"timeout after {timeout}s"
        wall = time.time() - t0
        done.set()
        poller.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return {"wall_s": round(wall, 2), "rc": rc, "peak_rss_mib": round(peak[0] / MIB, 1),
            "client_cpu_s": round(cpu, 2)}


def tail(path, n=2500):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(0, f.tell() - n))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


# ------------------------------------------------------------------ counting proxy
class Proxy:
    def __init__(self, upstream, latency_ms, work_dir, name):
        self.port = free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(work_dir, f"proxy-{name}.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(TOOLS, "cproxy.py"), "--listen-port", str(self.port), "--upstream",
             upstream, "--latency-ms", str(latency_ms), "--out", os.path.join(work_dir, f"proxy-{name}.json")],
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 60
        while True:
            try:
                self.counts()
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"counting proxy did not start: {self.log.name}")
                time.sleep(0.2)

    def _call(self, method, path):
        req = urllib.request.Request(self.uri + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)

    def counts(self):
        return self._call("GET", "/__proxy/counts")

    def reset(self):
        self._call("POST", "/__proxy/reset")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# ------------------------------------------------------------------ the two tools
def clean_env(uri):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MLFLOW_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MLFLOW_TRACKING_URI"] = uri
    return env


def ensure_reference(venv, spec):
    """The reference in its own virtual environment (created and installed when missing); its versions."""
    py = os.path.join(venv, "bin", "python")
    name, _, want = spec.partition("==")
    if not os.path.exists(py):
        log(f"creating {venv}")
        base = getattr(sys, "_base_executable", None) or "python3"
        subprocess.run([base, "-m", "venv", venv], check=True)
    versions = _pip_versions(py, name)
    if not versions.get(name) or (want and versions[name] != want):
        log(f"installing {spec} into {venv} (a few minutes)")
        subprocess.run([py, "-m", "pip", "install", "-q", spec], check=True, env=clean_env(""))
        versions = _pip_versions(py, name)
    return py, versions


def _pip_versions(py, name):
    out = subprocess.run([py, "-m", "pip", "list", "--format", "json"], capture_output=True, text=True,
                         env=clean_env("")).stdout
    try:
        pkgs = {p["name"].lower(): p["version"] for p in json.loads(out or "[]")}
    except ValueError:
        pkgs = {}
    return {k: pkgs.get(k) for k in (name.lower(), "mlflow-skinny", "mlflow")}


def check_talks(py, uri):
    """The reference's own mlflow against our server: version and a search call."""
    code = ("import mlflow, sys; from mlflow import MlflowClient; c = MlflowClient(sys.argv[1]); "
            "print(mlflow.__version__, len(c.search_experiments()), len(c.search_registered_models()))")
    r = subprocess.run([py, "-c", code, uri], capture_output=True, text=True, env=clean_env(uri), timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"the reference's mlflow cannot talk to {uri}:\n{r.stderr[-2000:]}")
    ver, n_exp, n_models = r.stdout.split()
    return {"mlflow_version": ver, "experiments_seen": int(n_exp), "registered_models_seen": int(n_models)}


def accepts(script, option):
    r = subprocess.run([script, "--help"], capture_output=True, text=True, env=clean_env(""))
    return option in r.stdout


class Variant:
    def __init__(self, name, tool, bin_dir, export_extra=(), import_extra=(), report=False):
        self.name, self.tool, self.bin_dir = name, tool, bin_dir
        self.export_extra, self.import_extra, self.report = list(export_extra), list(import_extra), report

    def export_cmd(self, out_dir, report_dir):
        cmd = [os.path.join(self.bin_dir, "export-all"), "--output-dir", out_dir] + self.export_extra
        return cmd + (["--report", os.path.join(report_dir, "export-report.json")] if self.report else [])

    def import_cmd(self, in_dir, report_dir):
        cmd = [os.path.join(self.bin_dir, "import-all"), "--input-dir", in_dir] + self.import_extra
        return cmd + (["--report", os.path.join(report_dir, "import-report.json")] if self.report else [])


def shown(cmd, uri_name):
    return f"MLFLOW_TRACKING_URI=<{uri_name}> " + " ".join(cmd)


# ------------------------------------------------------------------ census
def census(uri, path):
    r = subprocess.run([sys.executable, os.path.join(TOOLS, "count.py"), "census", "--tracking-uri", uri,
                        "-o", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"census of {uri} failed:\n{r.stderr[-2000:]}")
    with open(path) as f:
        return json.load(f)["totals"]


def census_diff(src_path, dst_path, diff_path):
    subprocess.run([sys.executable, os.path.join(TOOLS, "count.py"), "diff", src_path, dst_path, "--json",
                    diff_path], capture_output=True, text=True, check=True)
    with open(diff_path) as f:
        rep = json.load(f)
    sections = {}
    for name, s in rep["sections"].items():
        if s["missing_in_dst"] or s["extra_in_dst"] or s["changed"]:
            sections[name] = {"src": s["src"], "dst": s["dst"], "missing": s["missing_in_dst"],
                              "missing_kinds": s["missing_kinds"], "extra": s["extra_in_dst"],
                              "changed": s["changed"],
                              "changed_fields": dict(list(s["changed_fields"].items())[:8])}
    only_deleted = all(v["extra"] == 0 and v["changed"] == 0 and set(v["missing_kinds"]) == {"lifecycle_stage=deleted"}
                       for v in sections.values())
    return {"empty": not sections, "empty_but_deleted_not_exported": only_deleted, "differing_sections": sections}


def diff_text(c):
    """One line: what the census diff says."""
    if c["empty"]:
        return "empty"
    parts = []
    for name, v in c["differing_sections"].items():
        bits = [f"{v['missing']} missing" + (" (deleted)" if set(v["missing_kinds"]) == {"lifecycle_stage=deleted"}
                                             else "")] if v["missing"] else []
        bits += [f"{v['extra']} extra"] if v["extra"] else []
        bits += [f"{v['changed']} changed: " + ", ".join(v["changed_fields"])] if v["changed"] else []
        parts.append(f"{name} {v['src']}->{v['dst']} ({'; '.join(bits)})")
    return ("only deleted objects missing (not exported by default): " if c.get("empty_but_deleted_not_exported")
            else "DIFFERS: ") + " | ".join(parts)


# ------------------------------------------------------------------ one measurement
def measure(variant, latency, rep, src, src_proxy, src_census_path, base, template_db, timeout, keep):
    tag = f"{variant.name}-{latency}ms-{rep}"
    work = os.path.join(base, tag)
    os.makedirs(work)
    export_dir = os.path.join(work, "export")
    rec = {"variant": variant.name, "tool": variant.tool, "latency_ms": latency, "repeat": rep,
           "loadavg_before": [round(x, 2) for x in os.getloadavg()]}

    # export: source through its proxy
    cmd = variant.export_cmd(export_dir, work)
    src_proxy.reset()
    cpu0 = tree_cpu_seconds(src.proc.pid)
    log(f"{tag}: export ...")
    res = run_measured(cmd, clean_env(src_proxy.uri), work, os.path.join(work, "export.log"), timeout)
    res["src_server_cpu_s"] = round(tree_cpu_seconds(src.proc.pid) - cpu0, 2)
    counts = src_proxy.counts()
    res.update(command=shown(cmd, "source proxy"), requests=counts["total"], by_endpoint=counts["by_endpoint"],
               http_status=counts["status"])
    if res["rc"] != 0:
        res["log_tail"] = tail(os.path.join(work, "export.log"))
    rec["export"] = res
    log(f"{tag}: export {res['wall_s']} s, {res['requests']} requests, rc {res['rc']}")

    # import: a fresh destination server and its own proxy
    dst = MlflowServer(work, "dst")
    start_all([dst], template_db=template_db)
    dst_proxy = Proxy(dst.uri, latency, work, "dst")
    try:
        cmd = variant.import_cmd(export_dir, work)
        cpu0 = tree_cpu_seconds(dst.proc.pid)
        log(f"{tag}: import ...")
        res = run_measured(cmd, clean_env(dst_proxy.uri), work, os.path.join(work, "import.log"), timeout)
        res["dst_server_cpu_s"] = round(tree_cpu_seconds(dst.proc.pid) - cpu0, 2)
        counts = dst_proxy.counts()
        res.update(command=shown(cmd, "destination proxy"), requests=counts["total"],
                   by_endpoint=counts["by_endpoint"], http_status=counts["status"])
        if res["rc"] != 0:
            res["log_tail"] = tail(os.path.join(work, "import.log"))
        rec["import"] = res
        log(f"{tag}: import {res['wall_s']} s, {res['requests']} requests, rc {res['rc']}")
        dst_path = os.path.join(work, "census.dst.json")
        totals = census(dst.uri, dst_path)
        rec["census"] = census_diff(src_census_path, dst_path, os.path.join(work, "census.diff.json"))
        rec["census"]["dst_totals"] = totals
    finally:
        dst_proxy.stop()
        dst.stop()
    for name in ("export", "import"):
        for rpt in (f"{name}-report.json",):
            p = os.path.join(work, rpt)
            if os.path.exists(p):
                with open(p) as f:
                    rec[name]["report_counts"] = json.load(f).get("counts")
    rec["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    derive(rec)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return rec


def derive(rec):
    runs = rec["census"]["dst_totals"]["runs"]
    e, i = rec["export"], rec["import"]
    cpu = e["src_server_cpu_s"] + i["dst_server_cpu_s"]
    rec["derived"] = {
        "runs_copied": runs,
        "wall_total_s": round(e["wall_s"] + i["wall_s"], 2),
        "req_per_run_export": round(e["requests"] / runs, 2) if runs else None,
        "req_per_run_import": round(i["requests"] / runs, 2) if runs else None,
        "server_cpu_s": round(cpu, 2),
        "server_cpu_per_run_s": round(cpu / runs, 4) if runs else None,
        "peak_rss_mib": max(e["peak_rss_mib"], i["peak_rss_mib"]),
        "ok": e["rc"] == 0 and i["rc"] == 0,
    }


# ------------------------------------------------------------------ summary
SUMMARY_KEYS = ["runs_copied", "wall_total_s", "export_wall_s", "import_wall_s", "export_requests",
                "import_requests", "req_per_run_export", "req_per_run_import", "src_server_cpu_s",
                "dst_server_cpu_s", "server_cpu_per_run_s", "export_peak_rss_mib", "import_peak_rss_mib",
                "peak_rss_mib"]


def flat(rec):
    d = dict(rec["derived"])
    for phase in ("export", "import"):
        d[f"{phase}_wall_s"] = rec[phase]["wall_s"]
        d[f"{phase}_requests"] = rec[phase]["requests"]
        d[f"{phase}_peak_rss_mib"] = rec[phase]["peak_rss_mib"]
    d["src_server_cpu_s"] = rec["export"]["src_server_cpu_s"]
    d["dst_server_cpu_s"] = rec["import"]["dst_server_cpu_s"]
    return d


def summarize(measurements):
    """Median over repeats, per (variant, latency)."""
    groups = {}
    for rec in measurements:
        groups.setdefault((rec["variant"], rec["latency_ms"]), []).append(rec)
    out = {}
    for (variant, latency), recs in groups.items():
        flats = [flat(r) for r in recs]
        row = {"repeats": len(recs), "all_ok": all(f["ok"] for f in flats),
               "census_diff_empty": [r["census"]["empty"] for r in recs],
               "census_diff_empty_but_deleted_not_exported": [r["census"].get("empty_but_deleted_not_exported")
                                                              for r in recs],
               "census_diff": [diff_text(r["census"]) for r in recs],
               "differing_sections": sorted({s for r in recs for s in r["census"]["differing_sections"]})}
        for k in SUMMARY_KEYS:
            vals = [f[k] for f in flats if f.get(k) is not None]
            row[k] = round(statistics.median(vals), 4) if vals else None
        out.setdefault(variant, {})[str(latency)] = row
    return out


def ratios(summary, ref_name="reference"):
    ref = summary.get(ref_name, {})
    out = {}
    for variant, by_lat in summary.items():
        if variant == ref_name:
            continue
        for lat, row in by_lat.items():
            r = ref.get(lat)
            if not r:
                continue
            out.setdefault(variant, {})[lat] = {
                k: round(row[k] / r[k], 3) if row.get(k) is not None and r.get(k) else None
                for k in ("req_per_run_export", "req_per_run_import", "wall_total_s", "export_wall_s",
                          "import_wall_s", "server_cpu_per_run_s", "peak_rss_mib")}
    return out


def headline(summary, rat, ref_name="reference"):
    """The figures issue 13 asks for, per variant of ours: requests and CPU at the lowest latency, wall time at
    the highest, RSS anywhere."""
    out = {}
    for variant, by_lat in rat.items():
        lats = sorted(by_lat, key=float)
        lo, hi = lats[0], lats[-1]
        h = {"req_per_run_export": by_lat[lo]["req_per_run_export"],
             "req_per_run_import": by_lat[lo]["req_per_run_import"],
             "server_cpu_per_run_s": by_lat[lo]["server_cpu_per_run_s"],
             "wall_total_s_max_latency": by_lat[hi]["wall_total_s"], "max_latency_ms": float(hi),
             "peak_rss_mib_ours": max(r["peak_rss_mib"] for r in summary[variant].values()),
             "peak_rss_ratio": max(r["peak_rss_mib"] for r in by_lat.values() if r["peak_rss_mib"])}
        h["targets_met"] = {k: (h[k] is not None and h[k] <= t) for k, t in TARGETS.items()}
        if float(hi) < 50:  # the wall-time target is for 50 ms added per request
            h["targets_met"]["wall_total_s_max_latency"] = None
        h["targets_met"]["peak_rss_mib_ours"] = h["peak_rss_mib_ours"] <= RSS_TARGET_MIB
        out[variant] = h
    return out


def print_summary(result, out=sys.stdout):
    w = lambda s="": print(s, file=out)  # noqa: E731
    summary, rat = result["summary"], result["ratios"]
    variants = list(summary)
    w(f"\n== {result['meta']['preset']} preset: {result['meta']['source_totals'].get('runs')} runs in the source")
    for v, cmds in result["meta"]["commands"].items():
        w(f"  {v}: {cmds['export']}")
        w(f"  {' ' * len(v)}  {cmds['import']}")
    lats = sorted({lat for v in summary.values() for lat in v}, key=float)
    for lat in lats:
        cols = [v for v in variants if lat in summary[v]]
        w(f"\n-- added latency {lat} ms (median of repeats)")
        w(f"  {'':24s}" + "".join(f"{c:>22s}" for c in cols)
          + "".join(f"{c + '/ref':>22s}" for c in cols if c in rat and lat in rat[c]))
        for k in SUMMARY_KEYS:
            cells = "".join(f"{str(summary[c][lat].get(k)):>22s}" for c in cols)
            cells += "".join(f"{str(rat[c][lat].get(k, '')):>22s}" for c in cols if c in rat and lat in rat[c])
            w(f"  {k:24s}{cells}")
        for c in cols:
            w(f"  census diff, {c}: {summary[c][lat]['census_diff'][0]}")
    for phase in ("export", "import"):
        _print_endpoints(result["measurements"], phase, w)
    if result["meta"].get("skipped"):
        w(f"\nskipped: {result['meta']['skipped']}")
    w(f"\nnote: {result['meta']['noise']}")
    for v, h in result.get("headline", {}).items():
        w(f"\n== {v} / reference (issue 13 targets): {json.dumps(h)}")


def _print_endpoints(measurements, phase, w):
    """Requests by endpoint of the first repeat at the lowest latency, per variant."""
    firsts = {}
    for rec in sorted(measurements, key=lambda r: (r["latency_ms"], r["repeat"])):
        firsts.setdefault(rec["variant"], rec)
    if not firsts:
        return
    names = list(firsts)
    total = {}
    for rec in firsts.values():
        for k, n in rec[phase]["by_endpoint"].items():
            total[k] = total.get(k, 0) + n
    w(f"\n-- {phase} requests by endpoint (latency {min(r['latency_ms'] for r in firsts.values())} ms)")
    w(f"  {'':60s}" + "".join(f"{n:>14s}" for n in names))
    for k in sorted(total, key=lambda k: -total[k])[:25]:
        w(f"  {k[:60]:60s}" + "".join(f"{firsts[n][phase]['by_endpoint'].get(k, 0):>14d}" for n in names))


# ------------------------------------------------------------------ main
def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small", help="populate.py preset (tiny, small, medium, large)")
    ap.add_argument("--populate-args", default="", help="extra knobs for populate.py")
    ap.add_argument("--latency-ms", default="0,50", help="comma list of latencies the proxies add (default 0,50)")
    ap.add_argument("--repeats", type=int, default=1, help="measurements per tool and latency (interleaved)")
    ap.add_argument("--only", choices=["both", "ours", "reference"], default="both")
    ap.add_argument("--workers", default="",
                    help="comma list: also run ours with --workers N for each (ours with its defaults always runs)")
    ap.add_argument("--engine", choices=["spark"], help="also run ours with --engine spark (skipped when "
                    "our export-all does not accept --engine)")
    ap.add_argument("--export-deleted-runs", action="store_true",
                    help="pass --export-deleted-runs True to both exports (default: the tools' defaults)")
    ap.add_argument("--reference-results", help="JSON of an earlier run: reuse its reference figures instead of "
                    "running the reference")
    ap.add_argument("--reference-spec", default=REF_SPEC, help=f"pip requirement of the reference ({REF_SPEC})")
    ap.add_argument("--reference-venv", default=REF_VENV, help=f"its virtual environment ({REF_VENV}; reused)")
    ap.add_argument("--timeout", type=int, default=7200, help="seconds allowed to one export or import")
    ap.add_argument("--out", help="write everything as JSON here")
    ap.add_argument("--note", default="", help="free text saved in the JSON (e.g. what else ran on the machine)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (exports, logs, censuses)")
    return ap.parse_args(argv)


def build_variants(args, meta):
    variants = []
    deleted = ["--export-deleted-runs", "True"] if args.export_deleted_runs else []
    if args.only in ("both", "reference") and not args.reference_results:
        py, versions = ensure_reference(args.reference_venv, args.reference_spec)
        meta["reference"] = {"spec": args.reference_spec, "venv": args.reference_venv, "versions": versions}
        variants.append(Variant("reference", "reference", os.path.dirname(py), deleted))
    if args.only in ("both", "ours"):
        variants.append(Variant("ours", "ours", BIN, deleted, report=True))
        for n in filter(None, (x.strip() for x in args.workers.split(","))):
            w = ["--workers", str(int(n))]
            variants.append(Variant(f"ours-w{n}", "ours", BIN, deleted + w, w, report=True))
        if args.engine:
            exp_ok = accepts(os.path.join(BIN, "export-all"), "--engine")
            imp_ok = accepts(os.path.join(BIN, "import-all"), "--engine")
            if exp_ok:
                e = ["--engine", args.engine]
                variants.append(Variant(f"ours-{args.engine}", "ours", BIN, deleted + e, e if imp_ok else [],
                                        report=True))
            else:
                meta["skipped"] = f"--engine {args.engine}: our export-all does not accept --engine"
                log(meta["skipped"])
    return variants


def load_reference(path, preset, meta):
    with open(path) as f:
        old = json.load(f)
    if old["meta"].get("preset") != preset:
        log(f"WARNING: {path} was measured on preset {old['meta'].get('preset')}, this run is {preset}")
    meta["reference"] = dict(old["meta"].get("reference", {}), reused_from=path,
                             reused_measured_at=old["meta"].get("started"))
    meta["commands"]["reference"] = old["meta"]["commands"].get("reference")
    return [dict(r, reused=True) for r in old["measurements"] if r["tool"] == "reference"]


def main(argv=None):
    args = parse_args(argv)
    latencies = [float(x) if "." in x else int(x) for x in args.latency_ms.split(",") if x.strip()]
    meta = {"preset": args.preset, "populate_args": args.populate_args, "latencies_ms": latencies,
            "repeats": args.repeats, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                        "python": platform.python_version(), "loadavg_at_start": os.getloadavg()},
            "noise": "Wall times and CPU seconds are from a machine shared with other work (2 cores); compare "
                     "requests, which do not depend on load, before times. " + args.note,
            "commands": {}, "tools": {}}
    result = {"meta": meta, "measurements": []}
    measurements = result["measurements"]
    if args.reference_results and args.only != "reference":
        measurements += load_reference(args.reference_results, args.preset, meta)
    variants = build_variants(args, meta)
    ours_ver = subprocess.run([os.path.join(BIN, "export-all"), "--version"], capture_output=True, text=True)
    meta["tools"]["ours"] = (ours_ver.stdout or ours_ver.stderr).strip()[:300]

    def save():
        result["summary"] = summarize(measurements)
        result["ratios"] = ratios(result["summary"])
        result["headline"] = headline(result["summary"], result["ratios"])
        if args.out:
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1, default=str)

    base = tempfile.mkdtemp(prefix="bench-ref-")
    src = MlflowServer(base, "src")
    empty = MlflowServer(base, "template")
    start_all([src, empty])
    try:
        empty.stop()
        template_db = os.path.join(base, "template.db")
        shutil.copy(os.path.join(empty.dir, "mlflow.db"), template_db)
        shutil.rmtree(empty.dir, ignore_errors=True)
        log(f"populating the source with preset {args.preset} ...")
        t = time.time()
        pop = subprocess.run([sys.executable, os.path.join(TOOLS, "populate.py"), "--tracking-uri", src.uri,
                              "--preset", args.preset] + args.populate_args.split(), capture_output=True, text=True)
        if pop.returncode != 0:
            raise RuntimeError(f"populate.py failed:\n{pop.stderr[-3000:]}")
        meta["populate_s"] = round(time.time() - t, 1)
        src_census = os.path.join(base, "census.src.json")
        meta["source_totals"] = census(src.uri, src_census)
        log(f"source: {json.dumps(meta['source_totals'])}")
        if any(v.tool == "reference" for v in variants):
            meta["reference"]["talks_to_our_server"] = check_talks(
                os.path.join(args.reference_venv, "bin", "python"), src.uri)
            meta["tools"]["reference"] = meta["reference"]["versions"]
        for v in variants:
            meta["commands"][v.name] = {"export": shown(v.export_cmd("DIR", "WORK"), "source proxy"),
                                        "import": shown(v.import_cmd("DIR", "WORK"), "destination proxy")}
        for latency in latencies:
            src_proxy = Proxy(src.uri, latency, base, f"src-{latency}")
            try:
                for rep in range(args.repeats):
                    for v in variants:
                        measurements.append(measure(v, latency, rep, src, src_proxy, src_census, base,
                                                    template_db, args.timeout, args.keep))
                        save()
            finally:
                src_proxy.stop()
        meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
        save()
        print_summary(result)
        if args.out:
            log(f"wrote {args.out}")
    finally:
        src.stop()
        if args.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
