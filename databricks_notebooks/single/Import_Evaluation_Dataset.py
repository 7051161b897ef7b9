# Databricks notebook source
# MAGIC %md
# MAGIC ## Import an evaluation dataset
# MAGIC
# MAGIC Creates the dataset exported by `Export_Evaluation_Dataset`, or completes one of that name with the records it
# MAGIC lacks; its experiment links point at the destination experiments of the same names.
# MAGIC Calls `mlflow_export_import.evaluation_dataset.import_evaluation_dataset.import_evaluation_dataset`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `input_dir`: the folder `Export_Evaluation_Dataset` wrote (`/Volumes/...` or `dbfs:/...`)
# MAGIC * `evaluation_dataset_name`: optional, the destination dataset's name (blank: the source's)
# MAGIC * `delete_evaluation_dataset`: first delete a destination dataset of that name
# MAGIC * `tracking_uri`: the destination tracking server
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("input_dir", "1. Input directory")
text_widget("evaluation_dataset_name", "2. Destination dataset name (blank: the source's)")
yes_no_widget("delete_evaluation_dataset", "3. Delete an existing dataset first")
text_widget("tracking_uri", "4. Destination tracking URI")
text_widget("report_file", "5. Report file (JSON, optional)")

input_dir = get_dir("input_dir")
evaluation_dataset_name = get_text("evaluation_dataset_name")
delete_evaluation_dataset = get_yes_no("delete_evaluation_dataset")
tracking_uri = get_text("tracking_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.evaluation_dataset.import_evaluation_dataset import import_evaluation_dataset

with operation("import-evaluation-dataset", report_file) as report:
    client = mlflow_client(tracking_uri)
    import_evaluation_dataset(input_dir, evaluation_dataset_name, delete_dataset=delete_evaluation_dataset,
                              mlflow_client=client, report=report)
