# Databricks notebook source
# MAGIC %md
# MAGIC ## Migrate a whole tracking server on the cluster
# MAGIC
# MAGIC Exports everything a tracking server holds to a folder (as `Export_All`), then imports it into another (as
# MAGIC `Import_All`), with the runs exported and imported by the tasks of a Spark job on this cluster's executors:
# MAGIC the driver lists the work, creates the experiments and the destination runs (so a retried or speculative
# MAGIC task never makes a twin), the executors copy the runs, and the driver does the registered models, prompts,
# MAGIC traces and datasets afterwards. Running it again copies nothing twice; an interrupted import is completed.
# MAGIC Calls `export_all` and `import_all` of `mlflow_export_import.bulk` with `engine="spark"`.
# MAGIC
# MAGIC Needs a classic cluster (dedicated access mode; not serverless, whose sessions have no SparkContext) with the
# MAGIC package installed as a cluster library, so that the executors have it too. The executors make their own
# MAGIC MLflow clients from the URIs: for another workspace (`databricks://<profile>`) or plain `databricks` on the
# MAGIC executors, set the cluster's environment variables (`DATABRICKS_HOST`, `DATABRICKS_TOKEN` from a secret, or
# MAGIC `DATABRICKS_CONFIG_FILE` naming a config file on a volume).
# MAGIC
# MAGIC Widgets:
# MAGIC * `steps`: `export and import`, `export` only, or `import` only (of an earlier export)
# MAGIC * `dir`: the export folder, shared by the driver and the executors: a Unity Catalog volume (`/Volumes/...`) or
# MAGIC   DBFS (`dbfs:/...`); a driver-local folder does not work on a cluster
# MAGIC * `src_tracking_uri`, `src_registry_uri`: the source: blank for this workspace
# MAGIC * `dst_tracking_uri`, `dst_registry_uri`: the destination: blank for this workspace; registry `databricks-uc`
# MAGIC   for its Unity Catalog
# MAGIC * `export_deleted_runs`: also deleted runs and experiments (they arrive deleted)
# MAGIC * `experiment_rename_file`, `model_rename_file`: optional files of `old,new` name prefixes, one per line
# MAGIC * `engine`: `spark` (the runs on the executors) or `local` (threads of the driver only)
# MAGIC * `workers`: objects copied at once (blank: 8); with `spark`, runs at once in each task (blank: 4)
# MAGIC * `report_file`: optional, also write the summary of the import as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

EXPORT_AND_IMPORT, EXPORT, IMPORT = "export and import", "export", "import"
dbutils.widgets.dropdown("steps", EXPORT_AND_IMPORT, [EXPORT_AND_IMPORT, EXPORT, IMPORT], "01. Steps")
text_widget("dir", "02. Export directory")
text_widget("src_tracking_uri", "03. Source tracking URI (blank: this workspace)")
text_widget("src_registry_uri", "04. Source registry URI (blank: the tracking server's)")
text_widget("dst_tracking_uri", "05. Destination tracking URI (blank: this workspace)")
text_widget("dst_registry_uri", "06. Destination registry URI (blank: the tracking server's)")
yes_no_widget("export_deleted_runs", "07. Export deleted runs")
text_widget("experiment_rename_file", "08. Experiment rename file (optional)")
text_widget("model_rename_file", "09. Model rename file (optional)")
dbutils.widgets.dropdown("engine", "spark", ["spark", "local"], "10. Engine")
text_widget("workers", "11. Workers (blank: 8; per Spark task: 4)")
text_widget("report_file", "12. Report file of the import (JSON, optional)")

steps = dbutils.widgets.get("steps")
export_dir = get_dir("dir")
src_tracking_uri, src_registry_uri = get_text("src_tracking_uri"), get_text("src_registry_uri")
dst_tracking_uri, dst_registry_uri = get_text("dst_tracking_uri"), get_text("dst_registry_uri")
export_deleted_runs = get_yes_no("export_deleted_runs")
experiment_rename_file = get_file("experiment_rename_file")
model_rename_file = get_file("model_rename_file")
engine = dbutils.widgets.get("engine")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_all import export_all

if steps in (EXPORT_AND_IMPORT, EXPORT):
    with operation("export-all") as report:
        export_all(export_dir, export_deleted_runs=export_deleted_runs,
                   mlflow_client=mlflow_client(src_tracking_uri, src_registry_uri), report=report, workers=workers,
                   engine=engine)

# COMMAND ----------

from mlflow_export_import.bulk.import_all import import_all

if steps in (EXPORT_AND_IMPORT, IMPORT):
    with operation("import-all", report_file) as report:
        import_all(export_dir, delete_model=False, experiment_renames=experiment_rename_file,
                   model_renames=model_rename_file, mlflow_client=mlflow_client(dst_tracking_uri, dst_registry_uri),
                   report=report, workers=workers, engine=engine)
