# Databricks notebook source
# MAGIC %md
# MAGIC ## Import everything
# MAGIC
# MAGIC Imports a folder written by `Export_All` (or by the reference tool's export-all): models with their versions,
# MAGIC experiments with their runs, logged models, traces, prompts and evaluation datasets. Running it again adds
# MAGIC nothing; an interrupted import is completed.
# MAGIC Calls `mlflow_export_import.bulk.import_all.import_all`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_All` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `experiment_rename_file`: optional file of `old,new` experiment name prefixes, one per line; into a workspace,
# MAGIC   map open-source names to paths (`team_a,/Users/me@example.com/team_a`)
# MAGIC * `model_rename_file`: optional file of `old,new` model name prefixes; into Unity Catalog, map names to
# MAGIC   `catalog.schema.model`
# MAGIC * `delete_model`: first delete destination models of the same names that an import did not make
# MAGIC * `delete_prompt`, `delete_evaluation_dataset`: first delete destination prompts / evaluation datasets of the
# MAGIC   same names
# MAGIC * `import_source_tags`: also write the source fields as `mlflow_exim.*` tags
# MAGIC * `use_src_user_id`: keep the source runs' user (`no`: the importing user)
# MAGIC * `import_permissions`: also apply the exported Databricks permissions
# MAGIC * `verbose`: log the versions' details
# MAGIC * `tracking_uri`, `registry_uri`: the destination: blank for this workspace; registry `databricks-uc` for its
# MAGIC   Unity Catalog
# MAGIC * `workers`: objects imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "01. Input directory")
text_widget("experiment_rename_file", "02. Experiment rename file (optional)")
text_widget("model_rename_file", "03. Model rename file (optional)")
yes_no_widget("delete_model", "04. Delete existing models first")
yes_no_widget("delete_prompt", "05. Delete existing prompts first")
yes_no_widget("delete_evaluation_dataset", "06. Delete existing evaluation datasets first")
yes_no_widget("import_source_tags", "07. Import source tags")
yes_no_widget("use_src_user_id", "08. Keep the source user", default=YES)
yes_no_widget("import_permissions", "09. Import permissions")
yes_no_widget("verbose", "10. Verbose")
text_widget("tracking_uri", "11. Destination tracking URI (blank: this workspace)")
text_widget("registry_uri", "12. Destination registry URI (blank: the tracking server's)")
text_widget("workers", "13. Workers (blank: 8)")
text_widget("report_file", "14. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
experiment_rename_file = get_file("experiment_rename_file")
model_rename_file = get_file("model_rename_file")
delete_model = get_yes_no("delete_model")
delete_prompt = get_yes_no("delete_prompt")
delete_evaluation_dataset = get_yes_no("delete_evaluation_dataset")
import_source_tags = get_yes_no("import_source_tags")
use_src_user_id = get_yes_no("use_src_user_id")
import_permissions = get_yes_no("import_permissions")
verbose = get_yes_no("verbose")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_all import import_all

with operation("import-all", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    import_all(input_dir, delete_model, delete_prompt=delete_prompt, delete_dataset=delete_evaluation_dataset,
               import_permissions=import_permissions, import_source_tags=import_source_tags,
               use_src_user_id=use_src_user_id, experiment_renames=experiment_rename_file,
               model_renames=model_rename_file, verbose=verbose, mlflow_client=client, report=report,
               workers=workers)
