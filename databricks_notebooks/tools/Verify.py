# Databricks notebook source
# MAGIC %md
# MAGIC ## Verify a copy
# MAGIC
# MAGIC Compares a source and a destination, object by object: experiments, runs (params, full metric histories,
# MAGIC tags, times, status, user, parent, dataset inputs, artifact listings and checksums), registered models,
# MAGIC versions, stages, aliases, logged models, traces and spans, prompts and evaluation datasets. Imported objects
# MAGIC are matched to their sources through the import's lineage tags. Each side is a tracking server or an export
# MAGIC folder. Shows a table of counts per object type and one of every difference; the cell fails when anything
# MAGIC differs, so a job running the notebook fails too.
# MAGIC Calls `mlflow_export_import.verify.verify.verify`.
# MAGIC
# MAGIC Widgets:
# MAGIC * `src_dir`: the source as an export folder (`/Volumes/...` or `dbfs:/...`); blank: the source tracking server
# MAGIC * `src_uri`, `src_registry_uri`: the source tracking server and registry: blank for this workspace
# MAGIC * `dst_dir`: the destination as an export folder; blank: the destination tracking server
# MAGIC * `dst_uri`, `dst_registry_uri`: the destination tracking server and registry: blank for this workspace
# MAGIC * `experiments`, `models`, `prompts`, `evaluation_datasets`: what to compare: `all`, names (experiments: or ids,
# MAGIC   comma separated), `prefix*`, or a `.txt` file. All blank: everything the source has
# MAGIC * `include_deleted`: also compare deleted experiments and runs
# MAGIC * `artifact_checksums`: compare the content (sha256) of every artifact, not only the listings and sizes
# MAGIC * `workers`: objects compared in parallel (blank: 8)
# MAGIC * `json_file`: optional, also write the result as JSON to this file

# COMMAND ----------

# MAGIC %run ../_common

# COMMAND ----------

text_widget("src_dir", "01. Source export folder (blank: a server)")
text_widget("src_uri", "02. Source tracking URI (blank: this workspace)")
text_widget("src_registry_uri", "03. Source registry URI (blank: the tracking server's)")
text_widget("dst_dir", "04. Destination export folder (blank: a server)")
text_widget("dst_uri", "05. Destination tracking URI (blank: this workspace)")
text_widget("dst_registry_uri", "06. Destination registry URI (blank: the tracking server's)")
text_widget("experiments", "07. Experiments (optional)")
text_widget("models", "08. Registered models (optional)")
text_widget("prompts", "09. Prompts (optional)")
text_widget("evaluation_datasets", "10. Evaluation datasets (optional)")
yes_no_widget("include_deleted", "11. Include deleted experiments and runs")
yes_no_widget("artifact_checksums", "12. Compare artifact checksums", default=YES)
text_widget("workers", "13. Workers (blank: 8)")
text_widget("json_file", "14. Result file (JSON, optional)")

src_dir = get_file("src_dir")
src_tracking_uri = get_text("src_uri")
src_registry_uri = get_text("src_registry_uri")
dst_dir = get_file("dst_dir")
dst_tracking_uri = get_text("dst_uri")
dst_registry_uri = get_text("dst_registry_uri")
selectors = {name: get_text(name) for name in ("experiments", "models", "prompts", "evaluation_datasets")}
selectors = {name: local_path(value) if value and value.endswith(".txt") else value
             for name, value in selectors.items()}
include_deleted = get_yes_no("include_deleted")
artifact_checksums = get_yes_no("artifact_checksums")
workers = get_int("workers")
json_file = get_file("json_file")

# COMMAND ----------

import json

from mlflow_export_import.verify.result import STATUSES
from mlflow_export_import.verify.verify import verify


def counts_table(result):
    """One row per object type: how many are equal, different, missing or extra in the destination, unreadable."""
    counts = result.to_dict()["counts"]
    return pd.DataFrame([(kind, *(c[s] for s in STATUSES)) for kind, c in counts.items()],
                        columns=["object", *STATUSES])


def differences_table(result):
    columns = ["type", "key", "status", "field", "src", "dst", "reason"]
    return pd.DataFrame([{c: d.get(c) for c in columns} for d in result.to_dict()["differences"]], columns=columns)


# COMMAND ----------

# Objects that cannot be read are counted as "error" in the result; an error here means verify cannot run at all
# (a side unreachable, a bad selector or folder), which gets one line, as the console script's exit code 2 does.
try:
    src_client = None if src_dir else mlflow_client(src_tracking_uri, src_registry_uri)
    dst_client = None if dst_dir else mlflow_client(dst_tracking_uri, dst_registry_uri)
    result = verify(src_client, dst_client, src_dir, dst_dir, experiments=selectors["experiments"],
                    models=selectors["models"], include_deleted=include_deleted,
                    artifact_checksums=artifact_checksums, workers=workers, report=Report("verify"),
                    prompts=selectors["prompts"], datasets=selectors["evaluation_datasets"])
except OPERATION_ERRORS as ex:
    raise OperationFailed(f"verify cannot run: {describe_error(ex)}") from None

print(f"Verify {result.src} -> {result.dst}")
display(counts_table(result))
if not result.ok:
    display(differences_table(result))
if json_file:
    with open(json_file, "w") as f:
        json.dump(result.to_dict(), f, indent=2, default=str)
if not result.ok:
    raise OperationFailed(f"verify: the destination differs from the source in {len(result.differences)} places "
                          "(see the differences table above)")
