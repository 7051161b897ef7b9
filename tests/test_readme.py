"""The README's main command, run as a new user runs it: in a fresh directory with the checkout's samples, no server,
no MLflow variables set. The install step is the one thing left out: the tests run in that venv already."""
import os
import re
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INSTALL = "python3 -m venv .venv && .venv/bin/pip install -q -e '.[full]'"


def main_command():
    """The first bash block of '## The two commands', continuation lines joined."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("## The two commands", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return re.sub(r"\\\n\s*", "", block).strip()


def test_readme_main_command_shows_a_copy_verified_equal(tmp_path):
    command = main_command()
    assert command.startswith(INSTALL + " && ")
    os.symlink(os.path.dirname(os.path.dirname(sys.executable)), tmp_path / ".venv")
    os.symlink(os.path.join(REPO, "samples"), tmp_path / "samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DATABRICKS_"))}
    res = subprocess.run(["bash", "-c", command[len(INSTALL + " && "):]], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "Traceback" not in out and "WARNING" not in out, out
    summaries = re.findall(r"Summary of (import-all|export-all):\n((?:  .*\n)+)", res.stdout)
    assert [name for name, _ in summaries] == ["import-all", "export-all", "import-all"], res.stdout
    for _, lines in summaries:
        for kind in ("runs", "experiments", "logged_models", "traces", "models", "model_versions", "prompts",
                     "evaluation_datasets"):
            assert re.search(rf"  {kind}: +[1-9]\d* copied, \d+ skipped, 0 failed", lines), (kind, lines)
    assert res.stdout.rstrip().endswith("Result: EQUAL"), res.stdout
    assert re.search(r"runs: +3 equal, 0 different", res.stdout)
    assert (tmp_path / "demo-source.db").exists() and (tmp_path / "demo-copy.db").exists()
