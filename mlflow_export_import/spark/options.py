"""The --engine and --spark-master options of the bulk commands (no pyspark import here)."""
import click

from mlflow_export_import.spark import ENGINES, LOCAL


def opt_engine(f):
    return click.option("--engine", type=click.Choice(ENGINES), default=LOCAL, show_default=True,
                        help="Where runs are exported or imported: 'local' (threads of this process) or 'spark' "
                             "(the tasks of a Spark job; needs pyspark). With spark the export directory must be "
                             "shared by the driver and the executors (a Unity Catalog volume or DBFS path).")(f)


def opt_spark_master(f):
    return click.option("--spark-master", type=str, default=None,
                        help="With --engine spark: the master of the Spark session to create when there is none "
                             "(default: local[*]; a Databricks notebook's own session is used as it is).")(f)
