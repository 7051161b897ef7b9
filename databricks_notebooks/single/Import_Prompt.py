# Databricks notebook source
# MAGIC %md
# MAGIC ## Import a prompt version
# MAGIC
# MAGIC Creates the prompt version exported by `Export_Prompt` (and the prompt when it is missing). A version with the
# MAGIC same content already there is skipped.
# MAGIC Calls `mlflow_export_import.prompt.import_prompt.import_prompt`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Prompt` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `prompt_name`: optional, the destination prompt's name (blank: the source's)
# MAGIC * `delete_prompt`: first delete a destination prompt of that name
# MAGIC * `tracking_uri`, `registry_uri`: the destination: blank for this workspace; registry `databricks-uc` for its
# MAGIC   Unity Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("prompt_name", "2. Destination prompt name (blank: the source's)")
yes_no_widget("delete_prompt", "3. Delete an existing prompt first")
text_widget("tracking_uri", "4. Destination tracking URI (blank: this workspace)")
text_widget("registry_uri", "5. Destination registry URI (blank: the tracking server's)")
text_widget("report_file", "6. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
prompt_name = get_text("prompt_name")
delete_prompt = get_yes_no("delete_prompt")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.prompt.import_prompt import import_prompt

with operation("import-prompt", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    import_prompt(input_dir, prompt_name, delete_prompt=delete_prompt, mlflow_client=client, report=report)
