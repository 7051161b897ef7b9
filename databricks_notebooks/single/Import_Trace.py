# Databricks notebook source
# MAGIC %md
# MAGIC ## Import a trace
# MAGIC
# MAGIC Creates the trace exported by `Export_Trace` in an experiment (created if missing), with its spans and
# MAGIC assessments. Running it again adds nothing.
# MAGIC Calls `mlflow_export_import.trace.import_trace.import_trace`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Trace` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `experiment_name`: the destination experiment: in a workspace an absolute path such as `/Users/<you>/<name>`
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("experiment_name", "2. Destination experiment")
text_widget("tracking_uri", "3. Destination tracking URI (blank: this workspace)")
text_widget("report_file", "4. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
experiment_name = get_required("experiment_name")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.trace.import_trace import import_trace

with operation("import-trace", report_file) as report:
    client = mlflow_client(tracking_uri)
    trace_info = import_trace(input_dir, experiment_name, mlflow_client=client, report=report)
if trace_info is not None:
    print(f"Trace '{trace_info.trace_id}' of experiment '{experiment_name}'")
