"""--engine spark against real servers, on a real Spark standalone cluster: one master and two workers on two
loopback addresses (127.0.0.2, 127.0.0.3). Two hosts, because Spark never runs a speculative copy of a task on the
host of the original, and every executor of local or local-cluster mode is on one host: there, speculation never
happens. The cluster also retries a failed task (spark.task.maxFailures=2). One session for the module; its
servers are a pair of its own, since export-all and the census compare whole servers."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk import export_all as ea
from mlflow_export_import.bulk import import_all as ia
from mlflow_export_import.bulk.import_experiments import import_experiments
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.spark.faults import FAULTS_ENV
from tests.env import kept_environ
from tests.servers import free_port
from tests.test_models import make_model
from tests.workload import assert_same_run, make_experiment

pyspark = pytest.importorskip("pyspark")

JAVA_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss4m"  # a small cluster starts faster without C2


def _start(cmd, log_path, env):
    with open(log_path, "ab") as log:
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


class _Cluster:
    """The daemons and the driver's session, started on a thread of their own: some 10 JVMs and the first Python
    workers come up while the module's servers start and are populated, instead of after."""

    def __init__(self, base):
        self.base, self.procs, self.session, self.error = base, [], None, None
        self.thread = threading.Thread(target=self._start_all, name="spark-cluster", daemon=True)

    def _start_all(self):
        try:
            self.session = self._start()
            self._warm_up(self.session)
        except BaseException as ex:  # handed to the test that waits for the session
            self.error = ex

    def _start(self):
        home = os.path.dirname(pyspark.__file__)
        # SPARK_DAEMON_MEMORY: the daemons only schedule (default 1g); PYSPARK_PYTHON: the Python of the tasks
        env = dict(os.environ, SPARK_HOME=home, SPARK_DAEMON_JAVA_OPTS=JAVA_OPTS, SPARK_DAEMON_MEMORY="256m",
                   SPARK_LAUNCHER_OPTS=JAVA_OPTS, PYSPARK_PYTHON=sys.executable, SPARK_LOG_DIR=str(self.base),
                   SPARK_LOCAL_IP="127.0.0.1")
        spark_class, port = os.path.join(home, "bin", "spark-class"), free_port()
        master_log = self.base / "master.log"
        self.procs.append(_start([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                  "--port", str(port), "--webui-port", str(free_port())], master_log, env))
        for host in ("127.0.0.2", "127.0.0.3"):
            worker_env = dict(env, SPARK_LOCAL_IP=host)
            self.procs.append(_start([spark_class, "org.apache.spark.deploy.worker.Worker", "--host", host, "--cores",
                                      "1", "--memory", "1g", "--webui-port", "0", "--work-dir", str(self.base / host),
                                      f"spark://127.0.0.1:{port}"], self.base / f"worker-{host}.log", worker_env))
        _wait_for_workers(master_log, 2, self.procs)
        from pyspark.sql import SparkSession
        session = (SparkSession.builder.master(f"spark://127.0.0.1:{port}").appName("test_spark")
                   .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false")
                   .config("spark.driver.memory", "512m").config("spark.driver.extraJavaOptions", JAVA_OPTS)
                   .config("spark.executor.memory", "512m").config("spark.executor.extraJavaOptions", JAVA_OPTS)
                   .config("spark.task.maxFailures", "2")
                   # the session is ready once both executors are: the warm-up gives each a task
                   .config("spark.scheduler.minRegisteredResourcesRatio", "1.0")
                   # aggressive speculation: a task 1.1 x slower than the median of the half that finished
                   .config("spark.speculation", "true").config("spark.speculation.multiplier", "1.1")
                   .config("spark.speculation.quantile", "0.5").config("spark.speculation.minTaskRuntime", "1s")
                   .config("spark.speculation.interval", "200ms")
                   .config("spark.speculation.efficiency.enabled", "false").getOrCreate())
        session.sparkContext.setLogLevel("ERROR")
        return session

    @staticmethod
    def _warm_up(session):
        """One task per executor imports what the run tasks import: each executor's Python worker (reused by
        later tasks) pays for importing MLflow now, while the servers are being populated."""
        def load(_):
            import mlflow_export_import.spark.export  # noqa: F401
            import mlflow_export_import.spark.import_runs  # noqa: F401
            return [os.getpid()]
        session.sparkContext.parallelize(range(2), 2).mapPartitions(load).collect()

    def wait(self, timeout=300):
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError(f"the Spark cluster did not start in {timeout}s: see {self.base}")
        if self.error is not None:
            raise self.error
        # the session is the active one of the thread that made it; the commands look for this thread's
        from pyspark.sql import SparkSession
        SparkSession._get_j_spark_session_class(self.session._jvm).setActiveSession(self.session._jsparkSession)
        return self.session

    def stop(self):
        self.thread.join(300)
        if self.session is not None:
            self.session.stop()
        for proc in self.procs:  # a daemon's group holds its executors and their Python workers too
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Asked for before the servers: starts the cluster in the background."""
    # PYSPARK_PYTHON: the Python of the tasks (pyspark reads only the variable); SPARK_LAUNCHER_OPTS: the JVM
    # that spark-submit runs to build the driver's command, as small as the daemons'
    driver_env = {"PYSPARK_PYTHON": sys.executable, "SPARK_LAUNCHER_OPTS": JAVA_OPTS}
    with kept_environ(driver_env):
        os.environ.update(driver_env)
        started = _Cluster(tmp_path_factory.mktemp("spark-cluster"))
        started.thread.start()
        try:
            yield started
        finally:
            started.stop()


@pytest.fixture(scope="module")
def spark(cluster):
    return cluster.wait()


def _wait_for_workers(master_log, n, procs, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if master_log.exists() and master_log.read_text().count("Registering worker") >= n:
            return
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a Spark daemon exited: see {master_log.parent}")
        time.sleep(0.3)
    raise RuntimeError(f"Spark workers did not register in {timeout}s: see {master_log.parent}")


@pytest.fixture(scope="module")
def servers(server_pool):
    pair = server_pool()
    yield pair
    for server in pair:
        server.kill()


@pytest.fixture(scope="module")
def source(servers):
    """An experiment with plain, nested, failed and deleted runs, and a registered model with its runs."""
    client = servers[0].client()
    exp_id, run_ids = make_experiment(client, "spark-exp", runs=2)
    make_model(client, "spark-model", "spark-model-runs")
    return {"experiment_id": exp_id, "run_ids": run_ids, "runs": {r: client.get_run(r) for r in run_ids}}


@pytest.fixture(scope="module")
def exported(cluster, servers, source, spark, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("spark-export") / "all")
    res = CliRunner().invoke(ea.main, ["--output-dir", out, "--export-deleted-runs", "True", "--engine", "spark"],
                             env={"MLFLOW_TRACKING_URI": servers[0].uri})
    assert res.exit_code == 0, res.output
    return out


def _dst_runs_by_source(client, experiment_name):
    exp = client.get_experiment_by_name(experiment_name)
    runs = client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=1000)
    by_source = {}
    for run in runs:
        by_source.setdefault(run.data.tags.get(ImportTags.SRC_RUN_ID), []).append(run)
    return by_source


def _faults(tmp_path, monkeypatch, **flags):
    folder = tmp_path / "faults"
    folder.mkdir()
    for kind, run_id in flags.items():
        (folder / f"{kind}-{run_id}").touch()
    monkeypatch.setenv(FAULTS_ENV, str(folder))
    return folder


def test_export_all_import_all_equal_with_a_task_that_fails_once(exported, servers, source, census_diff, tmp_path,
                                                                  monkeypatch):
    """The export holds every run once, written whole; the import's task that crashes after writing a run's
    data (but not its 'done' mark) is retried, and the destination equals the source: no twin, no doubled
    metric point (the census compares every history)."""
    src, dst = servers
    runs_dir = os.path.join(exported, "experiments", source["experiment_id"], "runs")
    assert sorted(os.listdir(runs_dir)) == sorted(source["run_ids"])  # no temporary folder left
    crashed = source["run_ids"][0]
    faults = _faults(tmp_path, monkeypatch, crash=crashed)
    report_file = str(tmp_path / "report.json")
    res = CliRunner().invoke(ia.main, ["--input-dir", exported, "--engine", "spark", "--report", report_file],
                             env={"MLFLOW_TRACKING_URI": dst.uri})
    assert res.exit_code == 0, res.output
    assert not (faults / f"crash-{crashed}").exists()  # the first attempt crashed ...
    assert len(list(faults.glob(f"attempt-{crashed}-*"))) >= 2  # ... and a later attempt filled the run
    counts = json.load(open(report_file))["counts"]
    assert counts["runs"] == {"copied": 10, "skipped": 0, "failed": 0}
    assert census_diff(src.uri, dst.uri) == {}
    by_source = _dst_runs_by_source(dst.client(), "spark-exp")
    assert {s: len(runs) for s, runs in by_source.items()} == {r: 1 for r in source["run_ids"]}


def test_speculative_copies_make_no_twins(exported, servers, source, tmp_path, monkeypatch):
    """A slow task gets a speculative copy on the other worker; the slow original writes the same run again
    after the copy finished it. Every run is there once, equal to its source, histories not doubled."""
    src, dst = servers
    slow = source["run_ids"][1]
    faults = _faults(tmp_path, monkeypatch, slow=slow)
    report = Report()
    import_experiments(os.path.join(exported, "experiments"), experiment_renames={"spark-exp": "spark-spec"},
                       mlflow_client=dst.client(), report=report, engine="spark")
    assert not report.failures, report.failures
    assert (faults / f"attempt-{slow}-0").exists() and (faults / f"attempt-{slow}-1").exists(), \
        "no speculative copy of the slow task ran"
    by_source = _dst_runs_by_source(dst.client(), "spark-spec")
    assert {s: len(runs) for s, runs in by_source.items()} == {r: 1 for r in source["run_ids"]}
    for src_id, src_run in source["runs"].items():
        assert_same_run(src.client(), src_run, dst.client(), by_source[src_id][0])


def test_rerun_copies_nothing_twice(exported, servers, source, tmp_path):
    dst = servers[1]
    before = _dst_runs_by_source(dst.client(), "spark-exp")
    report_file = str(tmp_path / "again.json")
    res = CliRunner().invoke(ia.main, ["--input-dir", exported, "--engine", "spark", "--report", report_file],
                             env={"MLFLOW_TRACKING_URI": dst.uri})
    assert res.exit_code == 0, res.output
    counts = json.load(open(report_file))["counts"]
    assert counts["runs"] == {"copied": 0, "skipped": 10, "failed": 0}
    assert counts["model_versions"]["copied"] == 0
    after = _dst_runs_by_source(dst.client(), "spark-exp")
    assert {s: [r.info.run_id for r in runs] for s, runs in after.items()} == \
        {s: [r.info.run_id for r in runs] for s, runs in before.items()}


def test_notebook_imports_on_spark(exported, servers, tmp_path):
    """Migrate_On_Spark, import step, on the module's cluster session (a notebook's active session)."""
    from tests.test_databricks_notebooks import run_notebook
    renames = tmp_path / "renames.csv"
    renames.write_text("spark-exp,spark-nb\n")
    outcome = run_notebook("bulk/Migrate_On_Spark", {"steps": "import", "dir": exported, "engine": "spark",
                                                     "dst_tracking_uri": servers[1].uri,
                                                     "experiment_rename_file": str(renames)})
    assert outcome.summary()["runs"] == (7, 3, 0)  # spark-exp's runs anew; the model's runs were there
    assert len(_dst_runs_by_source(servers[1].client(), "spark-nb")) == 7


def test_engine_spark_without_pyspark_exits_2(servers, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as where pyspark is not installed
    out = tmp_path / "never"
    res = CliRunner().invoke(ea.main, ["--output-dir", str(out), "--engine", "spark"],
                             env={"MLFLOW_TRACKING_URI": servers[0].uri})
    assert res.exit_code == 2, res.output
    assert "needs pyspark" in res.output and "[spark]" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_unknown_engine_is_a_usage_error(tmp_path):
    res = CliRunner().invoke(ia.main, ["--input-dir", str(tmp_path), "--engine", "dask"])
    assert res.exit_code == 2 and "dask" in res.output
