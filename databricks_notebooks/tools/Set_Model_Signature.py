# Databricks notebook source
# MAGIC %md
# MAGIC ## Set a model's signature
# MAGIC
# MAGIC Infers a signature from a table of example inputs and a table of the model's outputs for them, and writes it
# MAGIC into the MLmodel file of the model's artifacts (a registered version: of the run or logged model it was
# MAGIC registered from). Unity Catalog requires inputs and outputs. A model that has a signature keeps it unless
# MAGIC `overwrite_signature` is `yes`.
# MAGIC Calls `mlflow_export_import.tools.set_model_signature.set_signature`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `model_uri`: `runs:/<run_id>/<path>`, `models:/<name>/<version>`, `models:/<logged model id>`, or an
# MAGIC   artifact URI
# MAGIC * `input_file`: example inputs: a CSV file with a header row (or `.json` / `.jsonl`), on a volume or DBFS
# MAGIC * `output_file`: the model's outputs for those inputs, same formats
# MAGIC * `overwrite_signature`: replace a signature the model already has
# MAGIC * `tracking_uri`, `registry_uri`: blank for this workspace; registry `databricks-uc` for its Unity Catalog
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("model_uri", "1. Model URI")
text_widget("input_file", "2. Input examples file")
text_widget("output_file", "3. Output examples file")
yes_no_widget("overwrite_signature", "4. Overwrite an existing signature")
text_widget("tracking_uri", "5. Tracking URI (blank: this workspace)")
text_widget("registry_uri", "6. Registry URI (blank: the tracking server's)")
text_widget("report_file", "7. Report file (JSON, optional)")

model_uri = get_required("model_uri")
input_file = local_path(get_required("input_file"))
output_file = get_file("output_file")
overwrite_signature = get_yes_no("overwrite_signature")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.tools.set_model_signature import set_signature

facts = {}
with operation("set-model-signature", report_file) as report:
    report.facts = facts  # the tool's findings: where the files are, the signature before and after
    client = mlflow_client(tracking_uri, registry_uri)
    set_signature(model_uri, input_file, output_file, overwrite_signature, mlflow_client=client, report=report)
display(pd.DataFrame(list(facts.items()), columns=["fact", "value"]))
