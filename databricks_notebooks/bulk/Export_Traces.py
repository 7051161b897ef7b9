# Databricks notebook source
# MAGIC %md
# MAGIC ## Export traces
# MAGIC
# MAGIC Writes the traces of experiments (or of one run) with every span and their assessments to a folder. Import
# MAGIC it with `Import_Traces`.
# MAGIC Calls `mlflow_export_import.bulk.export_traces.export_traces`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `experiment_ids`: `all`, experiment ids or names (comma separated), `prefix*`, or a `.txt` file
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `run_id`: optional, only the traces of this run
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace
# MAGIC * `workers`: traces exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("experiment_ids", "1. Experiments")
text_widget("output_dir", "2. Output directory")
text_widget("run_id", "3. Only the traces of this run (optional)")
text_widget("tracking_uri", "4. Source tracking URI (blank: this workspace)")
text_widget("workers", "5. Workers (blank: 8)")
text_widget("report_file", "6. Report file (JSON, optional)")

experiment_ids = get_selector("experiment_ids")
output_dir = get_dir("output_dir")
run_id = get_text("run_id")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_traces import export_traces

with operation("export-traces", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_traces(experiment_ids, output_dir, run_id=run_id, mlflow_client=client, report=report, workers=workers)
