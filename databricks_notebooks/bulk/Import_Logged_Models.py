# Databricks notebook source
# MAGIC %md
# MAGIC ## Import logged models
# MAGIC
# MAGIC Imports a folder written by `Export_Logged_Models`: each model goes into the experiment of its source's name
# MAGIC (created if missing), linked to the destination copy of its source run when an earlier import made one.
# MAGIC Running it again adds nothing.
# MAGIC Calls `mlflow_export_import.bulk.import_logged_models.import_logged_models`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Logged_Models` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `mlmodel_fix`: rewrite the model id and run id inside the imported `MLmodel` files
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `workers`: models imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
yes_no_widget("mlmodel_fix", "2. Rewrite the MLmodel files", default=YES)
text_widget("tracking_uri", "3. Destination tracking URI (blank: this workspace)")
text_widget("workers", "4. Workers (blank: 8)")
text_widget("report_file", "5. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
mlmodel_fix = get_yes_no("mlmodel_fix")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_logged_models import import_logged_models

with operation("import-logged-models", report_file) as report:
    client = mlflow_client(tracking_uri)
    import_logged_models(input_dir, mlflow_client=client, report=report, mlmodel_fix=mlmodel_fix, workers=workers)
