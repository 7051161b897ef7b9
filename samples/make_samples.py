"""Regenerate samples/: what every export command of this tool writes, from one small deterministic workload.

    .venv/bin/python samples/make_samples.py          # a throwaway `mlflow server`; rewrites samples/export-*, copy-*
    .venv/bin/python samples/make_samples.py --tracking-uri http://localhost:5000 --output-dir /tmp/samples

The workload (fixed names, times, values; only ids differ from one generation to the next): experiment
`sklearn_wine` with a run `train` (params, a metric history, tags, a dataset input, artifacts), a parent run
`tuning` with a child `trial-1`, a logged model `wine_model` made by `train`, a trace, a registered model
`wine_model` (version 1 Staging, version 2 Production with the alias `champion`), a prompt `greet` (a text and a
chat version, alias `production`) and an evaluation dataset `wine_eval`. Then `copy-run` and `copy-model-version`
copy into `sklearn_wine_copy` / `wine_model_copy`, whose exports show the lineage tags a copy writes.

tests/test_samples.py regenerates them into a temporary directory and fails when the format drifts.
"""
import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings

SAMPLES_DIR = os.path.dirname(os.path.abspath(__file__))
T0 = 1_735_689_600_000  # 2025-01-01 00:00:00 UTC
EXPERIMENT, MODEL, PROMPT, DATASET = "sklearn_wine", "wine_model", "greet", "wine_eval"
COPY_EXPERIMENT, COPY_MODEL = "sklearn_wine_copy", "wine_model_copy"


def generate(output_dir, tracking_uri):
    """Make the workload in the (empty) store of tracking_uri and write each command's export under output_dir."""
    from mlflow import MlflowClient
    from mlflow_export_import.common.cli_utils import quiet_mlflow
    quiet_mlflow()
    logging.getLogger("mlflow").setLevel(logging.ERROR)  # as the console scripts have it
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    ids = make_workload(client, tracking_uri)
    for name, args in export_commands(ids):
        run_command(name, args + ["--output-dir", os.path.join(output_dir, name)], tracking_uri)
    run_command("copy-run", ["--run-id", ids["train"], "--experiment-name", COPY_EXPERIMENT,
                             "--src-mlflow-uri", tracking_uri, "--dst-mlflow-uri", tracking_uri], tracking_uri)
    run_command("copy-model-version", ["--src-model", MODEL, "--src-version", "2", "--dst-model", COPY_MODEL,
                                       "--src-registry-uri", tracking_uri, "--dst-registry-uri", tracking_uri,
                                       "--dst-experiment-name", COPY_EXPERIMENT, "--copy-lineage-tags", "True",
                                       "--copy-stages-and-aliases", "True"], tracking_uri)
    copy_exp = client.get_experiment_by_name(COPY_EXPERIMENT).experiment_id
    [copied_run] = client.search_runs([copy_exp], f"tags.`mlflow_exim.import.src_run_id` = '{ids['train']}'")
    run_command("export-run", ["--run-id", copied_run.info.run_id,
                               "--output-dir", os.path.join(output_dir, "copy-run")], tracking_uri)
    run_command("export-model", ["--model", COPY_MODEL, "--output-dir", os.path.join(output_dir, "copy-model-version")],
                tracking_uri)


def export_commands(ids):
    return [
        ("export-all", []),
        ("export-run", ["--run-id", ids["train"]]),
        ("export-experiment", ["--experiment", EXPERIMENT]),
        ("export-experiments", ["--experiments", EXPERIMENT]),
        ("export-model", ["--model", MODEL]),
        ("export-models", ["--models", MODEL]),
        ("export-model-version", ["--model", MODEL, "--version", "2"]),
        ("export-logged-model", ["--model-id", ids["logged_model"]]),
        ("export-logged-models", ["--experiment-ids", EXPERIMENT]),
        ("export-trace", ["--request-id", ids["trace"]]),
        ("export-traces", ["--experiment-ids", EXPERIMENT]),
        ("export-prompt", ["--prompt-name", PROMPT, "--prompt-version", "2"]),
        ("export-prompts", ["--prompts", "all"]),
        ("export-evaluation-dataset", ["--dataset-name", DATASET]),
        ("export-evaluation-datasets", ["--evaluation-datasets", "all"]),
    ]


def run_command(name, args, tracking_uri):
    """The console script's own code, in this process (as `mlflow-export-import NAME ARGS`)."""
    from mlflow_export_import.cli import cli
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = tracking_uri
    try:
        cli.main([name, "--quiet"] + args, prog_name="mlflow-export-import", standalone_mode=False)
    except SystemExit as ex:
        if ex.code:
            raise RuntimeError(f"{name} {' '.join(args)} exited {ex.code}") from None
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved


# ---------------------------------------------------------------------------------------------------- workload

def make_workload(client, tracking_uri):
    exp_id = client.create_experiment(EXPERIMENT, tags={"team": "ml", "mlflow.note.content": "Wine quality models"})
    train = make_run(client, exp_id, "train", T0, dataset=True)
    tuning = make_run(client, exp_id, "tuning", T0 + 60_000)
    trial = make_run(client, exp_id, "trial-1", T0 + 61_000, parent_id=tuning)
    ids = {"train": train, "logged_model": make_logged_model(client, exp_id, train),
           "trace": make_trace(tracking_uri, exp_id, train)}
    make_registered_model(client, train, trial)
    make_prompt(client)
    make_dataset(client, exp_id)
    return ids


def make_run(client, exp_id, name, start, parent_id=None, dataset=False):
    from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
    tags = {"mlflow.user": "alice", "mlflow.source.name": "train.py"}
    if parent_id:
        tags["mlflow.parentRunId"] = parent_id
    run_id = client.create_run(exp_id, start_time=start, tags=tags, run_name=name).info.run_id
    client.log_batch(run_id, params=[Param("alpha", "0.5"), Param("l1_ratio", "0.1")],
                     metrics=[Metric("rmse", round(0.9 - 0.1 * step, 2), start + 1000 * step, step)
                              for step in range(3)],
                     tags=[RunTag("purpose", "sample")])
    if dataset:
        client.log_inputs(run_id, [DatasetInput(
            Dataset("wine", "a1b2c3d4", "local", '{"uri": "data/wine.csv"}', '{"columns": ["acidity", "quality"]}',
                    '{"num_rows": 1599}'), [InputTag("mlflow.data.context", "training")])])
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "model"))
        write(os.path.join(d, "model", "MLmodel"), f"artifact_path: model\nflavors: {{}}\nrun_id: {run_id}\n")
        write(os.path.join(d, "model", "model.pkl"), bytes(range(64)))
        write(os.path.join(d, "notes.txt"), f"{name}: trained on wine.csv\n")
        client.log_artifacts(run_id, d)
    client.set_terminated(run_id, "FINISHED", start + 30_000)
    return run_id


def make_logged_model(client, exp_id, run_id):
    from mlflow.entities import LoggedModelOutput, Metric
    lm = client.create_logged_model(experiment_id=exp_id, name=MODEL, source_run_id=run_id, model_type="sklearn",
                                    tags={"owner": "alice"}, params={"alpha": "0.5"})
    with tempfile.TemporaryDirectory() as d:
        write(os.path.join(d, "MLmodel"), f"artifact_path: model\nflavors: {{}}\nmodel_id: {lm.model_id}\n"
                                          f"run_id: {run_id}\n")
        write(os.path.join(d, "model.pkl"), bytes(range(64)))
        client.log_model_artifacts(lm.model_id, d)
    client.finalize_logged_model(lm.model_id, "READY")
    client.log_batch(run_id, metrics=[Metric("accuracy", 0.93, T0 + 5000, 0, model_id=lm.model_id,
                                             dataset_name="wine", dataset_digest="a1b2c3d4", run_id=run_id)],
                     synchronous=True)
    client.log_outputs(run_id, [LoggedModelOutput(lm.model_id, 0)])
    return lm.model_id


def make_trace(tracking_uri, exp_id, run_id):
    """Traces are written by MLflow's fluent API only, which uses the global tracking URI: set, then put back."""
    import mlflow
    from mlflow.entities.trace_location import MlflowExperimentLocation
    saved_uri, saved_async = mlflow.get_tracking_uri(), os.environ.get("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING")
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_span(name="predict", span_type="CHAIN", attributes={"model": MODEL},
                               trace_destination=MlflowExperimentLocation(exp_id)) as root:
            root.set_inputs({"acidity": 7.4})
            with mlflow.start_span(name="preprocess", span_type="PARSER") as child:
                child.set_outputs({"scaled": [0.1, 0.2]})
            root.set_outputs({"quality": 5})
            mlflow.update_current_trace(tags={"env": "sample"}, metadata={"mlflow.sourceRun": run_id})
        return root.trace_id
    finally:
        mlflow.set_tracking_uri(saved_uri)
        if saved_async is None:
            os.environ.pop("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", None)
        else:
            os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = saved_async


def make_registered_model(client, train, trial):
    client.create_registered_model(MODEL, tags={"domain": "wine"}, description="Predicts wine quality")
    for run_id, description in ((train, "first model"), (trial, "tuned")):
        client.create_model_version(MODEL, f"runs:/{run_id}/model", run_id, tags={"data": "wine.csv"},
                                    description=description)
    with warnings.catch_warnings():  # registry stages are deprecated in MLflow; the sample shows them anyway
        warnings.simplefilter("ignore", FutureWarning)
        client.transition_model_version_stage(MODEL, "1", "Staging")
        client.transition_model_version_stage(MODEL, "2", "Production")
    client.set_registered_model_alias(MODEL, "champion", "2")


def make_prompt(client):
    client.create_prompt(PROMPT, description="Greets a user", tags={"team": "ml"})
    client.create_prompt_version(PROMPT, "Hello {{name}}!", description="first", tags={"author": "alice"})
    client.create_prompt_version(PROMPT, [{"role": "system", "content": "You are {{style}}."},
                                          {"role": "user", "content": "Greet {{name}}."}], description="chat")
    client.set_prompt_alias(PROMPT, "production", 2)


def make_dataset(client, exp_id):
    store = client._tracking_client.store  # evaluation datasets have no MlflowClient methods yet
    ds = store.create_dataset(DATASET, tags={"purpose": "eval"}, experiment_ids=[exp_id])
    store.upsert_dataset_records(ds.dataset_id, [
        {"inputs": {"acidity": 7.4}, "expectations": {"quality": 5}, "source": {"source_type": "HUMAN",
                                                                                "source_data": {"annotator": "bob"}}},
        {"inputs": {"acidity": 7.8}, "expectations": {"quality": 6}}])


def write(path, content):
    with open(path, "wb" if isinstance(content, bytes) else "w") as f:
        f.write(content)


# ---------------------------------------------------------------------------------------------------- main

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(work_dir):
    """A throwaway `mlflow server` (SQLite, proxied artifacts): its URIs are those a user's server has."""
    import requests
    port = free_port()
    mlflow_bin = os.path.join(os.path.dirname(sys.executable), "mlflow")
    proc = subprocess.Popen([mlflow_bin, "server", "--backend-store-uri", f"sqlite:///{work_dir}/mlflow.db",
                             "--artifacts-destination", os.path.join(work_dir, "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{uri}/health", timeout=2).status_code == 200:
                return proc, uri
        except requests.RequestException:
            time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGTERM)
    raise RuntimeError("mlflow server did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tracking-uri", help="An empty tracking server or store (default: a throwaway server)")
    parser.add_argument("--output-dir", default=SAMPLES_DIR, help="Default: this folder (its samples are replaced)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        proc, uri = (None, args.tracking_uri) if args.tracking_uri else start_server(work)
        staged = os.path.join(work, "samples")
        try:
            generate(staged, uri)
        finally:
            if proc:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(30)
        for name in sorted(os.listdir(staged)):
            shutil.rmtree(os.path.join(args.output_dir, name), ignore_errors=True)
            shutil.copytree(os.path.join(staged, name), os.path.join(args.output_dir, name))
            print(f"wrote {os.path.join(args.output_dir, name)}")


if __name__ == "__main__":
    main()
