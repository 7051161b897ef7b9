# Databricks notebook source
# MAGIC %md
# MAGIC ## Import a logged model
# MAGIC
# MAGIC Creates the logged model exported by `Export_Logged_Model` in an experiment (created if missing). Running it
# MAGIC again adds nothing.
# MAGIC Calls `mlflow_export_import.logged_model.import_logged_model.import_logged_model`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Logged_Model` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `experiment_name`: the destination experiment: in a workspace an absolute path such as `/Users/<you>/<name>`
# MAGIC * `mlmodel_fix`: rewrite the model id and run id inside the imported `MLmodel` file
# MAGIC * `tracking_uri`: the destination tracking server: blank for this workspace
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("experiment_name", "2. Destination experiment")
yes_no_widget("mlmodel_fix", "3. Rewrite the MLmodel file", default=YES)
text_widget("tracking_uri", "4. Destination tracking URI (blank: this workspace)")
text_widget("report_file", "5. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
experiment_name = get_required("experiment_name")
mlmodel_fix = get_yes_no("mlmodel_fix")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.logged_model.import_logged_model import import_logged_model

with operation("import-logged-model", report_file) as report:
    client = mlflow_client(tracking_uri)
    logged_model = import_logged_model(input_dir, experiment_name, mlmodel_fix=mlmodel_fix, mlflow_client=client,
                                       report=report)
if logged_model is not None:
    print(f"Logged model '{logged_model.model_id}' of experiment '{experiment_name}'")
