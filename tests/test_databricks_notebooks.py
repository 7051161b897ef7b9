"""The notebooks of databricks_notebooks/, run locally: their Python cells are executed against the session's two
real MLflow servers, with a stand-in for `dbutils.widgets` and `display`. `%run ./x` executes notebook x first in
the same namespace (as Databricks does), `%md` and `%pip` cells are skipped (the package is installed here).

One test per notebook file, so that a notebook that no longer runs fails the suite. The notebooks are chained so
that few objects are made: a module fixture fills the source server once, export notebooks write into a temporary
folder, import notebooks read it into the destination server, the copy notebooks go from server to server, and
Verify compares what the imports made with the source."""
import contextlib
import io
import json
import os
import re
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

import pandas as pd
import pytest
from mlflow import MlflowClient

from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.model.model_utils import SRC_VERSION_TAG
from tests.mlflow3_workload import make_logged_model, make_trace
from tests.workload import make_run

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "databricks_notebooks"
HEADER = "# Databricks notebook source"
SEPARATOR = "# COMMAND ----------"
MAGIC = "# MAGIC"
SUMMARY_COLUMNS = ["object", "copied", "skipped", "failed"]


# ------------------------------------------------------------------------------------------------ notebook harness
class NotebookFormatError(AssertionError):
    """The file is not a notebook that Databricks would run as written."""


@dataclass
class Cell:
    kind: str  # "python", "md", "run" or "pip"
    text: str
    number: int


def parse_notebook(path):
    """The cells of a notebook in Databricks source format: a header line, cells separated by COMMAND lines, and
    magic cells written as '# MAGIC' lines only (Databricks keeps %run alone in its cell)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != HEADER:
        raise NotebookFormatError(f"{path}: the first line must be '{HEADER}'")
    cells, current = [], []
    for line in lines[1:] + [SEPARATOR]:
        if line.strip() != SEPARATOR:
            current.append(line)
            continue
        if any(x.strip() for x in current):
            cells.append(_cell(path, current, len(cells) + 1))
        current = []
    return cells


def _cell(path, lines, number):
    magic = [x for x in lines if x.startswith(MAGIC)]
    if not magic:
        return Cell("python", "\n".join(lines), number)
    if len(magic) != len([x for x in lines if x.strip()]):
        raise NotebookFormatError(f"{path} cell {number}: '# MAGIC' lines mixed with Python lines")
    body = [x[len(MAGIC):][1:] if x[len(MAGIC):].startswith(" ") else x[len(MAGIC):] for x in magic]
    command, _, rest = body[0].partition(" ")
    if command == "%md":
        return Cell("md", "\n".join([rest] + body[1:]), number)
    if command in ("%run", "%pip"):
        if len(body) != 1:
            raise NotebookFormatError(f"{path} cell {number}: {command} must be alone in its cell")
        return Cell(command[1:], rest.strip(), number)
    raise NotebookFormatError(f"{path} cell {number}: magic '{command}' is not handled by the test harness")


class InputWidgetNotDefined(Exception):
    """What Databricks raises for dbutils.widgets.get of a widget no cell has defined."""


class Widgets:
    """dbutils.widgets as the notebooks use it. `values` are what the user typed or chose; the others keep their
    defaults. A choice outside a dropdown's or multiselect's choices cannot be made in the UI: refused."""

    def __init__(self, values):
        self.values = dict(values)
        self.defined = {}
        self.labels = []

    def text(self, name, defaultValue, label=None):
        self._define(name, defaultValue, None, label)

    def _define(self, name, default, choices, label):
        self.defined[name] = (default, choices)
        self.labels.append(label)

    def dropdown(self, name, defaultValue, choices, label=None):
        self._choice(name, defaultValue, choices, label, multiple=False)

    def multiselect(self, name, defaultValue, choices, label=None):
        self._choice(name, defaultValue, choices, label, multiple=True)

    def _choice(self, name, default, choices, label, multiple):
        if default not in choices:
            raise ValueError(f"widget '{name}': default value '{default}' is not one of the choices {choices}")
        self._define(name, default, list(choices), label)
        if name in self.values:
            chosen = self.values[name].split(",") if multiple else [self.values[name]]
            assert all(c in choices for c in chosen), f"widget '{name}': {chosen} not among {choices}"

    def get(self, name):
        if name not in self.defined:
            raise InputWidgetNotDefined(f"No input widget named {name} is defined")
        return self.values.get(name, self.defined[name][0])

    def unknown(self):
        """Values given for widgets the notebook does not have (a misspelt name in a test would test nothing)."""
        return sorted(set(self.values) - set(self.defined))


@dataclass
class Outcome:
    namespace: dict
    displayed: list
    stdout: str
    widgets: list

    def summary(self):
        """{object type: (copied, skipped, failed)} of the summary table the notebook displayed."""
        tables = [d for d in self.displayed if isinstance(d, pd.DataFrame) and list(d.columns) == SUMMARY_COLUMNS]
        assert len(tables) == 1, f"expected one summary table, displayed: {self.displayed}"
        return {row.object: (row.copied, row.skipped, row.failed) for row in tables[0].itertuples()}

    def table(self, first_column):
        tables = [d for d in self.displayed if isinstance(d, pd.DataFrame) and d.columns[0] == first_column]
        assert tables, f"no table starting with column '{first_column}' displayed: {self.displayed}"
        return tables[0]


def run_notebook(name, values):
    """Execute the notebook databricks_notebooks/<name>.py as Databricks would, with widget values typed in."""
    widgets = Widgets(values)
    displayed, stdout = [], io.StringIO()
    dbutils = SimpleNamespace(widgets=widgets, library=SimpleNamespace(restartPython=lambda: None))

    def display(obj):
        displayed.append(obj)
        print(obj.to_string() if isinstance(obj, pd.DataFrame) else obj)

    namespace = {"__name__": "__main__", "dbutils": dbutils, "display": display}
    with contextlib.redirect_stdout(stdout):
        try:
            _execute(NOTEBOOKS_DIR / f"{name}.py", namespace)
        finally:
            sys.stderr.write(stdout.getvalue())  # shown by pytest when the test fails
    assert not widgets.unknown(), f"{name} has no widgets {widgets.unknown()}"
    _check_labels(name, widgets.labels)
    return Outcome(namespace, displayed, stdout.getvalue(), list(widgets.defined))


def _check_labels(name, labels):
    """Widgets are labelled '1. ...', '2. ...' in the order the notebook defines them, zero-padded when there are
    ten or more, so that the widget bar, which sorts them, shows them in that order."""
    width = 2 if len(labels) >= 10 else 1
    expected = [f"{n:0{width}d}. " for n in range(1, len(labels) + 1)]
    assert [str(label)[:width + 2] for label in labels] == expected, f"{name}: widget labels {labels}"
    assert labels == sorted(labels)


def _execute(path, namespace):
    for cell in parse_notebook(path):
        if cell.kind == "run":
            target = (path.parent / cell.text).resolve().with_suffix(".py")
            if not target.exists():
                raise NotebookFormatError(f"{path} cell {cell.number}: %run {cell.text}: no notebook {target}")
            _execute(target, namespace)
        elif cell.kind == "python":
            exec(compile(cell.text, f"{path.relative_to(NOTEBOOKS_DIR)}[cell {cell.number}]", "exec"), namespace)


NOTEBOOKS = sorted(p.relative_to(NOTEBOOKS_DIR).with_suffix("").as_posix() for p in NOTEBOOKS_DIR.rglob("*.py"))


# ------------------------------------------------------------------------------------------------ source objects
@dataclass
class Source:
    """What the module fixture made in the source server, and in a small SQLite store for Export_All."""
    u: str
    experiment: str
    experiment_id: str
    run_id: str
    logged_model_id: str
    trace_id: str
    model: str
    prompt: str
    dataset: str
    genai_experiment: str
    signature_run_id: str
    all_uri: str


def _make_source(client, tmp, u, template_db):
    exp_id = client.create_experiment(f"nb-{u}")
    run_id = make_run(client, exp_id, "train", params=2, metrics=1, steps=2, tags=1)
    logged_model_id = make_logged_model(client, exp_id, "lm", run_id)
    trace_id = make_trace(client, exp_id, "ask", run_id=run_id)
    model = f"nb-model-{u}"
    client.create_registered_model(model)
    client.create_model_version(model, f"runs:/{run_id}/model", run_id)
    client.set_registered_model_alias(model, "champ", "1")
    prompt = f"nb-prompt-{u}"
    client.register_prompt(prompt, "Hello {{name}}", commit_message="first")
    dataset = f"nb-ds-{u}"
    store = client._tracking_client.store
    ds = store.create_dataset(dataset, tags={"purpose": "eval"}, experiment_ids=[exp_id])
    # With a source, as MLflow's own merge_records gives every record.
    store.upsert_dataset_records(ds.dataset_id, [{"inputs": {"q": f"q{i}"}, "expectations": {"a": f"a{i}"},
                                                  "source": {"source_type": "HUMAN", "source_data": {"by": "bob"}}}
                                                 for i in range(2)])
    genai_id = client.create_experiment(f"nb-genai-{u}")
    make_logged_model(client, genai_id, "lm-alone")
    make_trace(client, genai_id, "alone")
    signature_run_id = make_run(client, genai_id, "for-signature", params=0, metrics=0, tags=0)
    return Source(u, f"nb-{u}", exp_id, run_id, logged_model_id, trace_id, model, prompt, dataset,
                  f"nb-genai-{u}", signature_run_id, _make_sqlite_source(tmp, u, template_db))


def _make_sqlite_source(tmp, u, template_db):
    """Export_All exports a whole server: a store of its own, so that other tests' objects are not in it. It
    starts as a copy of the servers' migrated empty database when there is one (migrating takes seconds)."""
    if os.path.exists(template_db):
        shutil.copy(template_db, tmp / "all-source.db")
    uri = f"sqlite:///{tmp}/all-source.db"
    client = MlflowClient(uri, registry_uri=uri)
    exp_id = client.create_experiment(f"nb-all-{u}", artifact_location=str(tmp / "all-source-artifacts"))
    run_id = make_run(client, exp_id, "train", params=1, metrics=1, steps=1, tags=0)
    client.create_registered_model(f"nb-all-model-{u}")
    client.create_model_version(f"nb-all-model-{u}", f"runs:/{run_id}/model", run_id)
    return uri


# ------------------------------------------------------------------------------------------------ the chain
@dataclass
class Spec:
    values: Callable = lambda c: {}
    check: Callable = lambda c, outcome: None
    needs: list = field(default_factory=list)


class Chain:
    """Runs each notebook once, its prerequisites first (an import needs its export), whatever order the tests
    are run or selected in."""

    def __init__(self, src, dst, source, tmp):
        self.src, self.dst, self.s, self.tmp = src, dst, source, tmp
        self.outcomes = {}

    def dir(self, name):
        return str(self.tmp / name)

    def run(self, name):
        if name not in self.outcomes:
            for need in SPECS[name].needs:
                self.run(need)
            try:
                self.outcomes[name] = run_notebook(name, SPECS[name].values(self))
            except Exception as ex:
                self.outcomes[name] = ex
                raise
        outcome = self.outcomes[name]
        if isinstance(outcome, Exception):
            raise AssertionError(f"notebook {name} failed: {outcome}")
        return outcome


@pytest.fixture(scope="module")
def chain(src_server, dst_server, servers_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notebooks")
    source = _make_source(src_server.client(), tmp, uuid.uuid4().hex[:8], os.path.join(servers_dir, "template.db"))
    return Chain(src_server, dst_server, source, tmp)


# ------------------------------------------------------------------------------------------------ checks
def counts(expected):
    """The summary table shows these counts (object type: (copied, skipped, failed)), and no failure."""
    def check(c, outcome):
        summary = outcome.summary()
        assert {k: summary.get(k) for k in expected} == expected, summary
        assert all(failed == 0 for _, _, failed in summary.values()), summary
    return check


def all_of(*checks):
    def check(c, outcome):
        for one in checks:
            one(c, outcome)
    return check


def exported(path):
    """The export folder holds the file that an export writes last."""
    def check(c, outcome):
        assert (c.tmp / path).is_file(), f"{path} not written"
    return check


def dst_runs(c, experiment_name):
    client = c.dst.client()
    exp = client.get_experiment_by_name(experiment_name)
    assert exp is not None, f"no experiment '{experiment_name}' in the destination"
    return client.search_runs([exp.experiment_id])


def has_run_of_source(experiment_name):
    """The destination experiment holds exactly one run, the import of the source run, with its params."""
    def check(c, outcome):
        runs = dst_runs(c, experiment_name(c))
        assert [r.data.tags.get(ImportTags.SRC_RUN_ID) for r in runs] == [c.s.run_id]
        assert runs[0].data.params == c.src.client().get_run(c.s.run_id).data.params
    return check


def has_version_of_source(model_name):
    def check(c, outcome):
        versions = c.dst.client().search_model_versions(f"name = '{model_name(c)}'")
        assert [v.tags.get(SRC_VERSION_TAG, "").split("/")[-1] for v in versions] == ["1"], versions
    return check


def dst_experiment_objects(c, experiment_name):
    client = c.dst.client()
    exp = client.get_experiment_by_name(experiment_name)
    assert exp is not None, f"no experiment '{experiment_name}' in the destination"
    return (client.search_logged_models([exp.experiment_id]),
            client.search_traces(locations=[exp.experiment_id]))


def has_logged_models(experiment_name, names):
    def check(c, outcome):
        models, _ = dst_experiment_objects(c, experiment_name(c))
        assert sorted(m.name for m in models) == names
    return check


def has_traces(experiment_name, n):
    def check(c, outcome):
        _, traces = dst_experiment_objects(c, experiment_name(c))
        assert len(traces) == n
    return check


def has_prompt(name):
    def check(c, outcome):
        assert c.dst.client().load_prompt(f"prompts:/{name(c)}/1").template == "Hello {{name}}"
    return check


def has_dataset(name, experiments):
    def check(c, outcome):
        client = c.dst.client()
        found = [d for d in client.search_datasets(filter_string=f"name = '{name(c)}'") if d.name == name(c)]
        assert len(found) == 1
        store = client._tracking_client.store
        records, _ = store._load_dataset_records(found[0].dataset_id, max_results=None)
        assert sorted(r.inputs["q"] for r in records) == ["q0", "q1"]
        linked = [client.get_experiment(i).name for i in store.get_dataset_experiment_ids(found[0].dataset_id)]
        assert linked == experiments(c)
    return check


def check_readme(c, outcome):
    """_README links every notebook, and README.md names each one."""
    text = (NOTEBOOKS_DIR / "_README.py").read_text()
    linked = set(re.findall(r"\]\(\$\./([\w/]+)\)", text))
    assert linked == set(NOTEBOOKS) - {"_README"}
    readme = (NOTEBOOKS_DIR / "README.md").read_text()
    assert [n for n in NOTEBOOKS if f"`{n.split('/')[-1]}`" not in readme] == []


def check_import_all(c, outcome):
    counts({"runs": (1, 0, 0), "model_versions": (1, 0, 0)})(c, outcome)
    assert [r.info.run_name for r in dst_runs(c, f"nb-all-{c.s.u}")] == ["train"]
    has_version_of_source(lambda c: f"nb-all-model-{c.s.u}")(c, outcome)
    report = json.loads((c.tmp / "import-all-report.json").read_text())
    assert report["ok"] and report["counts"]["runs"]["copied"] == 1


def check_bulk_models(c, outcome):
    """The model arrives under its own name; its run under the renamed experiment."""
    counts({"model_versions": (1, 0, 0)})(c, outcome)
    has_version_of_source(lambda c: c.s.model)(c, outcome)
    has_run_of_source(lambda c: f"nbm-{c.s.u}")(c, outcome)


def check_copied_version(c, outcome):
    counts({"model_versions": (1, 0, 0)})(c, outcome)
    client = c.dst.client()
    version = client.get_model_version(f"nb-copy-model-{c.s.u}", "1")
    assert version.aliases == ["champ"]
    assert any(k.startswith("mlflow_exim.src_version.") for k in version.tags), version.tags
    assert client.get_run(version.run_id).data.tags[ImportTags.SRC_RUN_ID] == c.s.run_id


def check_verify(c, outcome):
    table = outcome.table("object").set_index("object")
    assert table[["different", "missing", "extra", "error"]].to_numpy().sum() == 0, table
    for kind in ("experiments", "runs", "logged_models", "traces", "registered_models", "model_versions", "prompts",
                 "prompt_versions", "evaluation_datasets"):
        assert table.loc[kind, "equal"] >= 1, table


def check_signature_set(c, outcome):
    facts = dict(outcome.table("fact").itertuples(index=False))
    assert (facts["previous signature"], facts["signature set"]) == ("none", "2 inputs, 1 outputs"), facts


def check_signature_shown(c, outcome):
    table = outcome.table("part")
    assert [tuple(r) for r in table.itertuples(index=False)] == [
        ("inputs", "x", "long"), ("inputs", "y", "double"), ("outputs", "label", "string")]


def check_versions_without_signature(c, outcome):
    table = outcome.table("model")
    assert [(r.model, r.version, r.run_id, r.error) for r in table.itertuples()] == [
        (c.s.model, "1", c.s.run_id, "")]


def example_file(c, name, text):
    path = c.tmp / name
    path.write_text(text)
    return str(path)


def rename_file(c, name, line):
    path = c.tmp / name
    path.write_text(line + "\n")
    return str(path)


SPECS = {
    "_README": Spec(check=check_readme),
    "_common": Spec(check=lambda c, o: all(callable(o.namespace[f]) for f in ("operation", "mlflow_client"))),
    # single objects
    "single/Export_Run": Spec(
        lambda c: {"run_id": c.s.run_id, "output_dir": c.dir("run"), "tracking_uri": c.src.uri},
        all_of(counts({"runs": (1, 0, 0), "logged_models": (1, 0, 0)}), exported("run/run.json"))),
    "single/Import_Run": Spec(
        lambda c: {"input_dir": c.dir("run"), "experiment_name": f"nb-run-{c.s.u}", "tracking_uri": c.dst.uri},
        all_of(counts({"runs": (1, 0, 0)}), has_run_of_source(lambda c: f"nb-run-{c.s.u}")),
        ["single/Export_Run"]),
    "single/Export_Experiment": Spec(
        lambda c: {"experiment": c.s.experiment, "output_dir": c.dir("exp"), "tracking_uri": c.src.uri},
        counts({"runs": (1, 0, 0)})),
    "single/Import_Experiment": Spec(
        lambda c: {"input_dir": c.dir("exp"), "experiment_name": f"nb-exp-{c.s.u}", "tracking_uri": c.dst.uri},
        all_of(counts({"runs": (1, 0, 0)}), has_run_of_source(lambda c: f"nb-exp-{c.s.u}")),
        ["single/Export_Experiment"]),
    "single/Export_Registered_Model": Spec(
        lambda c: {"model": c.s.model, "output_dir": c.dir("model"), "tracking_uri": c.src.uri},
        all_of(counts({"models": (1, 0, 0)}), exported("model/model.json"))),
    "single/Import_Registered_Model": Spec(
        lambda c: {"input_dir": c.dir("model"), "model": f"nb-model-imp-{c.s.u}",
                   "experiment_name": f"nb-model-runs-{c.s.u}", "tracking_uri": c.dst.uri},
        all_of(counts({"model_versions": (1, 0, 0)}), has_version_of_source(lambda c: f"nb-model-imp-{c.s.u}")),
        ["single/Export_Registered_Model"]),
    "single/Export_Model_Version": Spec(
        lambda c: {"model": c.s.model, "version": "1", "output_dir": c.dir("mv"), "tracking_uri": c.src.uri},
        counts({"model_versions": (1, 0, 0)})),
    "single/Import_Model_Version": Spec(
        lambda c: {"input_dir": c.dir("mv"), "model": f"nb-mv-{c.s.u}", "experiment_name": f"nb-mv-runs-{c.s.u}",
                   "create_model": "yes", "tracking_uri": c.dst.uri},
        all_of(counts({"model_versions": (1, 0, 0)}), has_version_of_source(lambda c: f"nb-mv-{c.s.u}")),
        ["single/Export_Model_Version"]),
    "single/Export_Logged_Model": Spec(
        lambda c: {"model_id": c.s.logged_model_id, "output_dir": c.dir("lm"), "tracking_uri": c.src.uri},
        counts({"logged_models": (1, 0, 0)})),
    "single/Import_Logged_Model": Spec(
        lambda c: {"input_dir": c.dir("lm"), "experiment_name": f"nb-lm-{c.s.u}", "tracking_uri": c.dst.uri},
        all_of(counts({"logged_models": (1, 0, 0)}), has_logged_models(lambda c: f"nb-lm-{c.s.u}", ["lm"])),
        ["single/Export_Logged_Model"]),
    "single/Export_Trace": Spec(
        lambda c: {"request_id": c.s.trace_id, "output_dir": c.dir("trace"), "tracking_uri": c.src.uri},
        counts({"traces": (1, 0, 0)})),
    "single/Import_Trace": Spec(
        lambda c: {"input_dir": c.dir("trace"), "experiment_name": f"nb-trace-{c.s.u}", "tracking_uri": c.dst.uri},
        all_of(counts({"traces": (1, 0, 0)}), has_traces(lambda c: f"nb-trace-{c.s.u}", 1)),
        ["single/Export_Trace"]),
    "single/Export_Prompt": Spec(
        lambda c: {"prompt_name": c.s.prompt, "prompt_version": "1", "output_dir": c.dir("prompt"),
                   "tracking_uri": c.src.uri},
        counts({"prompt_versions": (1, 0, 0)})),
    "single/Import_Prompt": Spec(
        lambda c: {"input_dir": c.dir("prompt"), "prompt_name": f"{c.s.prompt}-imp", "tracking_uri": c.dst.uri},
        all_of(counts({"prompt_versions": (1, 0, 0)}), has_prompt(lambda c: f"{c.s.prompt}-imp")),
        ["single/Export_Prompt"]),
    "single/Export_Evaluation_Dataset": Spec(
        lambda c: {"dataset_name": c.s.dataset, "output_dir": c.dir("ds"), "tracking_uri": c.src.uri},
        counts({"evaluation_datasets": (1, 0, 0)})),
    "single/Import_Evaluation_Dataset": Spec(
        lambda c: {"input_dir": c.dir("ds"), "evaluation_dataset_name": f"{c.s.dataset}-imp",
                   "tracking_uri": c.dst.uri},
        all_of(counts({"evaluation_datasets": (1, 0, 0)}),
               has_dataset(lambda c: f"{c.s.dataset}-imp", lambda c: [c.s.experiment])),
        ["single/Export_Evaluation_Dataset", "bulk/Import_Experiments"]),
    # bulk
    "bulk/Export_All": Spec(
        lambda c: {"output_dir": c.dir("all"), "tracking_uri": c.s.all_uri},
        all_of(counts({"runs": (1, 0, 0), "models": (1, 0, 0)}), exported("all/manifest.json"))),
    "bulk/Import_All": Spec(
        lambda c: {"input_dir": c.dir("all"), "tracking_uri": c.dst.uri,
                   "report_file": str(c.tmp / "import-all-report.json")},
        check_import_all, ["bulk/Export_All"]),
    # the engine path itself runs in test_spark.py, on its Spark cluster (this module starts no JVM)
    "bulk/Migrate_On_Spark": Spec(
        lambda c: {"steps": "import", "dir": c.dir("all"), "dst_tracking_uri": c.dst.uri, "engine": "local",
                   "experiment_rename_file": rename_file(c, "migrate-exps.csv", f"nb-all-{c.s.u},nb-spark-{c.s.u}"),
                   "model_rename_file": rename_file(c, "migrate-models.csv",
                                                    f"nb-all-model-{c.s.u},nb-spark-model-{c.s.u}")},
        all_of(counts({"runs": (1, 0, 0), "model_versions": (1, 0, 0)}),
               has_version_of_source(lambda c: f"nb-spark-model-{c.s.u}")),
        ["bulk/Export_All"]),
    "bulk/Export_Experiments": Spec(
        lambda c: {"experiments": c.s.experiment, "output_dir": c.dir("exps"), "tracking_uri": c.src.uri},
        all_of(counts({"runs": (1, 0, 0)}), exported("exps/experiments.json"))),
    "bulk/Import_Experiments": Spec(
        lambda c: {"input_dir": c.dir("exps"), "tracking_uri": c.dst.uri},
        all_of(counts({"runs": (1, 0, 0)}), has_run_of_source(lambda c: c.s.experiment),
               has_logged_models(lambda c: c.s.experiment, ["lm"]), has_traces(lambda c: c.s.experiment, 1)),
        ["bulk/Export_Experiments"]),
    "bulk/Export_Registered_Models": Spec(
        lambda c: {"models": c.s.model, "output_dir": c.dir("models"), "tracking_uri": c.src.uri},
        counts({"models": (1, 0, 0), "runs": (1, 0, 0)})),
    "bulk/Import_Registered_Models": Spec(
        lambda c: {"input_dir": c.dir("models"), "tracking_uri": c.dst.uri,
                   "experiment_rename_file": rename_file(c, "experiments.csv", f"{c.s.experiment},nbm-{c.s.u}")},
        check_bulk_models, ["bulk/Export_Registered_Models"]),
    "bulk/Export_Logged_Models": Spec(
        lambda c: {"experiment_ids": c.s.genai_experiment, "output_dir": c.dir("lms"), "tracking_uri": c.src.uri},
        counts({"logged_models": (1, 0, 0)})),
    "bulk/Import_Logged_Models": Spec(
        lambda c: {"input_dir": c.dir("lms"), "tracking_uri": c.dst.uri},
        all_of(counts({"logged_models": (1, 0, 0)}), has_logged_models(lambda c: c.s.genai_experiment, ["lm-alone"])),
        ["bulk/Export_Logged_Models"]),
    "bulk/Export_Traces": Spec(
        lambda c: {"experiment_ids": c.s.genai_experiment, "output_dir": c.dir("traces"), "tracking_uri": c.src.uri},
        counts({"traces": (1, 0, 0)})),
    "bulk/Import_Traces": Spec(
        lambda c: {"input_dir": c.dir("traces"), "tracking_uri": c.dst.uri},
        all_of(counts({"traces": (1, 0, 0)}), has_traces(lambda c: c.s.genai_experiment, 1)),
        ["bulk/Export_Traces"]),
    "bulk/Export_Prompts": Spec(
        lambda c: {"prompts": c.s.prompt, "output_dir": c.dir("prompts"), "tracking_uri": c.src.uri},
        counts({"prompt_versions": (1, 0, 0)})),
    "bulk/Import_Prompts": Spec(
        lambda c: {"input_dir": c.dir("prompts"), "tracking_uri": c.dst.uri},
        all_of(counts({"prompt_versions": (1, 0, 0)}), has_prompt(lambda c: c.s.prompt)),
        ["bulk/Export_Prompts"]),
    "bulk/Export_Evaluation_Datasets": Spec(
        lambda c: {"evaluation_datasets": c.s.dataset, "output_dir": c.dir("dss"), "tracking_uri": c.src.uri},
        counts({"evaluation_datasets": (1, 0, 0)})),
    # After Import_Experiments, so that the dataset's link to its experiment has a destination.
    "bulk/Import_Evaluation_Datasets": Spec(
        lambda c: {"input_dir": c.dir("dss"), "tracking_uri": c.dst.uri},
        all_of(counts({"evaluation_datasets": (1, 0, 0)}),
               has_dataset(lambda c: c.s.dataset, lambda c: [c.s.experiment])),
        ["bulk/Export_Evaluation_Datasets", "bulk/Import_Experiments"]),
    # copy
    "copy/Copy_Run": Spec(
        lambda c: {"run_id": c.s.run_id, "experiment_name": f"nb-copy-{c.s.u}", "src_mlflow_uri": c.src.uri,
                   "dst_mlflow_uri": c.dst.uri},
        all_of(counts({"runs": (1, 0, 0)}), has_run_of_source(lambda c: f"nb-copy-{c.s.u}"))),
    "copy/Copy_Model_Version": Spec(
        lambda c: {"src_model": c.s.model, "src_version": "1", "dst_model": f"nb-copy-model-{c.s.u}",
                   "dst_experiment_name": f"nb-copy-mv-{c.s.u}", "src_registry_uri": c.src.uri,
                   "dst_registry_uri": c.dst.uri, "copy_stages_and_aliases": "yes", "copy_lineage_tags": "yes"},
        check_copied_version),
    # tools
    "tools/Verify": Spec(
        lambda c: {"src_uri": c.src.uri, "dst_uri": c.dst.uri, "experiments": c.s.experiment,
                   "models": c.s.model, "prompts": c.s.prompt, "evaluation_datasets": c.s.dataset},
        check_verify,
        ["bulk/Import_Experiments", "bulk/Import_Registered_Models", "bulk/Import_Prompts",
         "bulk/Import_Evaluation_Datasets"]),
    "tools/List_Model_Versions_Without_Signatures": Spec(
        lambda c: {"filter": f"name = '{c.s.model}'", "tracking_uri": c.src.uri},
        check_versions_without_signature),
    "tools/Set_Model_Signature": Spec(
        lambda c: {"model_uri": f"runs:/{c.s.signature_run_id}/model", "tracking_uri": c.src.uri,
                   "input_file": example_file(c, "inputs.csv", "x,y\n1,2.5\n3,4.0\n"),
                   "output_file": example_file(c, "outputs.csv", "label\nyes\nno\n")},
        check_signature_set),
    "tools/Get_Model_Signature": Spec(
        lambda c: {"model_uri": f"runs:/{c.s.signature_run_id}/model", "tracking_uri": c.src.uri},
        check_signature_shown, ["tools/Set_Model_Signature"]),
}


# ------------------------------------------------------------------------------------------------ tests
def documented_widgets(name):
    """The widget names a notebook's description lists ('* `name`: meaning', or '* `a`, `b`: meaning')."""
    items = re.findall(r"^# MAGIC \* ((?:`\w+`(?:, )?)+):", (NOTEBOOKS_DIR / f"{name}.py").read_text(), re.M)
    return {widget for item in items for widget in re.findall(r"`(\w+)`", item)}


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs(name, chain):
    assert name in SPECS, f"notebook {name} has no test values: add it to SPECS"
    outcome = chain.run(name)
    SPECS[name].check(chain, outcome)
    assert documented_widgets(name) == set(outcome.widgets), f"{name}: the description does not list its widgets"


def test_every_spec_names_a_notebook():
    assert sorted(set(SPECS) - set(NOTEBOOKS)) == []


def test_failed_object_is_shown_and_fails_the_cell(chain):
    """A run that does not exist: the summary shows it failed, the details name it, the report file has it, and
    the cell fails with one line naming it, so that a job running the notebook fails."""
    missing = "0" * 32
    report_file = chain.tmp / "failed-report.json"
    with pytest.raises(Exception) as info:
        run_notebook("single/Export_Run", {"run_id": missing, "output_dir": chain.dir("missing-run"),
                                           "tracking_uri": chain.src.uri, "report_file": str(report_file)})
    assert type(info.value).__name__ == "OperationFailed"
    assert str(info.value).startswith(f"export-run failed: runs {missing}: ")
    assert "\n" not in str(info.value)
    report = json.loads(report_file.read_text())
    assert report["counts"]["runs"]["failed"] == 1 and report["failures"][0]["id"] == missing


def test_unusable_input_is_one_line_and_writes_nothing(chain):
    """An import folder without an export: the command fails as a whole, in one line naming the folder, before
    the destination experiment is made."""
    folder, experiment = chain.dir("not-an-export"), f"nb-never-{uuid.uuid4().hex[:8]}"
    os.makedirs(folder)
    with pytest.raises(Exception) as info:
        run_notebook("single/Import_Run", {"input_dir": folder, "experiment_name": experiment,
                                           "tracking_uri": chain.dst.uri})
    assert type(info.value).__name__ == "OperationFailed"
    assert str(info.value).startswith("import-run failed: ") and folder in str(info.value), str(info.value)
    assert "\n" not in str(info.value)
    assert chain.dst.client().get_experiment_by_name(experiment) is None


def test_verify_fails_when_the_destination_differs(chain):
    """An experiment that was never copied: Verify shows it missing and the cell fails."""
    name = f"nb-lonely-{uuid.uuid4().hex[:8]}"
    chain.src.client().create_experiment(name)
    with pytest.raises(Exception) as info:
        run_notebook("tools/Verify", {"src_uri": chain.src.uri, "dst_uri": chain.dst.uri,
                                      "experiments": name})
    assert type(info.value).__name__ == "OperationFailed"
    assert "differs from the source in 1 places" in str(info.value)


@pytest.mark.parametrize("values, message", [
    ({}, "The widget 'input_dir' is empty"),
    ({"input_dir": "/tmp/x", "experiment_name": "e", "workers": "eight"}, "The widget 'workers' holds 'eight'"),
])
def test_bad_widget_values_stop_before_any_work(values, message):
    with pytest.raises(ValueError, match=message):
        run_notebook("single/Import_Experiment", values)


def test_missing_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow_export_import", None)  # as on a cluster without the package
    with pytest.raises(ImportError, match=r"not installed.*%pip install"):
        run_notebook("_common", {})


def test_dbfs_path_is_read_through_the_fuse_mount():
    """'dbfs:/x' reaches the package as '/dbfs/x'; a driver-local folder gets a note that it does not last."""
    outcome = run_notebook("_common", {})
    local_path = outcome.namespace["local_path"]
    assert local_path("dbfs:/mnt/exports/run") == "/dbfs/mnt/exports/run"
    assert local_path("/Volumes/main/ml/exports/run") == "/Volumes/main/ml/exports/run"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert local_path("/tmp/run") == "/tmp/run"
    assert "driver's local disk" in out.getvalue()


def test_harness_rejects_what_databricks_would_not_run(tmp_path):
    """The parser is strict where Databricks is: header first, magic cells all MAGIC lines."""
    (tmp_path / "no_header.py").write_text("print(1)\n")
    (tmp_path / "mixed.py").write_text(f"{HEADER}\n# MAGIC %run ./x\nprint(1)\n")
    for name in ("no_header", "mixed"):
        with pytest.raises(NotebookFormatError):
            parse_notebook(tmp_path / f"{name}.py")
