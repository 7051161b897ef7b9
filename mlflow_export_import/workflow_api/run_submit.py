"""Submit a one-time Databricks job run (Jobs API `runs/submit`) and wait until it ends.
`python -m mlflow_export_import.workflow_api.run_submit --profile PROFILE --spec-file run.json`
The exit code is 0 only when the run ends with result state SUCCESS."""
import json
import sys
import time

import click

from mlflow_export_import.client.rest_client import RestClient
from mlflow_export_import.common import MlflowExportImportException, UsageError
from mlflow_export_import.common.click_options import bool_option
from mlflow_export_import.common.logging_utils import get_logger

JOBS_API = "api/2.1"
TERMINAL_STATES = ("TERMINATED", "SKIPPED", "INTERNAL_ERROR")

_logger = get_logger(__name__)


def read_spec(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as ex:
        raise UsageError(f"--spec-file '{path}': {getattr(ex, 'strerror', None) or ex}")


def run_submit(spec, profile=None, sleep_seconds=5, timeout_seconds=sys.maxsize, verbose=False, client=None):
    """Submit the run and poll `runs/get` every sleep_seconds until it reaches a terminal state. Returns the last
    `runs/get` answer; a run still going after timeout_seconds raises."""
    client = client or RestClient(f"databricks://{profile}" if profile else "databricks", JOBS_API)
    run_id = client.post("jobs/runs/submit", spec)["run_id"]
    _logger.info(f"Submitted run {run_id}")
    deadline = time.time() + timeout_seconds
    while True:
        run = client.get("jobs/runs/get", {"run_id": run_id})
        state = run.get("state", {})
        if verbose:
            _logger.info(f"Run {run_id}: {state.get('life_cycle_state')} {state.get('result_state', '')}".rstrip())
        if state.get("life_cycle_state") in TERMINAL_STATES:
            return run
        if time.time() + sleep_seconds > deadline:
            raise MlflowExportImportException(f"Run {run_id} has not ended after {timeout_seconds} s (state "
                                              f"{state.get('life_cycle_state')})", http_status_code=504)
        time.sleep(sleep_seconds)


@click.command("run-submit")
@click.option("--profile", type=str, default=None, help="Databricks profile. Default: the default credentials.")
@click.option("--spec-file", type=str, required=True, help="JSON file of the runs/submit request.")
@click.option("--sleep-seconds", type=int, default=5, show_default=True, help="Seconds between two polls.")
@click.option("--timeout-seconds", type=int, default=sys.maxsize, help="Give up after this many seconds.")
@bool_option("--verbose", "Log the state at every poll.")
def main(profile, spec_file, sleep_seconds, timeout_seconds, verbose):
    """Submit a Databricks job run and wait for its end."""
    from mlflow_export_import.tools.tools_utils import tool_command
    with tool_command("run-submit", locals()) as report:
        run = run_submit(read_spec(spec_file), profile, sleep_seconds, timeout_seconds, verbose)
        state = run.get("state", {})
        report.facts["run"] = run.get("run_id")
        report.facts["state"] = f"{state.get('life_cycle_state')} {state.get('result_state', '')}".strip()
        if state.get("result_state") != "SUCCESS":
            report.failed("job_run", run.get("run_id"), state.get("state_message") or report.facts["state"])


if __name__ == "__main__":
    main()
