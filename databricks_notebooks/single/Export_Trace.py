# Databricks notebook source
# MAGIC %md
# MAGIC ## Export a trace
# MAGIC
# MAGIC Writes one trace (its info, tags, metadata, every span, and its assessments) to a folder. Import it with
# MAGIC `Import_Trace`.
# MAGIC Calls `mlflow_export_import.trace.export_trace.export_trace`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `request_id`: the trace's id (`tr-...`)
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("request_id", "1. Trace ID")
text_widget("output_dir", "2. Output directory")
text_widget("tracking_uri", "3. Source tracking URI (blank: this workspace)")
text_widget("report_file", "4. Report file (JSON, optional)")

request_id = get_required("request_id")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.trace.export_trace import export_trace

with operation("export-trace", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_trace(request_id, output_dir, mlflow_client=client, report=report)
