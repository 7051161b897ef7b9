# Databricks notebook source
# MAGIC %md
# MAGIC ## Common helpers of the mlflow-export-import notebooks
# MAGIC
# MAGIC Every notebook of this folder runs this one first (`%run ../_common`). It defines:
# MAGIC * widgets: `text_widget`, `yes_no_widget`, `multiselect_widget` (`notebook_formats_widget`, `stages_widget`),
# MAGIC   and the getters `get_text`, `get_required`, `get_yes_no`, `get_int`, `get_list`, `get_dir`, `get_file`,
# MAGIC   `get_selector`;
# MAGIC * `mlflow_client(tracking_uri, registry_uri)`: a client for the URIs given in widgets (blank: this
# MAGIC   workspace), checked to answer before any work starts;
# MAGIC * `operation(command, report_file)`: runs the notebook's call with a `Report`, then shows what it copied,
# MAGIC   skipped and failed as a table; when anything failed the cell fails too, so a job running the notebook fails.
# MAGIC
# MAGIC The `mlflow-export-import` package must be installed on the cluster: see `README.md` in this folder.

# COMMAND ----------

try:
    import mlflow_export_import  # noqa: F401 -- a cluster library, or a notebook-scoped %pip install
except ImportError as ex:
    raise ImportError(
        "The mlflow-export-import package is not installed: install it as a library of the cluster, or make the "
        "notebook's first cell '%pip install <wheel path or git URL>' and its second "
        "'dbutils.library.restartPython()' (see README.md of the databricks_notebooks folder)") from ex

# COMMAND ----------

from contextlib import contextmanager

import pandas as pd
from mlflow.exceptions import MlflowException

from mlflow_export_import.client.client_utils import check_server, create_mlflow_client
from mlflow_export_import.common import MlflowExportImportException, describe_error
from mlflow_export_import.common.report import COPIED, FAILED, SKIPPED, Report
from mlflow_export_import.common.utils import string_to_list

# COMMAND ----------

# Widgets. Their values are strings; a blank one means "the package's default".
YES, NO = "yes", "no"
NOTEBOOK_FORMATS = ["SOURCE", "HTML", "JUPYTER", "DBC"]
STAGES = ["Production", "Staging", "Archived", "None"]


class WidgetError(ValueError):
    """A widget left empty, or holding a value the notebook cannot use."""


def text_widget(name, label, default=""):
    dbutils.widgets.text(name, default, label)


def yes_no_widget(name, label, default=NO):
    dbutils.widgets.dropdown(name, default, [YES, NO], label)


def multiselect_widget(name, label, choices):
    # A multiselect's default must be one of its choices: "" stands for "none selected".
    dbutils.widgets.multiselect(name, "", [""] + list(choices), label)


def notebook_formats_widget(name="notebook_formats", label="Notebook formats"):
    multiselect_widget(name, label, NOTEBOOK_FORMATS)


def stages_widget(name="stages", label="Stages"):
    multiselect_widget(name, label, STAGES)


def get_text(name):
    """The widget's value without surrounding blanks, or None when it is empty."""
    return dbutils.widgets.get(name).strip() or None


def get_required(name):
    value = get_text(name)
    if value is None:
        raise WidgetError(f"The widget '{name}' is empty: fill it in and run the notebook again")
    return value


def get_yes_no(name):
    return dbutils.widgets.get(name) == YES


def get_int(name):
    """A positive whole number, or None when the widget is empty."""
    value = get_text(name)
    if value is None:
        return None
    if not value.isdigit() or int(value) < 1:
        raise WidgetError(f"The widget '{name}' holds '{value}': expected a whole number of 1 or more")
    return int(value)


def get_list(name):
    """A comma-separated widget (a multiselect's value is one too) as a list; [] when empty."""
    return string_to_list(dbutils.widgets.get(name))


# COMMAND ----------

# Paths. The package reads and writes with Python's file functions, which see DBFS under /dbfs.
SHARED_ROOTS = ("/Volumes/", "/dbfs/", "/Workspace/")


def local_path(path):
    """'dbfs:/x' as the driver's file system names it ('/dbfs/x'). A path elsewhere on the driver's disk is lost
    when the cluster stops: say so, since an export usually has to reach another workspace."""
    if path.startswith("dbfs:"):
        path = "/dbfs/" + path[len("dbfs:"):].lstrip("/")
    if not path.startswith(SHARED_ROOTS):
        print(f"Note: '{path}' is on the driver's local disk, which is lost when the cluster stops: use a Unity "
              "Catalog volume (/Volumes/...) or DBFS (dbfs:/...) to hand an export over")
    return path


def get_dir(name):
    return local_path(get_required(name))


def get_file(name):
    """An optional file path (rename files, report files), or None."""
    value = get_text(name)
    return local_path(value) if value else None


def get_selector(name, default=None):
    """A bulk selector: 'all', names or ids (comma separated), 'prefix*', or a .txt file of one per line."""
    value = get_text(name) or default
    if value is None:
        raise WidgetError(f"The widget '{name}' is empty: give 'all', names (comma separated), 'prefix*' or a "
                          ".txt file, and run the notebook again")
    return local_path(value) if value.endswith(".txt") else value


# COMMAND ----------

def mlflow_client(tracking_uri=None, registry_uri=None):
    """A client for the URIs of the widgets: None means this workspace (MLflow's default in a notebook) and a
    registry like the tracking server's. The server must answer before any work starts."""
    client = create_mlflow_client(tracking_uri, registry_uri)
    check_server(client)
    return client


# COMMAND ----------

class OperationFailed(Exception):
    """Raised once the summary is shown, so that the cell, and a job running the notebook, fail."""


# What a console script reports as a failure of the whole command instead of a traceback.
OPERATION_ERRORS = (MlflowExportImportException, MlflowException, OSError, ValueError, KeyError)


@contextmanager
def operation(command, report_file=None):
    """Yields the Report to pass as `report=`. Afterwards shows the summary (and writes it as JSON to report_file);
    a failed object, or an error that stopped the whole command, fails the cell with one line."""
    report = Report(command)
    try:
        yield report
    except OPERATION_ERRORS as ex:
        report.failed("command", command, describe_error(ex))
    show_report(report)
    if report_file:
        report.write(report_file)
    if report.has_failures:
        raise OperationFailed(failure_line(report))


def summary_table(report):
    """One row per object type: how many were copied, skipped (already there, or not supported) and failed."""
    counts = report.to_dict()["counts"]
    rows = [(kind, c[COPIED], c[SKIPPED], c[FAILED]) for kind, c in counts.items()]
    return pd.DataFrame(rows, columns=["object", COPIED, SKIPPED, FAILED])


def details_table(report):
    """Every failure, skip and note, with its reason."""
    dct = report.to_dict()
    rows = [(FAILED, f["type"], f["id"], f["reason"]) for f in dct["failures"]]
    rows += [(SKIPPED, s["type"], s["id"], s["reason"]) for s in dct["skipped"]]
    rows += [("note", "", "", note) for note in dct["notes"]]
    return pd.DataFrame(rows, columns=["status", "object", "id", "reason"])


def show_report(report):
    print(f"Summary of {report.command}:")
    display(summary_table(report))
    details = details_table(report)
    if len(details):
        display(details)


def failure_line(report):
    first = report.failures[0]
    what = "" if first["type"] == "command" else f"{first['type']} {first['id']}: "
    more = f" (and {len(report.failures) - 1} more failures, see the table above)" if len(report.failures) > 1 else ""
    return f"{report.command} failed: {what}{first['reason']}{more}"
