# Databricks notebook source
# MAGIC %md
# MAGIC ## Export logged models
# MAGIC
# MAGIC Writes the MLflow 3 logged models of experiments, with their artifacts, to a folder. Import it with
# MAGIC `Import_Logged_Models`.
# MAGIC Calls `mlflow_export_import.bulk.export_logged_models.export_logged_models`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `experiment_ids`: `all`, experiment ids or names (comma separated), `prefix*`, or a `.txt` file
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace
# MAGIC * `workers`: models exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("experiment_ids", "1. Experiments")
text_widget("output_dir", "2. Output directory")
text_widget("tracking_uri", "3. Source tracking URI (blank: this workspace)")
text_widget("workers", "4. Workers (blank: 8)")
text_widget("report_file", "5. Report file (JSON, optional)")

experiment_ids = get_selector("experiment_ids")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_logged_models import export_logged_models

with operation("export-logged-models", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_logged_models(experiment_ids, output_dir, mlflow_client=client, report=report, workers=workers)
