"""Before every request MLflow resolves its request headers, and its Databricks header provider tries to import
the Databricks runtime (`dbruntime`) and IPython to learn whether it runs in a notebook. Where they are not
installed, each failed import searches every folder of sys.path again, holding the interpreter's import lock:
about 1 to 2 ms of CPU per request, during which the other worker threads cannot import either (a copy makes
thousands of requests). A command records once that they are absent, which is what Python would find on every
try; where they are installed (a Databricks notebook) nothing changes."""
import importlib.util
import sys

ASKED_BEFORE_EVERY_REQUEST = ("dbruntime", "IPython")


def remember_absent(names=ASKED_BEFORE_EVERY_REQUEST):
    """Mark the modules among names that cannot be imported, so that importing them fails at once."""
    for name in names:
        if name in sys.modules:
            continue
        try:
            absent = importlib.util.find_spec(name) is None
        except (ImportError, ValueError):
            continue  # a broken installation: leave it to the import to say so
        if absent:
            sys.modules[name] = None  # the import system's own mark: "import of NAME halted; None in sys.modules"
