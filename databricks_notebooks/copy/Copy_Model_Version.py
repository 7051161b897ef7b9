# Databricks notebook source
# MAGIC %md
# MAGIC ## Copy a model version
# MAGIC
# MAGIC Copies a registered model version to a model of this or another registry: workspace registry, Unity Catalog
# MAGIC (`databricks-uc`), another workspace (`databricks://<profile>`), or an open-source MLflow server.
# MAGIC
# MAGIC * Deep copy (`dst_experiment_name` given): the version's run is copied into that experiment first and the new
# MAGIC   version points at the copy. Works between workspaces.
# MAGIC * Shallow copy (`dst_experiment_name` blank): the new version points at the source run. Works only when both
# MAGIC   sides share the tracking server (a workspace's registry to its own Unity Catalog, for example).
# MAGIC
# MAGIC Running it again adds nothing. Calls `mlflow_export_import.copy.copy_model_version.copy`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `src_model`, `src_version`: the source model and version number
# MAGIC * `dst_model`: the destination model (Unity Catalog: `catalog.schema.model`), created if missing
# MAGIC * `dst_experiment_name`: deep copy: the experiment for the copied run; blank for a shallow copy
# MAGIC * `src_registry_uri`, `dst_registry_uri`: the registries: blank for this workspace's, `databricks-uc` for its
# MAGIC   Unity Catalog, `databricks-uc://<profile>` for another workspace's
# MAGIC * `src_mlflow_uri`, `dst_mlflow_uri`: optional, the tracking servers, when the registry URI does not name
# MAGIC   them
# MAGIC * `copy_stages_and_aliases`: give the new version the source's stage and aliases (Unity Catalog: stages become
# MAGIC   aliases)
# MAGIC * `copy_lineage_tags`: tag the new version with where it came from (`mlflow_exim.src_version.*`, ...)
# MAGIC * `copy_permissions`: also copy Databricks permissions
# MAGIC * `verbose`: log both versions' details
# MAGIC * `report_file`: optional, also write the summary as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("src_model", "01. Source registered model")
text_widget("src_version", "02. Source version")
text_widget("dst_model", "03. Destination registered model")
text_widget("dst_experiment_name", "04. Destination experiment (blank: shallow copy)")
text_widget("src_registry_uri", "05. Source registry URI (blank: this workspace's)")
text_widget("dst_registry_uri", "06. Destination registry URI (blank: this workspace's)")
text_widget("src_mlflow_uri", "07. Source tracking URI (optional)")
text_widget("dst_mlflow_uri", "08. Destination tracking URI (optional)")
yes_no_widget("copy_stages_and_aliases", "09. Copy stage and aliases")
yes_no_widget("copy_lineage_tags", "10. Copy lineage tags")
yes_no_widget("copy_permissions", "11. Copy permissions")
yes_no_widget("verbose", "12. Verbose")
text_widget("report_file", "13. Report file (JSON, optional)")

src_model = get_required("src_model")
src_version = get_required("src_version")
dst_model = get_required("dst_model")
dst_experiment_name = get_text("dst_experiment_name")
src_registry_uri = get_text("src_registry_uri")
dst_registry_uri = get_text("dst_registry_uri")
src_mlflow_uri = get_text("src_mlflow_uri")
dst_mlflow_uri = get_text("dst_mlflow_uri")
copy_stages_and_aliases = get_yes_no("copy_stages_and_aliases")
copy_lineage_tags = get_yes_no("copy_lineage_tags")
copy_permissions = get_yes_no("copy_permissions")
verbose = get_yes_no("verbose")
report_file = get_file("report_file")

# COMMAND ----------

from mlflow_export_import.copy import copy_model_version

with operation("copy-model-version", report_file) as report:
    _, dst_version = copy_model_version.copy(
        src_model, src_version, dst_model, dst_experiment_name, src_tracking_uri=src_mlflow_uri,
        dst_tracking_uri=dst_mlflow_uri, src_registry_uri=src_registry_uri, dst_registry_uri=dst_registry_uri,
        copy_permissions=copy_permissions, copy_stages_and_aliases=copy_stages_and_aliases,
        copy_lineage_tags=copy_lineage_tags, verbose=verbose, report=report)
print(f"Version {src_version} of '{src_model}' is version {dst_version.version} of '{dst_model}'")
