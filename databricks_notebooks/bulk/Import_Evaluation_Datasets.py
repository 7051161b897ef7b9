# Databricks notebook source
# MAGIC %md
# MAGIC ## Import evaluation datasets
# MAGIC
# MAGIC Imports a folder written by `Export_Evaluation_Datasets`: each dataset is created, or completed with the
# MAGIC records it lacks; its experiment links point at the destination experiments of the same names.
# MAGIC Calls `mlflow_export_import.bulk.import_evaluation_datasets.import_evaluation_datasets`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Evaluation_Datasets` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `delete_evaluation_dataset`: first delete destination datasets of the same names
# MAGIC * `tracking_uri`: the destination tracking server
# MAGIC * `workers`: datasets imported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
yes_no_widget("delete_evaluation_dataset", "2. Delete existing datasets first")
text_widget("tracking_uri", "3. Destination tracking URI")
text_widget("workers", "4. Workers (blank: 8)")
text_widget("report_file", "5. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
delete_evaluation_dataset = get_yes_no("delete_evaluation_dataset")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.import_evaluation_datasets import import_evaluation_datasets

with operation("import-evaluation-datasets", report_file) as report:
    client = mlflow_client(tracking_uri)
    import_evaluation_datasets(input_dir, delete_dataset=delete_evaluation_dataset, mlflow_client=client,
                               report=report, workers=workers)
