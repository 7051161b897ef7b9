# Databricks notebook source
# MAGIC %md
# MAGIC ## Export a logged model
# MAGIC
# MAGIC Writes one MLflow 3 logged model (params, tags, metrics, status, type, links to runs) and its artifacts to a
# MAGIC folder. Import it with `Import_Logged_Model`.
# MAGIC Calls `mlflow_export_import.logged_model.export_logged_model.export_logged_model`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `model_id`: the logged model's id (`m-...`)
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("model_id", "1. Logged model ID")
text_widget("output_dir", "2. Output directory")
text_widget("tracking_uri", "3. Source tracking URI (blank: this workspace)")
text_widget("report_file", "4. Report file (JSON, optional)")

model_id = get_required("model_id")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.logged_model.export_logged_model import export_logged_model

with operation("export-logged-model", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_logged_model(model_id, output_dir, mlflow_client=client, report=report)
