# Databricks notebook source
# MAGIC %md
# MAGIC # mlflow-export-import notebooks
# MAGIC
# MAGIC Copy MLflow objects (runs, experiments, registered models and versions, logged models, traces, prompts and
# MAGIC evaluation datasets) between workspaces, between a workspace registry and Unity Catalog, and to or from
# MAGIC open-source MLflow servers. Each notebook calls one function of the `mlflow-export-import` package; fill in
# MAGIC its widgets and run it. At the end it shows what it copied, skipped and failed as a table, and the last cell
# MAGIC fails when anything failed, so that a job running the notebook fails too.
# MAGIC
# MAGIC **Install the package first** (a cluster library, or `%pip install` in the notebook): see `README.md` in this
# MAGIC folder. Every notebook runs [`_common`]($./_common) first for its shared helpers.
# MAGIC
# MAGIC **Where to export.** Export and import notebooks hand objects over through a folder that both sides can read:
# MAGIC a Unity Catalog volume (`/Volumes/<catalog>/<schema>/<volume>/...`) or DBFS (`dbfs:/...`). A folder on the
# MAGIC driver's local disk is lost when the cluster stops. The copy notebooks need no folder.
# MAGIC
# MAGIC **Which servers.** A blank URI widget means this workspace. `databricks://<profile>` names another workspace
# MAGIC (a profile of a config file the cluster can read, `DATABRICKS_CONFIG_FILE`) and `databricks://<scope>:<prefix>`
# MAGIC one whose host and token are in a secret scope; a registry URI of `databricks-uc` names this workspace's Unity
# MAGIC Catalog. `http(s)://...` is an open-source MLflow server.
# MAGIC
# MAGIC ### Single objects: `single/`
# MAGIC Each export notebook has an import notebook that reads its folder.
# MAGIC * One run: [Export_Run]($./single/Export_Run), [Import_Run]($./single/Import_Run)
# MAGIC * One experiment with its runs: [Export_Experiment]($./single/Export_Experiment),
# MAGIC   [Import_Experiment]($./single/Import_Experiment)
# MAGIC * One registered model with its versions: [Export_Registered_Model]($./single/Export_Registered_Model),
# MAGIC   [Import_Registered_Model]($./single/Import_Registered_Model)
# MAGIC * One model version with its run: [Export_Model_Version]($./single/Export_Model_Version),
# MAGIC   [Import_Model_Version]($./single/Import_Model_Version)
# MAGIC * One MLflow 3 logged model: [Export_Logged_Model]($./single/Export_Logged_Model),
# MAGIC   [Import_Logged_Model]($./single/Import_Logged_Model)
# MAGIC * One trace: [Export_Trace]($./single/Export_Trace), [Import_Trace]($./single/Import_Trace)
# MAGIC * One prompt version: [Export_Prompt]($./single/Export_Prompt), [Import_Prompt]($./single/Import_Prompt)
# MAGIC * One evaluation dataset: [Export_Evaluation_Dataset]($./single/Export_Evaluation_Dataset),
# MAGIC   [Import_Evaluation_Dataset]($./single/Import_Evaluation_Dataset)
# MAGIC
# MAGIC ### Many objects: `bulk/`
# MAGIC * Everything a tracking server holds: [Export_All]($./bulk/Export_All), [Import_All]($./bulk/Import_All)
# MAGIC * A whole server, runs copied on the cluster's executors: [Migrate_On_Spark]($./bulk/Migrate_On_Spark)
# MAGIC * Experiments with their runs: [Export_Experiments]($./bulk/Export_Experiments),
# MAGIC   [Import_Experiments]($./bulk/Import_Experiments)
# MAGIC * Registered models with their versions and runs: [Export_Registered_Models]($./bulk/Export_Registered_Models),
# MAGIC   [Import_Registered_Models]($./bulk/Import_Registered_Models)
# MAGIC * The logged models of experiments: [Export_Logged_Models]($./bulk/Export_Logged_Models),
# MAGIC   [Import_Logged_Models]($./bulk/Import_Logged_Models)
# MAGIC * The traces of experiments: [Export_Traces]($./bulk/Export_Traces), [Import_Traces]($./bulk/Import_Traces)
# MAGIC * Prompts with all their versions: [Export_Prompts]($./bulk/Export_Prompts),
# MAGIC   [Import_Prompts]($./bulk/Import_Prompts)
# MAGIC * Evaluation datasets: [Export_Evaluation_Datasets]($./bulk/Export_Evaluation_Datasets),
# MAGIC   [Import_Evaluation_Datasets]($./bulk/Import_Evaluation_Datasets)
# MAGIC
# MAGIC ### Copy without an export folder: `copy/`
# MAGIC * [Copy_Run]($./copy/Copy_Run): a run into an experiment of this or another tracking server.
# MAGIC * [Copy_Model_Version]($./copy/Copy_Model_Version): a model version to a model of this or another registry
# MAGIC   (workspace registry, Unity Catalog, another workspace), deep (with its run) or shallow.
# MAGIC
# MAGIC ### Tools: `tools/`
# MAGIC * [Verify]($./tools/Verify): compare a source and a destination object by object after a copy.
# MAGIC * Signatures, which Unity Catalog requires:
# MAGIC   [List_Model_Versions_Without_Signatures]($./tools/List_Model_Versions_Without_Signatures) finds the versions
# MAGIC   that have none, [Set_Model_Signature]($./tools/Set_Model_Signature) gives a model one inferred from example
# MAGIC   inputs and outputs, [Get_Model_Signature]($./tools/Get_Model_Signature) shows a model's.
