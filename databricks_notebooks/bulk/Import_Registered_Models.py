# Databricks notebook source
# MAGIC %md
# MAGIC ## Import registered models
# MAGIC
# MAGIC Imports a folder written by `Export_Registered_Models` (or `Export_All`): the versions' experiments and runs,
# MAGIC then each model with its versions in the source's order. Into Unity Catalog, stages become aliases and every
# MAGIC name is checked before anything is written. Running it again adds nothing.
# MAGIC Calls `mlflow_export_import.bulk.import_models.import_models`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Registered_Models` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `model_rename_file`: optional file of `old,new` model name prefixes, one per line; into Unity Catalog, map
# MAGIC   names to `catalog.schema.model`
# MAGIC * `experiment_rename_file`: optional file of `old,new` experiment name prefixes; into a workspace, map
# MAGIC   open-source names to paths
# MAGIC * `delete_model`: first delete destination models of the same names that an import did not make
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
text_widget("model_rename_file", "02. Model rename file (optional)")
text_widget("experiment_rename_file", "03. Experiment rename file (optional)")
yes_no_widget("delete_model", "04. Delete existing models first")
yes_no_widget("import_source_tags", "05. Import source tags")
yes_no_widget("use_src_user_id", "06. Keep the source user", default=YES)
yes_no_widget("import_permissions", "07. Import permissions")
yes_no_widget("verbose", "08. Verbose")
text_widget("tracking_uri", "09. Destination tracking URI (blank: this workspace)")
text_widget("registry_uri", "10. Destination registry URI (blank: the tracking server's)")
text_widget("workers", "11. Workers (blank: 8)")
text_widget("report_file", "12. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
model_rename_file = get_file("model_rename_file")
experiment_rename_file = get_file("experiment_rename_file")
delete_model = get_yes_no("delete_model")
import_source_tags = get_yes_no("import_source_tags")
use_src_user_id = get_yes_no("use_src_user_id")
import_permissions = get_yes_no("import_permissions")
verbose = get_yes_no("verbose")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_models import import_models

with operation("import-models", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    import_models(input_dir, delete_model, import_permissions=import_permissions,
                  import_source_tags=import_source_tags, use_src_user_id=use_src_user_id,
                  experiment_renames=experiment_rename_file, model_renames=model_rename_file, verbose=verbose,
                  mlflow_client=client, report=report, workers=workers)
