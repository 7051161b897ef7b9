# Databricks notebook source
# MAGIC %md
# MAGIC ## Export registered models
# MAGIC
# MAGIC Writes registered models with their versions, and the experiments of the versions' runs, to a folder. Import
# MAGIC it with `Import_Registered_Models`.
# MAGIC Calls `mlflow_export_import.bulk.export_models.export_models`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `models`: `all`, names (comma separated), `prefix*`, or a `.txt` file of one per line
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `stages`: optional, only the versions in these stages
# MAGIC * `export_latest_versions`: only the latest version of each stage
# MAGIC * `export_all_runs`: every run of the versions' experiments, not only the versions' runs
# MAGIC * `run_start_time`, `runs_until`: optional UTC window of run start times (with `export_all_runs`)
# MAGIC * `export_deleted_runs`: also versions whose run is deleted
# MAGIC * `export_version_model`: also export the registry's own copy of each version's model files
# MAGIC * `export_permissions`: also export Databricks permissions
# MAGIC * `notebook_formats`: also export the notebooks the runs came from, in these formats
# MAGIC * `tracking_uri`, `registry_uri`: the source: blank for this workspace; registry `databricks-uc` for its Unity
# MAGIC   Catalog
# MAGIC * `workers`: objects exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("models", "01. Registered models")
text_widget("output_dir", "02. Output directory")
stages_widget("stages", "03. Stages (optional)")
yes_no_widget("export_latest_versions", "04. Latest versions only")
yes_no_widget("export_all_runs", "05. Export all runs of the experiments")
text_widget("run_start_time", "06. Runs started from (UTC, optional)")
text_widget("runs_until", "07. Runs started before (UTC, optional)")
yes_no_widget("export_deleted_runs", "08. Export deleted runs")
yes_no_widget("export_version_model", "09. Export the registry's model files")
yes_no_widget("export_permissions", "10. Export permissions")
notebook_formats_widget("notebook_formats", "11. Notebook formats")
text_widget("tracking_uri", "12. Source tracking URI (blank: this workspace)")
text_widget("registry_uri", "13. Source registry URI (blank: the tracking server's)")
text_widget("workers", "14. Workers (blank: 8)")
text_widget("report_file", "15. Report file (JSON, optional)")

models = get_selector("models")
output_dir = get_dir("output_dir")
stages = ",".join(get_list("stages"))
export_latest_versions = get_yes_no("export_latest_versions")
export_all_runs = get_yes_no("export_all_runs")
run_start_time = get_text("run_start_time")
runs_until = get_text("runs_until")
export_deleted_runs = get_yes_no("export_deleted_runs")
export_version_model = get_yes_no("export_version_model")
export_permissions = get_yes_no("export_permissions")
notebook_formats = get_list("notebook_formats")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_models import export_models

with operation("export-models", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    export_models(models, output_dir, stages=stages, export_latest_versions=export_latest_versions,
                  export_all_runs=export_all_runs, export_permissions=export_permissions,
                  run_start_time=run_start_time, runs_until=runs_until, export_deleted_runs=export_deleted_runs,
                  export_version_model=export_version_model, notebook_formats=notebook_formats,
                  mlflow_client=client, report=report, workers=workers)
