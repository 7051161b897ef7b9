# Databricks notebook source
# MAGIC %md
# MAGIC ## Export a prompt version
# MAGIC
# MAGIC Writes one version of a prompt (its template, response format, model configuration, commit message, tags and
# MAGIC aliases) to a folder. Import it with `Import_Prompt`; `bulk/Export_Prompts` exports every version.
# MAGIC Calls `mlflow_export_import.prompt.export_prompt.export_prompt`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `prompt_name`, `prompt_version`: the prompt (Unity Catalog: `catalog.schema.prompt`) and the version number
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`, `registry_uri`: the source: blank for this workspace; registry `databricks-uc` for its Unity
# MAGIC   Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("prompt_name", "1. Prompt name")
text_widget("prompt_version", "2. Prompt version")
text_widget("output_dir", "3. Output directory")
text_widget("tracking_uri", "4. Source tracking URI (blank: this workspace)")
text_widget("registry_uri", "5. Source registry URI (blank: the tracking server's)")
text_widget("report_file", "6. Report file (JSON, optional)")

prompt_name = get_required("prompt_name")
prompt_version = get_required("prompt_version")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.prompt.export_prompt import export_prompt

with operation("export-prompt", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    export_prompt(prompt_name, prompt_version, output_dir, mlflow_client=client, report=report)
