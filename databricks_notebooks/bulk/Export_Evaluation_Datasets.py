# Databricks notebook source
# MAGIC %md
# MAGIC ## Export evaluation datasets
# MAGIC
# MAGIC Writes GenAI evaluation datasets with their records to a folder. Import it with `Import_Evaluation_Datasets`.
# MAGIC On Databricks, evaluation datasets are Unity Catalog tables behind a SQL warehouse, outside the MLflow API:
# MAGIC this notebook copies those of open-source MLflow servers.
# MAGIC Calls `mlflow_export_import.bulk.export_evaluation_datasets.export_evaluation_datasets`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `evaluation_datasets`: `all`, dataset names (comma separated), or a `.txt` file of one per line
# MAGIC * `experiment_ids`: optional, with `all`: only the datasets linked to these experiments
# MAGIC * `output_dir`: a Unity Catalog volume (`/Volumes/...`) or DBFS (`dbfs:/...`) folder
# MAGIC * `tracking_uri`: the source tracking server
# MAGIC * `workers`: datasets exported in parallel (blank: 8)
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("evaluation_datasets", "1. Evaluation datasets")
text_widget("experiment_ids", "2. Only those of these experiments (optional)")
text_widget("output_dir", "3. Output directory")
text_widget("tracking_uri", "4. Source tracking URI")
text_widget("workers", "5. Workers (blank: 8)")
text_widget("report_file", "6. Report file (JSON, optional)")

evaluation_datasets = get_selector("evaluation_datasets")
experiment_ids = get_text("experiment_ids")
output_dir = get_dir("output_dir")
tracking_uri = get_text("tracking_uri")
workers = get_int("workers")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.bulk.export_evaluation_datasets import export_evaluation_datasets

with operation("export-evaluation-datasets", report_file) as report:
    client = mlflow_client(tracking_uri)
    export_evaluation_datasets(output_dir, evaluation_datasets, experiment_ids=experiment_ids, mlflow_client=client,
                               report=report, workers=workers)
