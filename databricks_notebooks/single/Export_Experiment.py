# Databricks notebook source
# MAGIC %md
# MAGIC ## Export an experiment
# MAGIC
# MAGIC Writes an experiment and its runs (all of them, the listed ones, or those started in a time window), with
# MAGIC their logged models and traces, to a folder. Import it with `Import_Experiment`.
# MAGIC Calls `mlflow_export_import.experiment.export_experiment.export_experiment`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `experiment`: the experiment's name (a workspace path such as `/Users/<you>/<name>`) or id
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `run_ids`: optional, only these runs (comma separated)
# MAGIC * `check_nested_runs`: with `run_ids`: also every descendant of the listed runs
# MAGIC * `run_start_time`, `runs_until`: optional UTC window of run start times, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`:
# MAGIC   the start is inclusive, the end exclusive
# MAGIC * `export_deleted_runs`: also export deleted runs (they arrive deleted)
# MAGIC * `export_permissions`: also export the experiment's Databricks permissions
# MAGIC * `notebook_formats`: also export the notebooks the runs came from, in these formats
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace
# MAGIC * `workers`: runs exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("experiment", "01. Experiment name or ID")
text_widget("output_dir", "02. Output directory")
text_widget("run_ids", "03. Run IDs (optional)")
yes_no_widget("check_nested_runs", "04. With the runs' descendants")
text_widget("run_start_time", "05. Runs started from (UTC, optional)")
text_widget("runs_until", "06. Runs started before (UTC, optional)")
yes_no_widget("export_deleted_runs", "07. Export deleted runs")
yes_no_widget("export_permissions", "08. Export permissions")
notebook_formats_widget("notebook_formats", "09. Notebook formats")
text_widget("tracking_uri", "10. Source tracking URI (blank: this workspace)")
text_widget("workers", "11. Workers (blank: 8)")
text_widget("report_file", "12. Report file (JSON, optional)")

experiment = get_required("experiment")
output_dir = get_dir("output_dir")
run_ids = get_list("run_ids")
check_nested_runs = get_yes_no("check_nested_runs")
run_start_time = get_text("run_start_time")
runs_until = get_text("runs_until")
export_deleted_runs = get_yes_no("export_deleted_runs")
export_permissions = get_yes_no("export_permissions")
notebook_formats = get_list("notebook_formats")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.experiment.export_experiment import export_experiment

with operation("export-experiment", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_experiment(experiment, output_dir, run_ids=run_ids, export_permissions=export_permissions,
                      run_start_time=run_start_time, runs_until=runs_until, export_deleted_runs=export_deleted_runs,
                      check_nested_runs=check_nested_runs, notebook_formats=notebook_formats, mlflow_client=client,
                      report=report, workers=workers)
