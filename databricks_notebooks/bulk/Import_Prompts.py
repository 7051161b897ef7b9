# Databricks notebook source
# MAGIC %md
# MAGIC ## Import prompts
# MAGIC
# MAGIC Imports a folder written by `Export_Prompts`: every version in order, keeping the source's version numbers
# MAGIC for a new prompt, then aliases and tags. Versions with the same content already there are skipped.
# MAGIC Calls `mlflow_export_import.bulk.import_prompts.import_prompts`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Prompts` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `delete_prompt`: first delete destination prompts of the same names
# MAGIC * `tracking_uri`, `registry_uri`: the destination: blank for this workspace; registry `databricks-uc` for its
# MAGIC   Unity Catalog
# MAGIC * `workers`: prompts imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
yes_no_widget("delete_prompt", "2. Delete existing prompts first")
text_widget("tracking_uri", "3. Destination tracking URI (blank: this workspace)")
text_widget("registry_uri", "4. Destination registry URI (blank: the tracking server's)")
text_widget("workers", "5. Workers (blank: 8)")
text_widget("report_file", "6. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
delete_prompt = get_yes_no("delete_prompt")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_prompts import import_prompts

with operation("import-prompts", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    import_prompts(input_dir, delete_prompt=delete_prompt, mlflow_client=client, report=report, workers=workers)
