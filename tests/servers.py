"""Real `mlflow server` processes on 127.0.0.1: SQLite backend, proxied artifacts, free ports."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import requests
from mlflow import MlflowClient

MLFLOW_BIN = os.path.join(os.path.dirname(sys.executable), "mlflow")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MlflowServer:
    def __init__(self, base_dir, name):
        self.dir = os.path.join(base_dir, name)
        self.name = name
        self.port = None
        self.proc = None

    @property
    def uri(self):
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        return MlflowClient(self.uri, registry_uri=self.uri)

    def start(self, timeout=120):
        return start_all([self], timeout)[0]

    def launch(self, template_db=None):
        os.makedirs(self.dir, exist_ok=True)
        db = os.path.join(self.dir, "mlflow.db")
        if template_db and os.path.exists(template_db) and not os.path.exists(db):
            shutil.copy(template_db, db)
        self.port = self.port or free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [MLFLOW_BIN, "server", "--backend-store-uri", f"sqlite:///{db}", *self.artifact_args(),
             "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=self.server_env(), start_new_session=True)

    def artifact_args(self):
        """Where the server keeps artifacts: proxied, in a folder of its own (fakes of platforms override)."""
        os.makedirs(os.path.join(self.dir, "artifacts"), exist_ok=True)
        return ["--artifacts-destination", os.path.join(self.dir, "artifacts")]

    def server_env(self):
        env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        env.pop("MLFLOW_TRACKING_URI", None)
        return env

    def wait_healthy(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mlflow server {self.name} exited: see {self.dir}/server.log")
            try:
                if requests.get(f"{self.uri}/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"mlflow server {self.name} did not become healthy in {timeout}s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def kill(self):
        """For a server whose data is no longer needed: no graceful shutdown (some seconds per server, for two
        Python processes to exit), the whole group killed at once."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.proc = None

    def restart(self, timeout=120):
        self.stop()
        self.launch()
        self.wait_healthy(timeout)

    def wipe(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_all(servers, timeout=120, template_db=None):
    """Launch the servers together (start-up is mostly CPU-bound database migration), then wait."""
    for server in servers:
        server.launch(template_db)
    try:
        for server in servers:
            server.wait_healthy(timeout)
    except Exception:
        for server in servers:
            server.stop()
        raise
    return servers


class FileStoreServer(MlflowServer):
    """An MLflow server on a file store: no evaluation datasets (answers 500 FEATURE_DISABLED); trace spans
    are kept in artifacts, not in the tracking store."""

    def launch(self, template_db=None):
        os.makedirs(self.dir, exist_ok=True)
        self.port = self.port or free_port()
        env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
        env.pop("MLFLOW_TRACKING_URI", None)
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(
            [MLFLOW_BIN, "server", "--backend-store-uri", os.path.join(self.dir, "mlruns"), "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", "1"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
