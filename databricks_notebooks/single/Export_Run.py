# Databricks notebook source
# MAGIC %md
# MAGIC ## Export a run
# MAGIC
# MAGIC Writes one run to a folder: its info, params, every metric point, tags, dataset inputs, the logged models it
# MAGIC used or produced, and its artifacts. Import it with `Import_Run`.
# MAGIC Calls `mlflow_export_import.run.export_run.export_run`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `run_id`: the run to export
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/<catalog>/<schema>/<volume>/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `notebook_formats`: also export the notebook the run came from, in these formats
# MAGIC * `tracking_uri`: the source tracking server: blank for this workspace, `databricks://<profile>` for another
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("run_id", "1. Run ID")
text_widget("output_dir", "2. Output directory")
notebook_formats_widget("notebook_formats", "3. Notebook formats")
text_widget("tracking_uri", "4. Source tracking URI (blank: this workspace)")
text_widget("report_file", "5. Report file (JSON, optional)")

run_id = get_required("run_id")
output_dir = get_dir("output_dir")
notebook_formats = get_list("notebook_formats")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.run.export_run import export_run

with operation("export-run", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_run(run_id, output_dir, notebook_formats=notebook_formats, mlflow_client=client,
               export_logged_models=True, report=report)
