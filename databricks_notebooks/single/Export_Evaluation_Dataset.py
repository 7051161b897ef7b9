# Databricks notebook source
# MAGIC %md
# MAGIC ## Export an evaluation dataset
# MAGIC
# MAGIC Writes one GenAI evaluation dataset (its records, tags, schema and experiment links) to a folder. Import it
# MAGIC with `Import_Evaluation_Dataset`. On Databricks, evaluation datasets are Unity Catalog tables behind a SQL
# MAGIC warehouse, outside the MLflow API: this notebook copies those of open-source MLflow servers.
# MAGIC Calls `mlflow_export_import.evaluation_dataset.export_evaluation_dataset.export_evaluation_dataset`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `dataset_name`: the dataset's name (or give `dataset_id`)
# MAGIC * `dataset_id`: the dataset's id, when several datasets share a name
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`: the source tracking server
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("dataset_name", "1. Dataset name")
text_widget("dataset_id", "2. Dataset ID (instead of the name)")
text_widget("output_dir", "3. Output directory")
text_widget("tracking_uri", "4. Source tracking URI")
text_widget("report_file", "5. Report file (JSON, optional)")

dataset_name = get_text("dataset_name")
dataset_id = get_text("dataset_id")
if not dataset_name and not dataset_id:
    raise WidgetError("Fill in the widget 'dataset_name' or 'dataset_id' and run the notebook again")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import export_evaluation_dataset

with operation("export-evaluation-dataset", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_evaluation_dataset(output_dir, dataset_name=dataset_name, dataset_id=dataset_id, mlflow_client=client,
                              report=report)
