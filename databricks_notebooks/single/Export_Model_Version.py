# Databricks notebook source
# MAGIC %md
# MAGIC ## Export a model version
# MAGIC
# MAGIC Writes one registered model version, its model and its run to a folder. Import it with
# MAGIC `Import_Model_Version`.
# MAGIC Calls `mlflow_export_import.model_version.export_model_version.export_model_version`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `model`, `version`: the registered model (Unity Catalog: `catalog.schema.model`) and the version number
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `vrm_export_version_model`: also export the registry's own copy of the version's model files
# MAGIC * `vrm_model_artifact_path`: with `vrm_export_version_model`, put those files under this run artifact path
# MAGIC   and point the exported version at them
# MAGIC * `skip_download_run_artifacts`: write the run's metadata only, not its artifacts (very large models)
# MAGIC * `export_permissions`: also export the model's Databricks permissions
# MAGIC * `notebook_formats`: also export the notebook the run came from, in these formats
# MAGIC * `tracking_uri`, `registry_uri`: the source: blank for this workspace; registry `databricks-uc` for its Unity
# MAGIC   Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("model", "01. Registered model")
text_widget("version", "02. Version")
text_widget("output_dir", "03. Output directory")
yes_no_widget("vrm_export_version_model", "04. Export the registry's model files")
text_widget("vrm_model_artifact_path", "05. Artifact path for the registry's model files (optional)")
yes_no_widget("skip_download_run_artifacts", "06. Skip the run's artifacts")
yes_no_widget("export_permissions", "07. Export permissions")
notebook_formats_widget("notebook_formats", "08. Notebook formats")
text_widget("tracking_uri", "09. Source tracking URI (blank: this workspace)")
text_widget("registry_uri", "10. Source registry URI (blank: the tracking server's)")
text_widget("report_file", "11. Report file (JSON, optional)")

model = get_required("model")
version = get_required("version")
output_dir = get_dir("output_dir")
vrm_export_version_model = get_yes_no("vrm_export_version_model")
vrm_model_artifact_path = get_text("vrm_model_artifact_path") or ""
skip_download_run_artifacts = get_yes_no("skip_download_run_artifacts")
export_permissions = get_yes_no("export_permissions")
notebook_formats = get_list("notebook_formats")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.model_version.export_model_version import export_model_version

with operation("export-model-version", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    export_model_version(model, version, output_dir, export_version_model=vrm_export_version_model,
                         vrm_model_artifact_path=vrm_model_artifact_path,
                         skip_download_run_artifacts=skip_download_run_artifacts,
                         export_permissions=export_permissions, notebook_formats=notebook_formats,
                         mlflow_client=client, report=report)
