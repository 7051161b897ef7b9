# Databricks notebook source
# MAGIC %md
# MAGIC ## Import experiments
# MAGIC
# MAGIC Imports a folder written by `Export_Experiments`: each experiment, under its own name or renamed, with its
# MAGIC runs, logged models and traces. Running it again adds nothing; an interrupted import is completed.
# MAGIC Calls `mlflow_export_import.bulk.import_experiments.import_experiments`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Experiments` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `experiment_rename_file`: optional file of `old,new` experiment name prefixes, one per line; into a workspace,
# MAGIC   map open-source names to paths (`team_a,/Users/me@example.com/team_a`)
# MAGIC * `import_source_tags`: also write the source runs' fields as `mlflow_exim.*` tags
# MAGIC * `use_src_user_id`: keep the source runs' user (`no`: the importing user)
# MAGIC * `import_permissions`: also apply the exported Databricks permissions
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `workers`: runs imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("experiment_rename_file", "2. Experiment rename file (optional)")
yes_no_widget("import_source_tags", "3. Import source tags")
yes_no_widget("use_src_user_id", "4. Keep the source user", default=YES)
yes_no_widget("import_permissions", "5. Import permissions")
text_widget("tracking_uri", "6. Destination tracking URI (blank: this workspace)")
text_widget("workers", "7. Workers (blank: 8)")
text_widget("report_file", "8. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
experiment_rename_file = get_file("experiment_rename_file")
import_source_tags = get_yes_no("import_source_tags")
use_src_user_id = get_yes_no("use_src_user_id")
import_permissions = get_yes_no("import_permissions")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_experiments import import_experiments

with operation("import-experiments", report_file) as report:
    client = mlflow_client(tracking_uri)
    import_experiments(input_dir, import_permissions=import_permissions, import_source_tags=import_source_tags,
                       use_src_user_id=use_src_user_id, experiment_renames=experiment_rename_file,
                       mlflow_client=client, report=report, workers=workers)
