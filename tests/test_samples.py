"""samples/ documents the export format: regenerated from its workload into a temporary directory, every
sample must have the same files and the same JSON shape (keys and value types; ids and times may differ).
When this fails on purpose (the format changed), run `.venv/bin/python samples/make_samples.py`."""
import importlib.util
import json
import os
import re
import shutil

import pytest

from tests.servers import MlflowServer, start_all

SAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "samples")
IDS = [(re.compile(r"\b(m|tr|d)-[0-9a-f]{32}\b"), r"\1-<id>"), (re.compile(r"\b[0-9a-f]{32}\b"), "<id>")]


def load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", os.path.join(SAMPLES_DIR, "make_samples.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without_ids(text):
    for pattern, repl in IDS:
        text = pattern.sub(repl, text)
    return text


def shape(value):
    """Keys (ids masked) and value types, recursively; a list's shape is the set of its items' shapes."""
    if isinstance(value, dict):
        return {without_ids(str(k)): shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return sorted({json.dumps(shape(v), sort_keys=True) for v in value})
    return type(value).__name__


def layout(root):
    """{relative path with ids masked: the shapes of the JSON files at that path (several runs share one), or
    'file'}."""
    found = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            key = without_ids(os.path.relpath(path, root))
            if name.endswith(".json"):
                with open(path) as f:
                    found.setdefault(key, set()).add(json.dumps(shape(json.load(f)), sort_keys=True, indent=1))
            else:
                found[key] = "file"
    return {k: sorted(v) if isinstance(v, set) else v for k, v in found.items()}


def sample_names():
    return sorted(d for d in os.listdir(SAMPLES_DIR) if os.path.isdir(os.path.join(SAMPLES_DIR, d))
                  and not d.startswith(("_", ".")))


@pytest.fixture(scope="module")
def regenerated(servers_dir, tmp_path_factory):
    """The samples made again on an empty server, as make_samples.py makes them (a local SQLite store would not
    do: MLflow gives a version number as an int there and as a string through a server)."""
    server = MlflowServer(servers_dir, "samples")
    start_all([server], template_db=os.path.join(servers_dir, "template.db"))
    out = str(tmp_path_factory.mktemp("samples"))
    try:
        load_generator().generate(out, server.uri)
    finally:
        server.kill()
    return out


def test_every_export_command_has_a_sample():
    from mlflow_export_import.cli import COMMANDS
    exports = {c for c in COMMANDS if c.startswith("export-")}
    assert exports <= set(sample_names())
    assert {"copy-run", "copy-model-version"} <= set(sample_names())


@pytest.mark.parametrize("name", sample_names())
def test_sample_format_has_not_drifted(regenerated, name):
    committed, fresh = layout(os.path.join(SAMPLES_DIR, name)), layout(os.path.join(regenerated, name))
    assert sorted(fresh) == sorted(committed), f"files of {name} changed: run samples/make_samples.py"
    for path in committed:
        assert fresh[path] == committed[path], f"{name}/{path} changed shape: run samples/make_samples.py"


def test_samples_hold_the_lineage_tags_of_a_copy():
    run_json = os.path.join(SAMPLES_DIR, "copy-run", "run.json")
    with open(run_json) as f:
        tags = json.load(f)["mlflow"]["tags"]
    assert tags["mlflow_exim.import.state"] == "done" and "mlflow_exim.import.src_run_id" in tags


# ------------------------------------------------------------------ diagrams

DIAGRAMS_DIR = os.path.join(os.path.dirname(SAMPLES_DIR), "diagrams")


def svg_texts(svg):
    """The words a reader sees: the <text> elements (Graphviz versions differ in layout, not in these)."""
    return sorted(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def test_every_diagram_is_drawn_from_its_source_and_shown_in_the_readme(tmp_path):
    with open(os.path.join(os.path.dirname(SAMPLES_DIR), "README.md")) as f:
        readme = f.read()
    sources = sorted(f for f in os.listdir(DIAGRAMS_DIR) if f.endswith(".dot"))
    assert len(sources) >= 5
    for source in sources:
        svg = source[:-len(".dot")] + ".svg"
        assert f"](diagrams/{svg})" in readme, svg
        with open(os.path.join(DIAGRAMS_DIR, svg)) as f:
            committed = f.read()
        if shutil.which("dot"):
            spec = importlib.util.spec_from_file_location("make_diagrams", os.path.join(DIAGRAMS_DIR,
                                                                                        "make_diagrams.py"))
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            with open(module.render(os.path.join(DIAGRAMS_DIR, source), str(tmp_path / svg))) as f:
                assert svg_texts(f.read()) == svg_texts(committed), f"{svg} is stale: run diagrams/make_diagrams.py"
