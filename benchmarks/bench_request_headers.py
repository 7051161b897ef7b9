"""The client's CPU per request spent resolving MLflow's request headers, before and after a command marks the
modules MLflow's Databricks header provider looks for as absent (mlflow_export_import/common/absent_modules.py).

  .venv/bin/python benchmarks/bench_request_headers.py [--calls 1000]

No server is needed: the headers are resolved as before every request. Where `dbruntime` and IPython are not
installed, each resolution otherwise imports them in vain, searching sys.path under the import lock."""
import argparse
import logging
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def per_call_ms(resolve, calls):
    start = time.process_time()
    for _ in range(calls):
        resolve()
    return (time.process_time() - start) / calls * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--calls", type=int, default=1000)
    args = ap.parse_args()
    from mlflow.tracking.request_header.registry import resolve_request_headers
    logging.getLogger("mlflow").setLevel(logging.ERROR)  # as commands do: a plugin may warn on every call
    from mlflow_export_import.common.absent_modules import ASKED_BEFORE_EVERY_REQUEST, remember_absent
    before = per_call_ms(resolve_request_headers, args.calls)
    remember_absent()
    after = per_call_ms(resolve_request_headers, args.calls)
    marked = [n for n in ASKED_BEFORE_EVERY_REQUEST if sys.modules.get(n, 0) is None]
    print(f"CPU per request spent on headers: {before:.3f} ms before, {after:.3f} ms after "
          f"(marked absent: {', '.join(marked) or 'none'}); {args.calls} calls each")


if __name__ == "__main__":
    main()
