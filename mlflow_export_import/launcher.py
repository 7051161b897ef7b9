"""Where every console script starts. `SCRIPT --help` is answered from help_cache.json without importing the
command's module (which imports MLflow: about two seconds); anything else runs the command itself. The cache is
written by `python -m mlflow_export_import.launcher` and a test fails when it no longer matches the commands."""
import importlib
import json
import os
import sys

from mlflow_export_import.cli import COMMANDS, with_defaults_shown

# Only a subcommand of `mlflow-export-import`: a console script named `sync` would shadow the system's sync(1)
# wherever the environment's bin folder comes first on the PATH.
SUBCOMMANDS_ONLY = ("sync",)
# script name -> module (under mlflow_export_import) whose `main` is the click command: the umbrella group's table
SCRIPTS = {name: module for name, module in COMMANDS.items() if name not in SUBCOMMANDS_ONLY}

CACHE_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "help_cache.json")
HELP_WIDTH = 78  # what click uses on a terminal: at most 80 columns, less a margin of 2


def __getattr__(attr):
    """`mlflow_export_import.launcher:export_all` (what the console script imports) runs `export-all`."""
    name = attr.replace("_", "-")
    if name not in SCRIPTS:
        raise AttributeError(attr)
    return LazyScript(name)


class LazyScript:
    """Called without arguments (as a console script): run(name). Anything else (CliRunner, `.params`, `.main`)
    goes to the click command itself, imported then."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        if args or kwargs:
            return command(self.name)(*args, **kwargs)
        return run(self.name)

    def __getattr__(self, attr):
        return getattr(command(self.name), attr)


def run(name):
    if sys.argv[1:] in (["--help"], ["-h"]):
        text = cached_help(name)
        if text is not None:
            sys.stdout.write(text)
            sys.exit(0)
    command(name)()


def command(name):
    return with_defaults_shown(importlib.import_module(f"mlflow_export_import.{SCRIPTS[name]}").main)


def cached_help(name):
    try:
        with open(CACHE_FILE, encoding="utf-8") as f:
            return json.load(f).get(name)
    except (OSError, ValueError):
        return None  # no cache (or a broken one): the command prints its own help


def render_help(name):
    from click.testing import CliRunner
    result = CliRunner().invoke(command(name), ["--help"], prog_name=name, terminal_width=HELP_WIDTH)
    return result.output


def write_cache():
    with open(CACHE_FILE, "w", encoding="utf-8") as f:
        json.dump({name: render_help(name) for name in sorted(SCRIPTS)}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    write_cache()
    print(f"wrote {CACHE_FILE}")
