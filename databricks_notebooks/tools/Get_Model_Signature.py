# Databricks notebook source
# MAGIC %md
# MAGIC ## Show a model's signature
# MAGIC
# MAGIC Shows the signature (inputs, outputs, params) of a model as a table; none when the model has no signature.
# MAGIC Calls `mlflow_export_import.tools.get_model_signature.get_signature`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `model_uri`: `runs:/<run_id>/<path>`, `models:/<name>/<version>` (or `@<alias>`), `models:/<logged model id>`,
# MAGIC   or an artifact URI
# MAGIC * `use_get_model_info`: read it with `mlflow.models.get_model_info` instead of the MLmodel file
# MAGIC * `tracking_uri`, `registry_uri`: blank for this workspace; registry `databricks-uc` for its Unity Catalog
# MAGIC * `output_file`: optional, also write the signature as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("model_uri", "1. Model URI")
yes_no_widget("use_get_model_info", "2. Use get_model_info")
text_widget("tracking_uri", "3. Tracking URI (blank: this workspace)")
text_widget("registry_uri", "4. Registry URI (blank: the tracking server's)")
text_widget("output_file", "5. Output file (JSON, optional)")

model_uri = get_required("model_uri")
use_get_model_info = get_yes_no("use_get_model_info")
tracking_uri = get_text("tracking_uri")
registry_uri = get_text("registry_uri")
output_file = get_file("output_file")

# COMMAND ----------

from mlflow_export_import.tools.get_model_signature import describe_signature, get_signature


def signature_table(signature):
    """One row per input, output and param: its name and type."""
    rows = [(part, field.get("name", ""), field.get("type", ""))
            for part in ("inputs", "outputs", "params") for field in (signature or {}).get(part) or []]
    return pd.DataFrame(rows, columns=["part", "name", "type"])


try:
    signature = get_signature(model_uri, output_file, use_get_model_info, mlflow_client(tracking_uri, registry_uri))
except OPERATION_ERRORS as ex:
    raise OperationFailed(f"get-model-signature: {describe_error(ex)}") from None
print(f"Signature of {model_uri}: {describe_signature(signature)}")
display(signature_table(signature))
