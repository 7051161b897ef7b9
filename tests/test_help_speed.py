"""`SCRIPT --help` comes back in under a second (answered from help_cache.json, MLflow not imported) and says
exactly what the command itself would say."""
import os
import re
import subprocess
import sys
import time

from mlflow_export_import import launcher

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)


def _pyproject_scripts():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    return dict(re.findall(r'(?m)^([\w-]+) = "(mlflow_export_import\.[\w.]+:\w+)"$', text))


def test_every_console_script_goes_through_the_launcher():
    scripts = {name: target for name, target in _pyproject_scripts().items() if name != "mlflow-export-import"}
    assert scripts and set(scripts) == set(launcher.SCRIPTS)
    assert all(t == f"mlflow_export_import.launcher:{n.replace('-', '_')}" for n, t in scripts.items())


def test_the_help_cache_matches_every_command():
    """Stale after a change of options or help text: run `python -m mlflow_export_import.launcher`."""
    stale = [name for name in sorted(launcher.SCRIPTS) if launcher.cached_help(name) != launcher.render_help(name)]
    assert stale == [], f"help_cache.json is stale for {stale}: run python -m mlflow_export_import.launcher"


def test_help_of_a_script_is_fast_and_does_not_import_mlflow():
    code = ("import sys, runpy; sys.argv = ['export-all', '--help']\n"
            "from mlflow_export_import import launcher\n"
            "try:\n    launcher.export_all()\nexcept SystemExit:\n    pass\n"
            "print('MLFLOW' if 'mlflow' in sys.modules else 'NO-MLFLOW')")
    start = time.time()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    took = time.time() - start
    assert out.startswith("Usage: export-all [OPTIONS]") and out.rstrip().endswith("NO-MLFLOW")
    assert took < 1.0, took
    if os.path.exists(os.path.join(BIN, "copy-run")):  # the installed script, as a user runs it
        start = time.time()
        res = subprocess.run([os.path.join(BIN, "copy-run"), "--help"], capture_output=True, text=True, timeout=60)
        assert res.returncode == 0 and "--src-mlflow-uri" in res.stdout and time.time() - start < 1.0
