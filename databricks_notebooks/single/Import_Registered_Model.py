# Databricks notebook source
# MAGIC %md
# MAGIC ## Import a registered model
# MAGIC
# MAGIC Creates the model exported by `Export_Registered_Model` with its versions, in the source's order and, for a
# MAGIC new model, with the source's numbers; the versions' runs go into one experiment. Into Unity Catalog, stages
# MAGIC become aliases. Running it again adds nothing.
# MAGIC Calls `mlflow_export_import.model.import_model.import_model`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Registered_Model` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `model`: the destination model (Unity Catalog: `catalog.schema.model`)
# MAGIC * `experiment_name`: the experiment for the versions' runs: in a workspace a path such as `/Users/<you>/<name>`
# MAGIC * `delete_model`: first delete a destination model of that name that an import did not make
# MAGIC * `import_source_tags`: also write the source fields as `mlflow_exim.*` tags
# MAGIC * `import_permissions`: also apply the exported Databricks permissions
# MAGIC * `verbose`: log the versions' details
# MAGIC * `tracking_uri`, `registry_uri`: the destination: blank for this workspace; registry `databricks-uc` for its
# MAGIC   Unity Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "01. Input directory")
text_widget("model", "02. Destination registered model")
text_widget("experiment_name", "03. Destination experiment for the runs")
yes_no_widget("delete_model", "04. Delete an existing model first")
yes_no_widget("import_source_tags", "05. Import source tags")
yes_no_widget("import_permissions", "06. Import permissions")
yes_no_widget("verbose", "07. Verbose")
text_widget("tracking_uri", "08. Destination tracking URI (blank: this workspace)")
text_widget("registry_uri", "09. Destination registry URI (blank: the tracking server's)")
text_widget("report_file", "10. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
model = get_required("model")
experiment_name = get_required("experiment_name")
delete_model = get_yes_no("delete_model")
import_source_tags = get_yes_no("import_source_tags")
import_permissions = get_yes_no("import_permissions")
verbose = get_yes_no("verbose")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.model.import_model import import_model

with operation("import-model", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    import_model(model, experiment_name, input_dir, delete_model=delete_model,
                 import_permissions=import_permissions, import_source_tags=import_source_tags, verbose=verbose,
                 mlflow_client=client, report=report)
