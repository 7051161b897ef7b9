# Databricks notebook source
# MAGIC %md
# MAGIC ## Export a registered model
# MAGIC
# MAGIC Writes a registered model (description, tags, aliases) with its versions in numeric order and the run of each
# MAGIC version to a folder. Import it with `Import_Registered_Model`.
# MAGIC Calls `mlflow_export_import.model.export_model.export_model`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `model`: the registered model (Unity Catalog: `catalog.schema.model`)
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `stages`: optional, only the versions in these stages (not with `versions`)
# MAGIC * `versions`: optional, only these versions, comma separated
# MAGIC * `export_latest_versions`: only the latest version of each stage
# MAGIC * `export_version_model`: also export the registry's own copy of each version's model files
# MAGIC * `export_deleted_runs`: also export versions whose run is deleted
# MAGIC * `export_permissions`: also export the model's Databricks permissions
# MAGIC * `notebook_formats`: also export the notebooks the runs came from, in these formats
# MAGIC * `tracking_uri`, `registry_uri`: the source: blank for this workspace; registry `databricks-uc` for its Unity
# MAGIC   Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("model", "01. Registered model")
text_widget("output_dir", "02. Output directory")
stages_widget("stages", "03. Stages (optional)")
text_widget("versions", "04. Versions (optional)")
yes_no_widget("export_latest_versions", "05. Latest versions only")
yes_no_widget("export_version_model", "06. Export the registry's model files")
yes_no_widget("export_deleted_runs", "07. Export deleted runs")
yes_no_widget("export_permissions", "08. Export permissions")
notebook_formats_widget("notebook_formats", "09. Notebook formats")
text_widget("tracking_uri", "10. Source tracking URI (blank: this workspace)")
text_widget("registry_uri", "11. Source registry URI (blank: the tracking server's)")
text_widget("report_file", "12. Report file (JSON, optional)")

model = get_required("model")
output_dir = get_dir("output_dir")
stages = get_list("stages")
versions = get_list("versions")
export_latest_versions = get_yes_no("export_latest_versions")
export_version_model = get_yes_no("export_version_model")
export_deleted_runs = get_yes_no("export_deleted_runs")
export_permissions = get_yes_no("export_permissions")
notebook_formats = get_list("notebook_formats")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.model.export_model import export_model

with operation("export-model", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    export_model(model, output_dir, stages=stages, versions=versions, export_latest_versions=export_latest_versions,
                 export_version_model=export_version_model, export_permissions=export_permissions,
                 export_deleted_runs=export_deleted_runs, notebook_formats=notebook_formats, mlflow_client=client,
                 report=report)
