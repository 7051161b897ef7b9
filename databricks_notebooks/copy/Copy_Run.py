# Databricks notebook source
# MAGIC %md
# MAGIC ## Copy a run
# MAGIC
# MAGIC Copies a run into an experiment of this or another tracking server (another workspace, an open-source MLflow
# MAGIC server) without an export folder: the run is read from one side and written to the other in memory, its
# MAGIC artifacts pass through a temporary folder. Running it again adds nothing.
# MAGIC Calls `mlflow_export_import.copy.copy_run.copy`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `run_id`: the source run
# MAGIC * `experiment_name`: the destination experiment (created if missing): in a workspace a path such as
# MAGIC   `/Users/<you>/<name>`
# MAGIC * `src_mlflow_uri`: the source tracking server: blank for this workspace, `databricks://<profile>` for another
# MAGIC * `dst_mlflow_uri`: the destination tracking server: blank for this workspace
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("run_id", "1. Source run ID")
text_widget("experiment_name", "2. Destination experiment")
text_widget("src_mlflow_uri", "3. Source tracking URI (blank: this workspace)")
text_widget("dst_mlflow_uri", "4. Destination tracking URI (blank: this workspace)")
text_widget("report_file", "5. Report file (JSON, optional)")

run_id = get_required("run_id")
experiment_name = get_required("experiment_name")
src_mlflow_uri = get_text("src_mlflow_uri")
dst_mlflow_uri = get_text("dst_mlflow_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.copy import copy_run

with operation("copy-run", report_file) as report:
    dst_run = copy_run.copy(run_id, experiment_name, src_mlflow_uri, dst_mlflow_uri, report=report)
print(f"Run '{run_id}' is run '{dst_run.info.run_id}' of experiment '{experiment_name}'")
