# Databricks notebook source
# MAGIC %md
# MAGIC ## Export prompts
# MAGIC
# MAGIC Writes prompts with all their versions (in order), aliases and tags to a folder. Import it with
# MAGIC `Import_Prompts`.
# MAGIC Calls `mlflow_export_import.bulk.export_prompts.export_prompts`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `prompts`: `all`, prompt names (comma separated), or a `.txt` file of one per line
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`, `registry_uri`: the source: blank for this workspace; registry `databricks-uc` for its Unity
# MAGIC   Catalog
# MAGIC * `workers`: prompts exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("prompts", "1. Prompts")
text_widget("output_dir", "2. Output directory")
text_widget("tracking_uri", "3. Source tracking URI (blank: this workspace)")
text_widget("registry_uri", "4. Source registry URI (blank: the tracking server's)")
text_widget("workers", "5. Workers (blank: 8)")
text_widget("report_file", "6. Report file (JSON, optional)")

prompts = get_selector("prompts")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_prompts import export_prompts

with operation("export-prompts", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    export_prompts(output_dir, prompts, mlflow_client=client, report=report, workers=workers)
