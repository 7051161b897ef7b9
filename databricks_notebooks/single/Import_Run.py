# Databricks notebook source
# MAGIC %md
# MAGIC ## Import a run
# MAGIC
# MAGIC Creates the run exported by `Export_Run` in an experiment (created if missing), with its logged models.
# MAGIC Running it again adds nothing: a run already imported is skipped, a half-imported one is completed.
# MAGIC Calls `mlflow_export_import.run.import_run.import_run`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Run` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `experiment_name`: the destination experiment: in a workspace an absolute path such as `/Users/<you>/<name>`
# MAGIC * `import_source_tags`: also write the source run's fields as `mlflow_exim.*` tags
# MAGIC * `use_src_user_id`: keep the source run's user (`no`: the importing user)
# MAGIC * `dst_notebook_dir`: optional, workspace folder to import the run's exported notebook into
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("experiment_name", "2. Destination experiment")
yes_no_widget("import_source_tags", "3. Import source tags")
yes_no_widget("use_src_user_id", "4. Keep the source user", default=YES)
text_widget("dst_notebook_dir", "5. Destination notebook folder (optional)")
text_widget("tracking_uri", "6. Destination tracking URI (blank: this workspace)")
text_widget("report_file", "7. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
experiment_name = get_required("experiment_name")
import_source_tags = get_yes_no("import_source_tags")
use_src_user_id = get_yes_no("use_src_user_id")
dst_notebook_dir = get_text("dst_notebook_dir")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.run.import_run import import_run

with operation("import-run", report_file) as report:
    client = mlflow_client(tracking_uri)
    run, _ = import_run(input_dir, experiment_name, import_source_tags=import_source_tags,
                        dst_notebook_dir=dst_notebook_dir, use_src_user_id=use_src_user_id,
                        import_logged_models=True, mlflow_client=client, report=report)
print(f"Run '{run.info.run_id}' of experiment '{experiment_name}'")
