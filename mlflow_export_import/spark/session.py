"""The Spark session of `--engine spark`: the active one (a Databricks notebook's), else one built here."""
import os
import sys

from mlflow_export_import.common import MlflowExportImportException, UsageError
from mlflow_export_import.spark import is_spark

APP_NAME = "mlflow-export-import"
INSTALL_HINT = "pip install 'mlflow-export-import[spark]' (in a checkout: .venv/bin/pip install -e '.[spark]')"


def start_engine(engine, spark_master=None):
    """For a command: with the spark engine, the session, made before anything is read or written, so that a
    missing pyspark or a bad master is one line and exit 2; None with the local engine."""
    return get_spark(spark_master) if is_spark(engine) else None


def get_spark(master=None):
    """The active SparkSession when there is one and no master is asked for; else one for master (default
    local[*]) whose Python workers run this interpreter, which has the package installed."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError(f"--engine spark needs pyspark, which is not installed: {INSTALL_HINT}") from None
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    # pyspark takes the Python of its workers from this variable only (spark-submit sets it from
    # spark.pyspark.python): without it they run the first python3 on PATH, which may lack this package
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        return SparkSession.builder.master(master or "local[*]").appName(APP_NAME).getOrCreate()
    except Exception as ex:  # a bad master URL, or no Java: said in one line, before any work
        raise UsageError(f"Cannot start a Spark session (master '{master or 'local[*]'}'): "
                         f"{str(ex).strip().splitlines()[0][:300] if str(ex).strip() else type(ex).__name__}")


def spark_context(spark):
    """The SparkContext, which the run tasks need (RDD API): Spark Connect sessions (serverless, standard access
    mode clusters) have none."""
    try:
        return spark.sparkContext
    except Exception as ex:
        raise MlflowExportImportException(
            ex, "--engine spark needs a classic Spark session with a SparkContext (on Databricks: a cluster in "
                "dedicated access mode); this session is a Spark Connect one", http_status_code=400)
