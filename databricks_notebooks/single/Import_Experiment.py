# Databricks notebook source
# MAGIC %md
# MAGIC ## Import an experiment
# MAGIC
# MAGIC Creates the experiment exported by `Export_Experiment` (or fills an existing one of that name) with its runs,
# MAGIC nested-run links, logged models and traces. Running it again adds nothing: imported runs are skipped,
# MAGIC half-imported ones completed.
# MAGIC Calls `mlflow_export_import.experiment.import_experiment.import_experiment`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Experiment` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `experiment_name`: the destination experiment: in a workspace an absolute path such as `/Users/<you>/<name>`
# MAGIC * `import_source_tags`: also write the source runs' fields as `mlflow_exim.*` tags
# MAGIC * `use_src_user_id`: keep the source runs' user (`no`: the importing user)
# MAGIC * `import_permissions`: also apply the exported Databricks permissions
# MAGIC * `dst_notebook_dir`: optional, workspace folder to import the runs' exported notebooks into
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `workers`: runs imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("experiment_name", "2. Destination experiment")
yes_no_widget("import_source_tags", "3. Import source tags")
yes_no_widget("use_src_user_id", "4. Keep the source user", default=YES)
yes_no_widget("import_permissions", "5. Import permissions")
text_widget("dst_notebook_dir", "6. Destination notebook folder (optional)")
text_widget("tracking_uri", "7. Destination tracking URI (blank: this workspace)")
text_widget("workers", "8. Workers (blank: 8)")
text_widget("report_file", "9. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
experiment_name = get_required("experiment_name")
import_source_tags = get_yes_no("import_source_tags")
use_src_user_id = get_yes_no("use_src_user_id")
import_permissions = get_yes_no("import_permissions")
dst_notebook_dir = get_text("dst_notebook_dir")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.experiment.import_experiment import import_experiment

with operation("import-experiment", report_file) as report:
    client = mlflow_client(tracking_uri)
    import_experiment(experiment_name, input_dir, import_source_tags=import_source_tags,
                      import_permissions=import_permissions, use_src_user_id=use_src_user_id,
                      dst_notebook_dir=dst_notebook_dir, mlflow_client=client, report=report, workers=workers)
