# Databricks notebook source
# MAGIC %md
# MAGIC ## Export everything
# MAGIC
# MAGIC Writes every registered model, every experiment with all its runs (each run once), logged models, traces,
# MAGIC prompts and evaluation datasets of a tracking server to a folder, `manifest.json` last. Import it with
# MAGIC `Import_All`.
# MAGIC Calls `mlflow_export_import.bulk.export_all.export_all`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `stages`: optional, only the model versions in these stages
# MAGIC * `export_latest_versions`: only the latest version of each stage
# MAGIC * `run_start_time`, `runs_until`: optional UTC window of run start times, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`:
# MAGIC   the start is inclusive, the end exclusive
# MAGIC * `export_deleted_runs`: also deleted runs and experiments (they arrive deleted)
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

text_widget("output_dir", "01. Output directory")
stages_widget("stages", "02. Stages (optional)")
yes_no_widget("export_latest_versions", "03. Latest versions only")
text_widget("run_start_time", "04. Runs started from (UTC, optional)")
text_widget("runs_until", "05. Runs started before (UTC, optional)")
yes_no_widget("export_deleted_runs", "06. Export deleted runs")
yes_no_widget("export_version_model", "07. Export the registry's model files")
yes_no_widget("export_permissions", "08. Export permissions")
notebook_formats_widget("notebook_formats", "09. Notebook formats")
text_widget("tracking_uri", "10. Source tracking URI (blank: this workspace)")
text_widget("registry_uri", "11. Source registry URI (blank: the tracking server's)")
text_widget("workers", "12. Workers (blank: 8)")
text_widget("report_file", "13. Report file (JSON, optional)")

output_dir = get_dir("output_dir")
stages = ",".join(get_list("stages"))
export_latest_versions = get_yes_no("export_latest_versions")
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

from mlflow_export_import.bulk.export_all import export_all

with operation("export-all", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    export_all(output_dir, run_start_time=run_start_time, runs_until=runs_until, stages=stages,
               export_latest_versions=export_latest_versions, export_deleted_runs=export_deleted_runs,
               export_version_model=export_version_model, export_permissions=export_permissions,
               notebook_formats=notebook_formats, mlflow_client=client, report=report, workers=workers)
