import importlib.util
import os
import shutil
import uuid

import pytest

from tests.env import kept_environ
from tests.servers import MlflowServer, start_all

SHARED_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
FIXTURES_DIR = os.path.join(SHARED_DIR, "fixtures")
TOOLS_DIR = os.path.join(SHARED_DIR, "tools")

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.pop("MLFLOW_TRACKING_URI", None)


# MLflow's fluent API keeps these in the environment too (set_tracking_uri, set_experiment): a test that sets them
# must not hand them to later tests, nor to the subprocesses those start (populate.py, the CLI).
GLOBAL_ENV = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME")


def _forget_active_experiment():
    from mlflow.tracking import fluent
    fluent._active_experiment_id = None


@pytest.fixture(autouse=True)
def restore_global_mlflow_uris():
    """count.py's census (and MLflow fluent calls in checks) set MLflow's global tracking/registry URIs and
    their environment variables; a later test must not inherit a server that has been stopped since."""
    yield from _global_mlflow_uris_restored()


def _global_mlflow_uris_restored():
    import mlflow
    with kept_environ(GLOBAL_ENV):
        yield
        mlflow.set_tracking_uri(None)
        mlflow.set_registry_uri(None)
        _forget_active_experiment()


@pytest.fixture(autouse=True, scope="module")
def restore_global_mlflow_uris_per_module():
    """The same for module-scoped fixtures, which run outside any one test."""
    yield from _global_mlflow_uris_restored()


@pytest.fixture(scope="session")
def servers_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("servers"))


class ServerPool:
    """Starts servers in pairs on demand; a migrated empty database is reused as the template. While tests that
    ask for a fresh pair are still to come, the next pair is launched as soon as one is handed out, so that it
    starts up while the current test runs (a pair takes seconds of CPU to start; most tests leave a core idle)."""

    def __init__(self, servers_dir, fresh_pairs_to_come):
        self.dir = servers_dir
        self.template = os.path.join(servers_dir, "template.db")
        self.started = []
        self.next_pair = None
        self.fresh_pairs_to_come = fresh_pairs_to_come

    def __call__(self):
        pair, self.next_pair = self.next_pair or self._launch(), None
        try:
            for server in pair:
                server.wait_healthy(120)
        except Exception:
            for server in pair:
                server.kill()
            raise
        if not os.path.exists(self.template):
            shutil.copy(os.path.join(pair[0].dir, "mlflow.db"), self.template)
        if self.fresh_pairs_to_come > 0:
            self.next_pair = self._launch()
        return pair

    def _launch(self):
        n = len(self.started)
        pair = [MlflowServer(self.dir, f"srv{n}"), MlflowServer(self.dir, f"srv{n + 1}")]
        self.started.extend(pair)
        for server in pair:
            server.launch(self.template)
        return pair

    def fresh_pair(self):
        self.fresh_pairs_to_come -= 1
        return self()

    def stop(self):
        for server in self.started:
            server.kill()


@pytest.fixture(scope="session")
def server_pool(servers_dir, request):
    """server_pool() -> two empty servers, started for the caller, who may stop them."""
    pool = ServerPool(servers_dir, sum("fresh_pair" in item.fixturenames for item in request.session.items))
    yield pool
    pool.stop()


@pytest.fixture(scope="session")
def shared_pair(server_pool):
    """Two servers shared by the tests that work in experiments of their own (unique names)."""
    return server_pool()


@pytest.fixture(scope="session")
def src_server(shared_pair):
    return shared_pair[0]


@pytest.fixture(scope="session")
def dst_server(shared_pair):
    return shared_pair[1]


@pytest.fixture
def src_client(src_server):
    return src_server.client()


@pytest.fixture
def dst_client(dst_server):
    return dst_server.client()


@pytest.fixture
def fresh_pair(server_pool):
    """Two empty servers, for tests that compare whole servers."""
    pair = server_pool.fresh_pair()
    yield pair
    for server in pair:
        server.kill()  # thrown away: no need to wait for a graceful shutdown


@pytest.fixture
def uniq():
    return uuid.uuid4().hex[:8]


def _load_count_tool():
    spec = importlib.util.spec_from_file_location("count_tool", os.path.join(TOOLS_DIR, "count.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def count_tool():
    return _load_count_tool()


@pytest.fixture(scope="session")
def census(count_tool):
    """census(uri) -> count.py's census of the server, for census_diff to compare several copies with."""
    return lambda uri, artifact_hash=True: _census(count_tool, uri, artifact_hash)


@pytest.fixture(scope="session")
def census_diff(count_tool):
    """census_diff(src_uri, dst_uri) -> {section: problems} for every section that differs. src_uri may be a
    census taken before (the census fixture), of a source that has not changed since."""
    def diff(src_uri, dst_uri, artifact_hash=True):
        src = src_uri if isinstance(src_uri, dict) else _census(count_tool, src_uri, artifact_hash)
        dst = _census(count_tool, dst_uri, artifact_hash)
        report = count_tool.diff(src, dst)
        problems = {}
        for name, sec in report["sections"].items():
            if sec["missing_in_dst"] or sec["extra_in_dst"] or sec["changed"]:
                problems[name] = {k: sec[k] for k in ("src", "dst", "missing_examples", "extra_examples",
                                                      "changed_fields", "changed_examples")}
        return problems
    return diff


def _census(count_tool, uri, artifact_hash):
    """count.py's census sets MLflow's global tracking and registry URIs: put them back afterwards."""
    import mlflow
    with kept_environ(("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")):
        try:
            return count_tool.Census(uri, threads=4, artifact_hash=artifact_hash).build()
        finally:
            mlflow.set_tracking_uri(None)
            mlflow.set_registry_uri(None)


# ---------------------------------------------------------------- platforms (Databricks, Unity Catalog, SageMaker)
PLATFORM_ENV_CLEARED = ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE", "DATABRICKS_CONFIG_FILE",
                        "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT")


@pytest.fixture(scope="session")
def moto_s3(servers_dir):
    from tests.fakes.s3 import MotoS3
    s3 = MotoS3(os.path.join(servers_dir, "moto")).start()
    yield s3
    s3.stop()


@pytest.fixture(scope="session")
def databricks(servers_dir, moto_s3):
    """Two fake Databricks workspaces (different tokens, each rejecting the other's), each with its Unity Catalog
    registry on moto S3, and a config file with their profiles: `src-ws` (alias `test-env`, `dev-env`) and `dst-ws`
    (alias `prod-env`). No DEFAULT profile: a request sent with default credentials fails loudly."""
    from tests import platforms
    env = platforms.DatabricksEnv(servers_dir, moto_s3)
    with kept_environ(PLATFORM_ENV_CLEARED + ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                              "AWS_DEFAULT_REGION")):
        env.start()
        for key in ("DATABRICKS_HOST", "DATABRICKS_TOKEN", "DATABRICKS_CONFIG_PROFILE"):
            os.environ.pop(key, None)
        os.environ.update({"DATABRICKS_CONFIG_FILE": env.config_file, **env.client_env()})
        try:
            yield env
        finally:
            env.stop()


@pytest.fixture
def dbx(databricks, monkeypatch):
    """The Databricks environment with the process environment as a user has it: the config file set, no
    DATABRICKS_HOST/TOKEN/CONFIG_PROFILE, no MLflow URIs."""
    for key in PLATFORM_ENV_CLEARED:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", databricks.config_file)
    for key, value in databricks.client_env().items():
        monkeypatch.setenv(key, value)
    return databricks


SM_ACCOUNT = "123456789012"


class SageMakerEnv:
    """moto S3, two SageMaker tracking servers (real `mlflow server`s with S3 artifact roots) and an mlflow-app
    sharing the second, all reached through one SageMakerRouter that checks SigV4 and the ARN header."""

    def __init__(self, moto, s1, s2, router, arn1, arn2, app_arn):
        self.moto, self.s1, self.s2, self.router = moto, s1, s2, router
        self.arn1, self.arn2, self.app_arn = arn1, arn2, app_arn


@pytest.fixture(scope="session")
def sagemaker_env(servers_dir, moto_s3):
    pytest.importorskip("sagemaker_mlflow")
    from tests.fakes.sagemaker import (SageMakerRouter, SageMakerTrackingServer, mlflow_app_arn,
                                       tracking_server_arn)
    arn1 = tracking_server_arn("us-east-1", SM_ACCOUNT, "ts-one")
    arn2 = tracking_server_arn("eu-west-1", SM_ACCOUNT, "ts-two")
    app_arn = mlflow_app_arn("us-west-2", SM_ACCOUNT, "app-0123abcd")
    base = os.path.join(servers_dir, "sagemaker")
    for bucket in ("sm-bucket-1", "sm-bucket-2"):
        moto_s3.create_bucket(bucket)
    s1 = SageMakerTrackingServer(base, "sm1", moto_s3.url, "sm-bucket-1", arn=arn1)
    s2 = SageMakerTrackingServer(base, "sm2", moto_s3.url, "sm-bucket-2", arn=arn2)
    start_all([s1, s2])
    router = SageMakerRouter(s3_endpoint_url=moto_s3.url).start()
    router.add(arn1, s1.uri)
    router.add(arn2, s2.uri)
    router.add(app_arn, s2.uri)
    yield SageMakerEnv(moto_s3, s1, s2, router, arn1, arn2, app_arn)
    router.stop()
    s1.kill()
    s2.kill()
