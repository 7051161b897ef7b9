# Databricks notebook source
# MAGIC %md
# MAGIC ## Import a model version
# MAGIC
# MAGIC Creates the version exported by `Export_Model_Version` as a new version of a registered model; its run goes
# MAGIC into an experiment. Running it again adds nothing: a version already imported is skipped.
# MAGIC Calls `mlflow_export_import.model_version.import_model_version.import_model_version`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Model_Version` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `model`: the destination model (Unity Catalog: `catalog.schema.model`)
# MAGIC * `experiment_name`: the experiment for the version's run: in a workspace a path such as `/Users/<you>/<name>`
# MAGIC * `create_model`: create the model when it does not exist
# MAGIC * `import_stages_and_aliases`: give the version the source's stage and aliases (Unity Catalog: stages become
# MAGIC   aliases)
# MAGIC * `import_metadata`: also copy the model's description and tags
# MAGIC * `import_source_tags`: also write the source fields as `mlflow_exim.*` tags
# MAGIC * `import_permissions`: also apply the exported Databricks permissions
# MAGIC * `tracking_uri`, `registry_uri`: the destination: blank for this workspace; registry `databricks-uc` for its
# MAGIC   Unity Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "01. Input directory")
text_widget("model", "02. Destination registered model")
text_widget("experiment_name", "03. Destination experiment for the run")
yes_no_widget("create_model", "04. Create the model if missing")
yes_no_widget("import_stages_and_aliases", "05. Import stage and aliases")
yes_no_widget("import_metadata", "06. Import the model's description and tags")
yes_no_widget("import_source_tags", "07. Import source tags")
yes_no_widget("import_permissions", "08. Import permissions")
text_widget("tracking_uri", "09. Destination tracking URI (blank: this workspace)")
text_widget("registry_uri", "10. Destination registry URI (blank: the tracking server's)")
text_widget("report_file", "11. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
model = get_required("model")
experiment_name = get_required("experiment_name")
create_model = get_yes_no("create_model")
import_stages_and_aliases = get_yes_no("import_stages_and_aliases")
import_metadata = get_yes_no("import_metadata")
import_source_tags = get_yes_no("import_source_tags")
import_permissions = get_yes_no("import_permissions")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.model_version.import_model_version import import_model_version

with operation("import-model-version", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    version = import_model_version(model, experiment_name, input_dir, create_model=create_model,
                                   import_permissions=import_permissions, import_source_tags=import_source_tags,
                                   import_stages_and_aliases=import_stages_and_aliases,
                                   import_metadata=import_metadata, mlflow_client=client, report=report)
print(f"Version {version.version} of registered model '{model}'")
