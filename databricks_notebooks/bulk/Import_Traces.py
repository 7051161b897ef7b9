# Databricks notebook source
# MAGIC %md
# MAGIC ## Import traces
# MAGIC
# MAGIC Imports a folder written by `Export_Traces`: each trace goes into the experiment of its source's name (created
# MAGIC if missing), linked to the destination copy of its run when an earlier import made one. Running it again adds
# MAGIC nothing.
# MAGIC Calls `mlflow_export_import.bulk.import_traces.import_traces`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Traces` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `workers`: traces imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("tracking_uri", "2. Destination tracking URI (blank: this workspace)")
text_widget("workers", "3. Workers (blank: 8)")
text_widget("report_file", "4. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_traces import import_traces

with operation("import-traces", report_file) as report:
    client = mlflow_client(tracking_uri)
    import_traces(input_dir, mlflow_client=client, report=report, workers=workers)
