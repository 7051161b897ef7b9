"""No import cycle in the package (shared/tools/import_cycles.py, function-level imports counted), and the plans
of --dry-run load no importer: the importers and their dry runs take the readers, lookups and decisions they
share from one leaf module per object type (<type>/plan.py)."""
import os
import subprocess
import sys

from tests.conftest import TOOLS_DIR

PACKAGE_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "mlflow_export_import")
PLAN_MODULES = [f"mlflow_export_import.{kind}.plan" for kind in (
    "run", "experiment", "logged_model", "trace", "model", "model_version", "prompt", "evaluation_dataset")] + \
    ["mlflow_export_import.dry_run"]


def test_no_import_cycle():
    res = subprocess.run([sys.executable, os.path.join(TOOLS_DIR, "import_cycles.py"), PACKAGE_DIR],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "import cycles: 0" in res.stdout, res.stdout


def test_the_plans_load_no_importer():
    code = ("import importlib, sys\n"
            f"for name in {PLAN_MODULES!r}:\n"
            "    importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith('mlflow_export_import.') and '.import_' in m))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "[]"
