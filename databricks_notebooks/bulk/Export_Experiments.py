# Databricks notebook source
# MAGIC %md
# MAGIC ## Export experiments
# MAGIC
# MAGIC Writes several experiments (or all) with their runs, logged models and traces to a folder, one sub-folder per
# MAGIC experiment, and `experiments.json`. Import it with `Import_Experiments`.
# MAGIC Calls `mlflow_export_import.bulk.export_experiments.export_experiments`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `experiments`: `all`, names or ids (comma separated), `prefix*`, or a `.txt` file of one per line
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `run_start_time`, `runs_until`: optional UTC window of run start times, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`:
# MAGIC   the start is inclusive, the end exclusive
# MAGIC * `export_deleted_runs`: also deleted runs (and, with `all`, deleted experiments); they arrive deleted
# MAGIC * `export_permissions`: also export the experiments' Databricks permissions
# MAGIC * `notebook_formats`: also export the notebooks the runs came from, in these formats
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace
# MAGIC * `workers`: runs exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("experiments", "01. Experiments")
text_widget("output_dir", "02. Output directory")
text_widget("run_start_time", "03. Runs started from (UTC, optional)")
text_widget("runs_until", "04. Runs started before (UTC, optional)")
yes_no_widget("export_deleted_runs", "05. Export deleted runs")
yes_no_widget("export_permissions", "06. Export permissions")
notebook_formats_widget("notebook_formats", "07. Notebook formats")
text_widget("tracking_uri", "08. Source tracking URI (blank: this workspace)")
text_widget("workers", "09. Workers (blank: 8)")
text_widget("report_file", "10. Report file (JSON, optional)")

experiments = get_selector("experiments")
output_dir = get_dir("output_dir")
run_start_time = get_text("run_start_time")
runs_until = get_text("runs_until")
export_deleted_runs = get_yes_no("export_deleted_runs")
export_permissions = get_yes_no("export_permissions")
notebook_formats = get_list("notebook_formats")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_experiments import export_experiments

with operation("export-experiments", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_experiments(experiments, output_dir, export_permissions=export_permissions,
                       run_start_time=run_start_time, runs_until=runs_until, export_deleted_runs=export_deleted_runs,
                       notebook_formats=notebook_formats, mlflow_client=client, report=report, workers=workers)
