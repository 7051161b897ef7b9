# Databricks notebook source
# MAGIC %md
# MAGIC ## List model versions without a signature
# MAGIC
# MAGIC Unity Catalog only accepts model versions whose model has a signature (inputs and outputs). Before moving a
# MAGIC workspace registry into Unity Catalog, this notebook lists the versions that have none; give them one with
# MAGIC `Set_Model_Signature`, then run the import again.
# MAGIC Calls `mlflow_export_import.tools.list_model_versions_without_signatures.as_pandas_df`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `filter`: optional, a registry search filter such as `name = 'my_model'` (blank: every version)
# MAGIC * `use_get_model_info`: read each signature with `mlflow.models.get_model_info` instead of the MLmodel file
# MAGIC * `tracking_uri`, `registry_uri`: blank for this workspace's registry; registry `databricks-uc` for its Unity
# MAGIC   Catalog
# MAGIC * `workers`: versions checked in parallel (blank: 8)
# MAGIC * `output_file`: optional, also write the table as CSV to this file
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("filter", "1. Filter (optional)")
yes_no_widget("use_get_model_info", "2. Use get_model_info")
text_widget("tracking_uri", "3. Tracking URI (blank: this workspace)")
text_widget("registry_uri", "4. Registry URI (blank: the tracking server's)")
text_widget("workers", "5. Workers (blank: 8)")
text_widget("output_file", "6. Output file (CSV, optional)")
text_widget("report_file", "7. Report file (JSON, optional)")

filter_string = get_text("filter")
use_get_model_info = get_yes_no("use_get_model_info")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
workers = get_int("workers")
output_file = get_file("output_file")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.tools.list_model_versions_without_signatures import as_pandas_df

with operation("list-model-versions-without-signatures", report_file) as report:
    client = mlflow_client(tracking_uri, registry_uri)
    versions = as_pandas_df(filter_string, use_get_model_info, mlflow_client=client, workers=workers, report=report)
print(f"{len(versions)} model versions without a signature")
display(versions)
if output_file:
    versions.to_csv(output_file, index=False)
