"""Scale-out on Spark (`--engine spark`, Python `engine="spark"`).

The driver lists the work and makes what must exist before runs are filled: experiments, and on import the
destination runs themselves (parents before children, matched to earlier imports by their lineage tag), since
MLflow has no unique key for runs and a retried or speculative task must never create a twin. Executors then
export runs, or fill the runs the driver made, in partitions; registry objects, logged models, traces, prompts and
datasets are done afterwards on the driver by the same code as the local engine. pyspark is imported only when the
engine is used (spark/session.py)."""

LOCAL, SPARK = "local", "spark"
ENGINES = (LOCAL, SPARK)


def is_spark(engine):
    """Whether engine names Spark; an unknown name is refused before any work (exit 2 in a command)."""
    from mlflow_export_import.common import UsageError
    if engine in (None, LOCAL):
        return False
    if engine == SPARK:
        return True
    raise UsageError(f"Unknown engine '{engine}': expected one of {', '.join(ENGINES)}")
