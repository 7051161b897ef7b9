"""Test environments for the platform paths: two fake Databricks workspaces with their Unity Catalog registries
(tests/fakes), and helpers that fill a workspace as a Databricks user would (through the real MLflow client and
databricks:// URIs) and check what reached each workspace."""
import os
import threading
from contextlib import contextmanager

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.models import infer_signature

from tests.env import kept_environ
from tests.fakes.databricks_workspace import STORAGE_PREFIX, FakeWorkspace, write_databrickscfg
from tests.fakes.s3 import DUMMY_AWS_ENV
from tests.fakes.unity_catalog import FakeUnityCatalog

USER = "first.last@mycompany.com"
SRC_TOKEN = "dapi-src-workspace-token"
DST_TOKEN = "dapi-dst-workspace-token"


class DatabricksEnv:
    def __init__(self, servers_dir, moto_s3):
        self.dir = os.path.join(servers_dir, "databricks")
        self.moto = moto_s3
        self.src_uc = FakeUnityCatalog("s3://uc-src/metastore", catalogs={"dev": ["models"], "main": ["default"]},
                                       s3_endpoint_url=moto_s3.url)
        self.dst_uc = FakeUnityCatalog("s3://uc-dst/metastore", catalogs={"prod": ["models"], "dev": ["models"],
                                                                         "main": ["default"]},
                                       s3_endpoint_url=moto_s3.url, ready_delay=1.0)
        self.src = FakeWorkspace(self.dir, "ws-src", SRC_TOKEN, org_id="1111111111111111", uc_registry=self.src_uc,
                                 user_name=USER)
        self.dst = FakeWorkspace(self.dir, "ws-dst", DST_TOKEN, org_id="2222222222222222", uc_registry=self.dst_uc,
                                 user_name=USER)
        self.config_file = os.path.join(self.dir, "databrickscfg")
        self.bulk = None

    def bulk_pair(self):
        """Two more workspaces, empty until a test fills the first: for whole-workspace copies compared by census."""
        if self.bulk is None:
            self.bulk = (FakeWorkspace(self.dir, "ws-bulk-src", "dapi-bulk-src", org_id="3333333333333333",
                                       user_name=USER),
                         FakeWorkspace(self.dir, "ws-bulk-dst", "dapi-bulk-dst", org_id="4444444444444444",
                                       user_name=USER))
            for ws in self.bulk:
                ws.launch()
            for ws in self.bulk:
                ws.wait_healthy()
            self._write_config()
        return self.bulk

    def _write_config(self):
        profiles = {"src-ws": self.src, "test-env": self.src, "dev-env": self.src, "dst-ws": self.dst,
                    "prod-env": self.dst}
        if self.bulk:
            profiles.update({"bulk-src": self.bulk[0], "bulk-dst": self.bulk[1]})
        write_databrickscfg(self.config_file, profiles)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        for bucket in ("uc-src", "uc-dst"):
            self.moto.create_bucket(bucket)
        for ws in (self.src, self.dst):
            ws.launch()
        for ws in (self.src, self.dst):
            ws.wait_healthy()
        self._write_config()
        return self

    def all_workspaces(self):
        return (self.src, self.dst) + tuple(self.bulk or ())

    def stop(self):
        for ws in self.all_workspaces():
            ws.stop()

    def client_env(self):
        return {"MLFLOW_S3_ENDPOINT_URL": self.moto.url, **DUMMY_AWS_ENV}

    def workspaces(self):
        return {"src": self.src, "dst": self.dst}

    def foreign_tokens(self):
        """Requests that reached a workspace with another workspace's token (or none): cross-talk."""
        bad = []
        for ws in self.all_workspaces():
            for r in ws.requests:
                if r["path"].startswith(("/.well-known/", STORAGE_PREFIX)):
                    continue  # no token by design: the host probe, and signed storage URLs
                if r.get("token") != ws.token:
                    bad.append((ws.name, r["method"], r["path"], r.get("token"), r["status"]))
        return bad

    def clear_requests(self):
        for ws in self.all_workspaces():
            ws.clear_requests()


@contextmanager
def acting_as(profile, registry_scheme="databricks"):
    """MLflow's fluent API and its Databricks artifact repository working for `profile` (test set-up only: the
    tool itself never changes these)."""
    with kept_environ(("DATABRICKS_CONFIG_PROFILE", "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI",
                       "MLFLOW_EXPERIMENT_ID")):
        os.environ["DATABRICKS_CONFIG_PROFILE"] = profile
        mlflow.set_tracking_uri(f"databricks://{profile}")
        mlflow.set_registry_uri(f"{registry_scheme}://{profile}")
        try:
            yield MlflowClient(f"databricks://{profile}", registry_uri=f"{registry_scheme}://{profile}")
        finally:
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)


class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


_model_dirs = {}
_model_lock = threading.Lock()


def model_dir(base_dir, with_signature=True):
    """A small pyfunc model saved once per session (with or without a signature), to log as run artifacts."""
    key = (base_dir, with_signature)
    with _model_lock:
        if key not in _model_dirs:
            path = os.path.join(base_dir, "model-sig" if with_signature else "model-nosig")
            frame = pd.DataFrame({"x": [1.0, 2.0]})
            signature = infer_signature(frame, frame) if with_signature else None
            mlflow.pyfunc.save_model(path, python_model=Echo(), signature=signature, pip_requirements=[])
            _model_dirs[key] = path
        return _model_dirs[key]


def make_run_with_model(client, experiment_id, base_dir, name, with_signature=True, metrics=3, parent_run_id=None):
    """A finished run with params, a metric history, tags, a text artifact and a model under `model/`."""
    tags = {"team": "ml", "mlflow.runName": name}
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(experiment_id, tags=tags)
    run_id = run.info.run_id
    client.log_param(run_id, "alpha", "0.5")
    for step in range(metrics):
        client.log_metric(run_id, "rmse", 1.0 / (step + 1), step=step, timestamp=1_700_000_000_000 + step)
    client.log_text(run_id, f"notes of {name}", "notes/readme.txt")
    client.log_artifacts(run_id, model_dir(base_dir, with_signature), "model")
    client.set_terminated(run_id)
    return run_id


def census(count_tool, profile, artifact_hash=True):
    """count.py's census of a workspace (it sets MLflow's global URIs; its artifact reads need the profile in
    DATABRICKS_CONFIG_PROFILE, pitfall 1 of the research note), everything put back afterwards."""
    with acting_as(profile):
        return count_tool.Census(f"databricks://{profile}", threads=4, artifact_hash=artifact_hash).build()


def census_problems(count_tool, src, dst):
    report = count_tool.diff(src, dst)
    return {name: {k: sec[k] for k in ("src", "dst", "missing_examples", "extra_examples", "changed_fields",
                                       "changed_examples")}
            for name, sec in report["sections"].items()
            if sec["missing_in_dst"] or sec["extra_in_dst"] or sec["changed"]}


def experiment_path(name):
    return f"/Users/{USER}/{name}"
