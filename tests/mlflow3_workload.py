"""MLflow 3 objects for tests: logged models linked to runs, and traces with nested spans and assessments.

Traces can only be written through MLflow's fluent tracing API, which uses the global tracking URI: it is set
for the duration of the call and restored."""
import os
import tempfile
from contextlib import contextmanager

import mlflow
from mlflow.entities import (
    AssessmentSource, Expectation, Feedback, LoggedModelInput, LoggedModelOutput, Metric, SpanEvent)
from mlflow.entities.trace_location import MlflowExperimentLocation

from tests.workload import T0


@contextmanager
def tracking_uri(uri):
    """MLflow's global tracking URI set to uri for the block, then put back as it was: the raw global (not
    get_tracking_uri(), whose default set again would also set $MLFLOW_TRACKING_URI) and the variable."""
    from mlflow.tracking._tracking_service import utils as tracking_utils
    old_uri, old_env = tracking_utils._tracking_uri, os.environ.get("MLFLOW_TRACKING_URI")
    old_async = os.environ.get("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING")
    os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = "false"
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(old_uri)
        if old_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = old_env
        if old_async is None:
            os.environ.pop("MLFLOW_ENABLE_ASYNC_TRACE_LOGGING", None)
        else:
            os.environ["MLFLOW_ENABLE_ASYNC_TRACE_LOGGING"] = old_async


def make_trace(client, experiment_id, name, run_id=None):
    """A trace root -> child (with an event, status ERROR) -> grandchild, tags, metadata, a feedback on the
    child span and an expectation. Returns the trace id."""
    with tracking_uri(client.tracking_uri):
        with mlflow.start_span(name=name, span_type="CHAIN", attributes={"team": "ml", "n": 3},
                               trace_destination=MlflowExperimentLocation(experiment_id)) as root:
            root.set_inputs({"question": f"q-{name}"})
            with mlflow.start_span(name="retrieve", span_type="RETRIEVER") as child:
                child.set_inputs({"query": "x"})
                child.add_event(SpanEvent("cache_miss", attributes={"key": "k1"}))
                with mlflow.start_span(name="embed", span_type="EMBEDDING") as grandchild:
                    grandchild.set_outputs([0.1, 0.2])
                child.set_outputs({"docs": 2})
                child.set_status("ERROR")
            root.set_outputs({"answer": f"a-{name}"})
            metadata = {"mlflow.sourceRun": run_id} if run_id else {}
            mlflow.update_current_trace(tags={"env": "test", "name": name}, metadata=metadata)
        trace_id, child_span_id = root.trace_id, child.span_id
    tracing = client._tracing_client
    tracing.log_assessment(trace_id, Feedback(name="relevance", value=0.75, rationale="mostly relevant",
                                              source=AssessmentSource("LLM_JUDGE", "judge-1"), span_id=child_span_id))
    tracing.log_assessment(trace_id, Expectation(name="expected", value={"answer": "42"},
                                                 source=AssessmentSource("HUMAN", "alice")))
    return trace_id


def write_model_dir(d, model_id, run_id):
    os.makedirs(os.path.join(d, "data"), exist_ok=True)
    with open(os.path.join(d, "MLmodel"), "w") as f:
        f.write(f"artifact_path: model\nflavors: {{}}\nmodel_id: {model_id}\nmodel_uuid: {model_id[2:]}\n"
                f"run_id: {run_id}\n")
    with open(os.path.join(d, "data", "weights.bin"), "wb") as f:
        f.write(bytes(range(256)) * 4)


def make_logged_model(client, experiment_id, name, run_id=None, status="READY", step=1, metric=True):
    lm = client.create_logged_model(experiment_id=experiment_id, name=name, source_run_id=run_id,
                                    tags={"stage": "dev", "owner": "bob"}, params={"alpha": "0.5", "layers": "3"},
                                    model_type="classifier")
    with tempfile.TemporaryDirectory() as d:
        write_model_dir(d, lm.model_id, run_id)
        client.log_model_artifacts(lm.model_id, d)
    client.finalize_logged_model(lm.model_id, status)
    if run_id:
        if metric:
            client.log_batch(run_id, metrics=[Metric("accuracy", 0.91, T0 + 5, step, model_id=lm.model_id,
                                                     dataset_name="eval", dataset_digest="abc123", run_id=run_id)],
                             synchronous=True)
        client.log_outputs(run_id, [LoggedModelOutput(lm.model_id, step)])
    return lm.model_id


def link_input(client, run_id, model_id):
    client.log_inputs(run_id, models=[LoggedModelInput(model_id)])


def model_files(client, model_id, path=None):
    files = {}
    listing = client.list_logged_model_artifacts(model_id, path) if path else client.list_logged_model_artifacts(model_id)
    for fi in listing:
        if fi.is_dir:
            files.update(model_files(client, model_id, fi.path))
        else:
            files[fi.path] = fi.file_size
    return files
