"""A catalogue of 48 distinct bad inputs, each run through a real console command against the shared servers.

Every case must give a non-zero exit: 1, the command's own failure (verify answers 2 when it cannot compare,
as it keeps 1 for "different"; no case is a click usage error), one clear line that names the file, object or
server at fault, no traceback, and nothing half-written: no destination object that looks complete, no
export file for the object that failed.

Categories (cases): corrupt JSON (4), truncated JSON (4), empty file (4), wrong top-level shape (5),
old-format files that cannot be read (3), missing files (5), unknown names and ids (7), unreachable
server (3), wrong scheme (3), unauthorized server (3), a server that is not MLflow (2), over-limit values
(3: the one bad run fails, the other two runs import), names with slashes and unicode that MLflow refuses (2).
test_catalogue_is_big_enough checks the count. Old-format files that are still readable, and names MLflow
accepts, must import: see the last two tests.
"""
import json
import os
import shutil
import uuid
from dataclasses import dataclass
from typing import Callable

import pytest
from click.testing import CliRunner
from mlflow.entities import ViewType

from mlflow_export_import.bulk import (
    export_evaluation_datasets, export_experiments, export_logged_models, export_models, export_prompts,
    export_traces, import_all, import_experiments, import_logged_models, import_models, import_prompts,
    import_traces)
from mlflow_export_import.common.source_tags import ImportTags
from mlflow_export_import.copy import copy_run
from mlflow_export_import.evaluation_dataset import export_evaluation_dataset, import_evaluation_dataset
from mlflow_export_import.experiment import export_experiment, import_experiment
from mlflow_export_import.logged_model import export_logged_model, import_logged_model
from mlflow_export_import.model import export_model, import_model
from mlflow_export_import.model_version import export_model_version, import_model_version
from mlflow_export_import.prompt import export_prompt, import_prompt
from mlflow_export_import.run import import_run
from mlflow_export_import.trace import export_trace, import_trace
from mlflow_export_import.verify import verify
from tests.fault_proxy import FaultProxy
from tests.mlflow3_workload import make_logged_model, make_trace
from tests.servers import free_port
from tests.test_evaluation_datasets import make_dataset
from tests.workload import T0, make_run

UNKNOWN_HEX = "0123456789abcdef0123456789abcdef"


# ---------------------------------------------------------------- the source objects, exported once

@dataclass
class Exported:
    root: str
    exp_id: str
    exp_name: str
    run_ids: list
    model: str
    model_id: str
    trace_id: str
    prompt: str
    dataset: str


@pytest.fixture(scope="module")
def exported(src_server, tmp_path_factory):
    """One experiment (three runs, a logged model, a trace), a registered model with one version, a prompt and
    an evaluation dataset, exported as export-all lays them out (the experiment with the version's run only),
    plus the whole experiment (export-experiments) and a single model version."""
    client = src_server.client()
    tag = uuid.uuid4().hex[:8]
    exp_name = f"catalogue-{tag}"
    exp_id = client.create_experiment(exp_name)
    run_ids = [make_run(client, exp_id, f"r{i}", start=T0 + i, artifacts=(i == 0)) for i in range(3)]
    model_id = make_logged_model(client, exp_id, f"lm-{tag}", run_ids[1])
    trace_id = make_trace(client, exp_id, f"trace-{tag}")
    model = f"catalogue-model-{tag}"
    client.create_registered_model(model)
    client.create_model_version(model, f"runs:/{run_ids[0]}/model", run_ids[0])
    prompt, dataset = f"catalogue_prompt_{tag}", f"catalogue_ds_{tag}"
    client.register_prompt(prompt, "Hello {{name}}")
    make_dataset(client, dataset, [exp_id], n=2)

    root = str(tmp_path_factory.mktemp("catalogue-export"))
    export_models.export_models([model], root, mlflow_client=client)
    export_experiments.export_experiments([exp_id], os.path.join(root, "full"), mlflow_client=client)
    export_prompts.export_prompts(os.path.join(root, "prompts"), [prompt], mlflow_client=client)
    export_evaluation_datasets.export_evaluation_datasets(os.path.join(root, "evaluation_datasets"), [dataset],
                                                          mlflow_client=client)
    export_model_version.export_model_version(model, "1", os.path.join(root, "version"), mlflow_client=client)
    return Exported(root, exp_id, exp_name, run_ids, model, model_id, trace_id, prompt, dataset)


class Paths:
    """A private copy of the export for one case, with the paths the cases damage."""

    def __init__(self, ex, tmp_path):
        self.root = str(tmp_path / "export")
        shutil.copytree(ex.root, self.root)
        self.ex = ex

    def join(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def experiments(self):
        return self.join("experiments")

    @property
    def experiment(self):
        """The whole experiment (export-experiments): its three runs, logged model and trace."""
        return self.join("full", self.ex.exp_id)

    def run(self, i=0):
        return os.path.join(self.experiment, "runs", self.ex.run_ids[i])

    @property
    def model(self):
        return self.join("models", self.ex.model)

    @property
    def logged_models(self):
        return os.path.join(self.experiment, "logged_models")

    @property
    def logged_model(self):
        return os.path.join(self.logged_models, self.ex.model_id)

    @property
    def traces(self):
        return os.path.join(self.experiment, "traces")

    @property
    def trace(self):
        return os.path.join(self.traces, self.ex.trace_id)

    @property
    def prompt(self):
        return self.join("prompts", f"{self.ex.prompt}_v1")

    @property
    def dataset(self):
        [name] = [d for d in os.listdir(self.join("evaluation_datasets")) if d.startswith(self.ex.dataset)]
        return self.join("evaluation_datasets", name)

    def empty_dir(self, name="empty"):
        path = self.join(name)
        os.makedirs(path)
        return path


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def truncate(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return write(path, text[:len(text) // 2])


def edit_json(path, change):
    with open(path, encoding="utf-8") as f:
        dct = json.load(f)
    change(dct)
    return write(path, json.dumps(dct))


# ---------------------------------------------------------------- what each case runs and checks

@dataclass
class Call:
    main: Callable
    args: list
    names: list  # what the message must name
    uri: str = None  # default: the destination server
    nothing_written: Callable = None  # () -> None, asserts
    exit_code: int = 1


@dataclass
class World:
    src: object
    dst: object
    ex: Exported
    p: Paths
    tag: str

    def name(self, kind):
        return f"cat-{kind}-{self.tag}"


def no_experiment(world, name):
    def check():
        assert world.dst.client().get_experiment_by_name(name) is None, name
    return check


def no_model(world, name, experiment=None):
    def check():
        assert world.dst.client().search_registered_models(f"name='{name}'") == [], name
        if experiment:
            no_experiment(world, experiment)()
    return check


def no_prompt(world, name):
    def check():
        assert [p for p in world.dst.client().search_prompts(max_results=1000) if p.name == name] == [], name
    return check


def no_dataset(world, name):
    def check():
        assert [d for d in world.dst.client().search_datasets() if d.name == name] == [], name
    return check


def no_file(path):
    def check():
        assert not os.path.exists(path), path
    return check


def no_files_under(path):
    def check():
        found = [os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs] if os.path.exists(path) else []
        assert not [f for f in found if f.endswith(".json")], found
    return check


def all_of(*checks):
    def check():
        for c in checks:
            c()
    return check


CASES = {}


def case(category, name):
    def register(fn):
        assert name not in CASES
        CASES[name] = (category, fn)
        return fn
    return register


# ---- corrupt JSON

@case("corrupt", "corrupt model.json (import-model)")
def _(w):
    path = write(os.path.join(w.p.model, "model.json"), '{"mlflow": {"registered_model": {"name": "x",}}}')
    dst = w.name("model")
    return Call(import_model.main, ["--input-dir", w.p.model, "--model", dst, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_model(w, dst, dst))


@case("corrupt", "corrupt logged_models.json (import-logged-models)")
def _(w):
    path = write(os.path.join(w.p.logged_models, "logged_models.json"), "{oops}")
    return Call(import_logged_models.main, ["--input-dir", w.p.logged_models], ["Corrupt export file", path],
                nothing_written=no_experiment(w, w.ex.exp_name))


@case("corrupt", "corrupt traces.json (import-traces)")
def _(w):
    path = write(os.path.join(w.p.traces, "traces.json"), "<html>not json</html>")
    return Call(import_traces.main, ["--input-dir", w.p.traces], ["Corrupt export file", path],
                nothing_written=no_experiment(w, w.ex.exp_name))


@case("corrupt", "version.json that is not UTF-8 (import-model-version)")
def _(w):
    path = os.path.join(w.p.join("version"), "version.json")
    with open(path, "wb") as f:
        f.write(b"\xff\xfe\x00{\x80garbage")
    dst = w.name("version")
    return Call(import_model_version.main, ["--input-dir", w.p.join("version"), "--model", dst,
                                            "--experiment-name", dst, "--create-model", "true"],
                ["Corrupt export file", path], nothing_written=no_model(w, dst, dst))


# ---- truncated JSON

@case("truncated", "truncated models.json (import-all)")
def _(w):
    path = truncate(w.p.join("models", "models.json"))
    return Call(import_all.main, ["--input-dir", w.p.root], ["Corrupt export file", path],
                nothing_written=all_of(no_model(w, w.ex.model), no_experiment(w, w.ex.exp_name)))


@case("truncated", "truncated prompt.json (import-prompt)")
def _(w):
    path = truncate(os.path.join(w.p.prompt, "prompt.json"))
    dst = w.name("prompt").replace("-", "_")
    return Call(import_prompt.main, ["--input-dir", w.p.prompt, "--prompt-name", dst],
                ["Corrupt export file", path], nothing_written=no_prompt(w, dst))


@case("truncated", "truncated logged_model.json (import-logged-model)")
def _(w):
    path = truncate(os.path.join(w.p.logged_model, "logged_model.json"))
    dst = w.name("lm")
    return Call(import_logged_model.main, ["--input-dir", w.p.logged_model, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("truncated", "truncated evaluation_dataset.json (import-evaluation-dataset)")
def _(w):
    path = truncate(os.path.join(w.p.dataset, "evaluation_dataset.json"))
    dst = w.name("ds").replace("-", "_")
    return Call(import_evaluation_dataset.main, ["--input-dir", w.p.dataset, "--evaluation-dataset-name", dst],
                ["Corrupt export file", path], nothing_written=no_dataset(w, dst))


# ---- empty file

@case("empty", "empty run.json (import-run)")
def _(w):
    path = write(os.path.join(w.p.run(), "run.json"), "")
    dst = w.name("run")
    return Call(import_run.main, ["--input-dir", w.p.run(), "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("empty", "empty experiment.json (import-experiment)")
def _(w):
    path = write(os.path.join(w.p.experiment, "experiment.json"), "")
    dst = w.name("exp")
    return Call(import_experiment.main, ["--input-dir", w.p.experiment, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("empty", "empty trace.json (import-trace)")
def _(w):
    path = write(os.path.join(w.p.trace, "trace.json"), "")
    dst = w.name("trace")
    return Call(import_trace.main, ["--input-dir", w.p.trace, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("empty", "empty experiments.json (import-models)")
def _(w):
    path = write(w.p.join("experiments", "experiments.json"), "")
    return Call(import_models.main, ["--input-dir", w.p.root], ["Corrupt export file", path],
                nothing_written=all_of(no_model(w, w.ex.model), no_experiment(w, w.ex.exp_name)))


# ---- wrong top-level shape

@case("shape", "run.json is a JSON list (import-run)")
def _(w):
    path = write(os.path.join(w.p.run(), "run.json"), "[]")
    dst = w.name("run")
    return Call(import_run.main, ["--input-dir", w.p.run(), "--experiment-name", dst],
                ["Corrupt export file", path, "no 'mlflow' object"], nothing_written=no_experiment(w, dst))


@case("shape", "registered_model is a string (import-model)")
def _(w):
    path = edit_json(os.path.join(w.p.model, "model.json"),
                     lambda d: d["mlflow"].update(registered_model="oops"))
    dst = w.name("model")
    return Call(import_model.main, ["--input-dir", w.p.model, "--model", dst, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_model(w, dst, dst))


@case("shape", "trace.json 'mlflow' is a list (import-trace)")
def _(w):
    path = write(os.path.join(w.p.trace, "trace.json"), '{"system": {}, "mlflow": []}')
    dst = w.name("trace")
    return Call(import_trace.main, ["--input-dir", w.p.trace, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("shape", "experiment.json is null (import-experiment)")
def _(w):
    path = write(os.path.join(w.p.experiment, "experiment.json"), "null")
    dst = w.name("exp")
    return Call(import_experiment.main, ["--input-dir", w.p.experiment, "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("shape", "prompt.json 'mlflow' is a number (import-prompts)")
def _(w):
    path = write(os.path.join(w.p.prompt, "prompt.json"), '{"system": {}, "mlflow": 42}')
    return Call(import_prompts.main, ["--input-dir", w.p.join("prompts")], ["Corrupt export file", path],
                nothing_written=no_prompt(w, w.ex.prompt))


# ---- old-format files that cannot be read

@case("old-format", "run.json without the system/mlflow envelope (import-run)")
def _(w):
    path = edit_json(os.path.join(w.p.run(), "run.json"), lambda d: (d.update(d.pop("mlflow")), d.pop("system")))
    dst = w.name("run")
    return Call(import_run.main, ["--input-dir", w.p.run(), "--experiment-name", dst],
                ["Corrupt export file", path], nothing_written=no_experiment(w, dst))


@case("old-format", "metrics as latest values only, not histories (import-run)")
def _(w):
    path = edit_json(os.path.join(w.p.run(), "run.json"), lambda d: d["mlflow"].update(metrics={"m0": 0.5}))
    dst = w.name("run")
    return Call(import_run.main, ["--input-dir", w.p.run(), "--experiment-name", dst],
                ["Corrupt export file", path, "m0"], nothing_written=no_experiment(w, dst))


@case("old-format", "run info without run_id or run_uuid (import-experiment)")
def _(w):
    path = edit_json(os.path.join(w.p.run(), "run.json"), lambda d: d["mlflow"]["info"].pop("run_id"))
    dst = w.name("exp")
    return Call(import_experiment.main, ["--input-dir", w.p.experiment, "--experiment-name", dst],
                ["no run info", path, "2 copied, 0 skipped, 1 failed"],
                nothing_written=src_run_ids_are(w, dst, w.ex.run_ids[1:]))


# ---- missing files

@case("missing", "no evaluation_dataset.json (import-evaluation-dataset)")
def _(w):
    path = w.p.empty_dir()
    return Call(import_evaluation_dataset.main, ["--input-dir", path],
                ["Missing export file", os.path.join(path, "evaluation_dataset.json")])


@case("missing", "input dir that does not exist (import-logged-models)")
def _(w):
    path = w.p.join("nowhere")
    return Call(import_logged_models.main, ["--input-dir", path], [path])


@case("missing", "no traces.json (import-traces)")
def _(w):
    os.remove(os.path.join(w.p.traces, "traces.json"))
    return Call(import_traces.main, ["--input-dir", w.p.traces],
                ["Missing export file", os.path.join(w.p.traces, "traces.json")],
                nothing_written=no_experiment(w, w.ex.exp_name))


@case("missing", "no version.json (import-model-version)")
def _(w):
    os.remove(w.p.join("version", "version.json"))
    dst = w.name("version")
    return Call(import_model_version.main, ["--input-dir", w.p.join("version"), "--model", dst,
                                            "--experiment-name", dst, "--create-model", "true"],
                ["Missing export file", w.p.join("version", "version.json")], nothing_written=no_model(w, dst, dst))


@case("missing", "empty directory (import-all)")
def _(w):
    path = w.p.empty_dir()
    return Call(import_all.main, ["--input-dir", path], ["Missing export file", path])


# ---- unknown names and ids

@case("unknown", "unknown logged model id (export-logged-model)")
def _(w):
    out = w.p.join("out")
    return Call(export_logged_model.main, ["--model-id", f"m-{UNKNOWN_HEX}", "--output-dir", out],
                [f"m-{UNKNOWN_HEX}", "not found"], uri=w.src.uri, nothing_written=no_files_under(out))


@case("unknown", "unknown trace id (export-trace)")
def _(w):
    out = w.p.join("out")
    return Call(export_trace.main, ["--request-id", f"tr-{UNKNOWN_HEX}", "--output-dir", out],
                [f"tr-{UNKNOWN_HEX}", "not found"], uri=w.src.uri, nothing_written=no_files_under(out))


@case("unknown", "unknown version of a known prompt (export-prompt)")
def _(w):
    out = w.p.join("out")
    return Call(export_prompt.main, ["--prompt-name", w.ex.prompt, "--prompt-version", "9", "--output-dir", out],
                [w.ex.prompt, "no version 9"], uri=w.src.uri, nothing_written=no_files_under(out))


@case("unknown", "unknown evaluation dataset id (export-evaluation-dataset)")
def _(w):
    out = w.p.join("out")
    return Call(export_evaluation_dataset.main, ["--dataset-id", f"d-{UNKNOWN_HEX}", "--output-dir", out],
                [f"d-{UNKNOWN_HEX}", "not found"], uri=w.src.uri, nothing_written=no_files_under(out))


@case("unknown", "unknown experiment (export-traces)")
def _(w):
    out = w.p.join("out")
    return Call(export_traces.main, ["--experiment-ids", f"no-such-exp-{w.tag}", "--output-dir", out],
                [f"no-such-exp-{w.tag}", "not found"], uri=w.src.uri, nothing_written=no_files_under(out))


@case("unknown", "unknown experiment (export-logged-models)")
def _(w):
    out = w.p.join("out")
    return Call(export_logged_models.main, ["--experiment-ids", "987654321", "--output-dir", out],
                ["987654321", "not found"], uri=w.src.uri, nothing_written=no_files_under(out))


@case("unknown", "unknown registered model (verify)")
def _(w):
    return Call(verify.main, ["--src-uri", w.src.uri, "--dst-uri", w.dst.uri, "--models", f"nope-{w.tag}"],
                [f"nope-{w.tag}", "not found"], exit_code=2)  # verify: 1 means "different", 2 "could not compare"


# ---- servers: unreachable, wrong scheme, unauthorized, not MLflow

def closed_port_uri():
    return f"http://127.0.0.1:{free_port()}"


@case("unreachable", "closed port (import-all)")
def _(w):
    uri = closed_port_uri()
    return Call(import_all.main, ["--input-dir", w.p.root], ["Cannot reach the MLflow tracking server", uri],
                uri=uri)


@case("unreachable", "closed port as the destination (verify)")
def _(w):
    uri = closed_port_uri()
    return Call(verify.main, ["--src-uri", w.src.uri, "--dst-uri", uri, "--experiments", w.ex.exp_name],
                ["Cannot reach the MLflow tracking server", uri], exit_code=2)


@case("unreachable", "closed port (export-prompts)")
def _(w):
    uri, out = closed_port_uri(), w.p.join("out")
    return Call(export_prompts.main, ["--prompts", "all", "--output-dir", out],
                ["Cannot reach the MLflow tracking server", uri], uri=uri, nothing_written=no_files_under(out))


@case("scheme", "ftp:// tracking URI (import-experiments)")
def _(w):
    uri = "ftp://127.0.0.1/mlflow"
    return Call(import_experiments.main, ["--input-dir", w.p.experiments], [uri], uri=uri)


@case("scheme", "a plain word as tracking URI (export-experiments)")
def _(w):
    out = w.p.join("out")
    return Call(export_experiments.main, ["--experiments", "all", "--output-dir", out], ["notaserver"],
                uri="notaserver", nothing_written=all_of(no_files_under(out), no_file("notaserver")))


@case("scheme", "misspelt http scheme as copy-run destination")
def _(w):
    uri, dst = f"htp://127.0.0.1:{w.dst.port}", w.name("copy")
    return Call(copy_run.main, ["--run-id", w.ex.run_ids[0], "--experiment-name", dst, "--src-mlflow-uri", w.src.uri,
                                "--dst-mlflow-uri", uri], [uri], nothing_written=no_experiment(w, dst))


def answer_all(status, body=b"", headers=None):
    return lambda path: (status, headers or {}, body)


@case("unauthorized", "401 from every call (import-experiments)")
def _(w):
    return Call(import_experiments.main, ["--input-dir", w.p.experiments], ["Not authorized", "HTTP 401"],
                uri=w.proxy(answer_all(401)), nothing_written=no_experiment(w, w.ex.exp_name))


@case("unauthorized", "403 from every call (export-model)")
def _(w):
    out = w.p.join("out")
    return Call(export_model.main, ["--model", w.ex.model, "--output-dir", out], ["Not authorized", "HTTP 403"],
                uri=w.proxy(answer_all(403)), nothing_written=no_files_under(out))


@case("unauthorized", "403 on the registry only (export-models)")
def _(w):
    out = w.p.join("out")
    denied = (403, {"Content-Type": "application/json"},
              b'{"error_code": "PERMISSION_DENIED", "message": "No permission on registered models"}')
    uri = w.proxy(lambda path: denied if "registered-models" in path or "model-versions" in path else None)
    return Call(export_models.main, ["--models", w.ex.model, "--output-dir", out], [w.ex.model, "PERMISSION_DENIED"],
                uri=uri, nothing_written=no_file(os.path.join(out, "models", w.ex.model, "model.json")))


@case("not-mlflow", "404 for every path (import-trace)")
def _(w):
    dst = w.name("trace")
    return Call(import_trace.main, ["--input-dir", w.p.trace, "--experiment-name", dst],
                ["does not answer as an MLflow tracking server"], uri=w.proxy(answer_all(404, b"Not Found")),
                nothing_written=no_experiment(w, dst))


@case("not-mlflow", "a web page for every path (export-experiment)")
def _(w):
    out = w.p.join("out")
    page = answer_all(200, b"<html><body>Welcome</body></html>", {"Content-Type": "text/html"})
    return Call(export_experiment.main, ["--experiment", w.ex.exp_name, "--output-dir", out],
                ["does not answer as an MLflow tracking server"], uri=w.proxy(page), nothing_written=no_files_under(out))


# ---- over-limit values: the one bad run fails clearly, the other two import

def src_run_ids_are(world, experiment_name, expected):
    """The runs that look complete in the destination experiment are exactly those of `expected`."""
    def check():
        client = world.dst.client()
        exp = client.get_experiment_by_name(experiment_name)
        runs = client.search_runs([exp.experiment_id], run_view_type=ViewType.ACTIVE_ONLY)
        done = [r.data.tags.get(ImportTags.SRC_RUN_ID) for r in runs
                if r.data.tags.get(ImportTags.STATE) == ImportTags.STATE_DONE and r.info.status == "FINISHED"]
        assert sorted(done) == sorted(expected)
    return check


def over_limit(w, change, *names):
    edit_json(os.path.join(w.p.run(), "run.json"), lambda d: change(d["mlflow"]))
    dst = w.name("limits")
    return Call(import_experiment.main, ["--input-dir", w.p.experiment, "--experiment-name", dst],
                [f"FAILED runs {w.ex.run_ids[0]}", "2 copied, 0 skipped, 1 failed", *names],
                nothing_written=src_run_ids_are(w, dst, w.ex.run_ids[1:]))


@case("over-limit", "param value longer than MLflow keeps (import-experiment)")
def _(w):
    return over_limit(w, lambda d: d["params"].update(p0="x" * 9000), "p0", "6000")


@case("over-limit", "tag key longer than MLflow allows (import-experiment)")
def _(w):
    return over_limit(w, lambda d: d["tags"].update({"k" * 300: "v"}), "exceeds the maximum length")


@case("over-limit", "metric value that is not a number (import-experiment)")
def _(w):
    return over_limit(w, lambda d: d["metrics"]["m0"][0].update(value="abc"), "m0")


# ---- names MLflow refuses

@case("names", "prompt name with a slash and unicode (import-prompt)")
def _(w):
    dst = f"équipe/prompt-{w.tag}"
    return Call(import_prompt.main, ["--input-dir", w.p.prompt, "--prompt-name", dst], [dst],
                nothing_written=no_prompt(w, dst))


@case("names", "registered model name with a slash and unicode (import-model)")
def _(w):
    dst, experiment = f"modèle/{w.tag}", w.name("model")
    return Call(import_model.main, ["--input-dir", w.p.model, "--model", dst, "--experiment-name", experiment],
                [dst], nothing_written=no_model(w, dst, experiment))


# ---------------------------------------------------------------- the tests

def test_catalogue_is_big_enough():
    assert len(CASES) == 48
    assert len({category for category, _ in CASES.values()}) == 13


@pytest.fixture
def world(src_server, dst_server, exported, tmp_path):
    proxies = []

    class W(World):
        def proxy(self, answer):
            fault_proxy = FaultProxy(self.dst.uri, answer=answer).__enter__()
            proxies.append(fault_proxy)
            return fault_proxy.uri

    yield W(src_server, dst_server, exported, Paths(exported, tmp_path), uuid.uuid4().hex[:8])
    for fault_proxy in proxies:
        fault_proxy.__exit__(None, None, None)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(world, name):
    _, make = CASES[name]
    call = make(world)
    uri = call.uri or world.dst.uri
    res = CliRunner().invoke(call.main, call.args, env={"MLFLOW_TRACKING_URI": uri})
    assert isinstance(res.exception, SystemExit) or res.exception is None, repr(res.exception)
    assert res.exit_code == call.exit_code, res.output
    assert "Traceback" not in res.output
    for fragment in call.names:
        assert fragment in res.output, (fragment, res.output)
    failure_lines = [line for line in res.output.splitlines() if line.startswith(("  FAILED", "Error:"))]
    assert failure_lines and all(len(line) < 1200 for line in failure_lines), res.output
    if call.nothing_written:
        call.nothing_written()


# ---------------------------------------------------------------- what must not fail

def invoke_ok(main, args, uri):
    res = CliRunner().invoke(main, args, env={"MLFLOW_TRACKING_URI": uri})
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    return res


def test_readable_old_format_run_imports(world):
    """A run.json as older exports wrote it (run_uuid, no run_id, inputs as a plain list, no outputs) imports."""
    path = os.path.join(world.p.run(1), "run.json")

    def make_old(dct):
        info = dct["mlflow"]["info"]
        info["run_uuid"] = info.pop("run_id")
        dct["mlflow"]["inputs"] = dct["mlflow"]["inputs"]["dataset_inputs"]
        dct["mlflow"].pop("outputs", None)
    edit_json(path, make_old)
    name = world.name("old")
    invoke_ok(import_run.main, ["--input-dir", world.p.run(1), "--experiment-name", name], world.dst.uri)
    client = world.dst.client()
    [run] = client.search_runs([client.get_experiment_by_name(name).experiment_id])
    src = world.src.client().get_run(world.ex.run_ids[1])
    assert run.data.tags[ImportTags.SRC_RUN_ID] == world.ex.run_ids[1]
    assert run.data.params == src.data.params and run.data.metrics == src.data.metrics
    assert run.info.status == "FINISHED"


def test_names_with_unicode_and_slashes_that_mlflow_accepts_round_trip(world):
    """Experiment and evaluation dataset names may hold slashes and unicode, model names unicode: kept as given."""
    client = world.dst.client()
    experiment = f"équipe/ünïcödé/名前-{world.tag}"
    invoke_ok(import_experiment.main, ["--input-dir", world.p.experiment, "--experiment-name", experiment],
              world.dst.uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None and len(client.search_runs([exp.experiment_id])) == 3

    model = f"modèle-名前-{world.tag}"
    invoke_ok(import_model_version.main, ["--input-dir", world.p.join("version"), "--model", model,
                                          "--experiment-name", experiment, "--create-model", "true"], world.dst.uri)
    assert [v.version for v in client.search_model_versions(f"name='{model}'")] == ["1"]

    dataset = f"team/jeu-données-{world.tag}"
    invoke_ok(import_evaluation_dataset.main, ["--input-dir", world.p.dataset, "--evaluation-dataset-name", dataset],
              world.dst.uri)
    assert [d.name for d in client.search_datasets() if d.name == dataset] == [dataset]
