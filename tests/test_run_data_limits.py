"""A run beyond every LogBatch limit round-trips exactly; a retried batch leaves no duplicate metric points."""
from concurrent.futures import ThreadPoolExecutor

import pytest
from mlflow.entities import Metric, Param, RunTag

from mlflow_export_import.run import export_run, import_run
from mlflow_export_import.run.run_data_importer import import_run_data
from tests.workload import T0

N_PARAMS, N_METRICS, N_TAGS, N_POINTS = 110, 1010, 110, 10_000


class CountingClient:
    """Passes every call through; checks and counts the LogBatch requests."""
    def __init__(self, client):
        self._client = client
        self.batches = []

    def log_batch(self, run_id, metrics=(), params=(), tags=()):
        assert len(metrics) <= 1000 and len(params) <= 100 and len(tags) <= 100
        assert len(metrics) + len(params) + len(tags) <= 1000
        self.batches.append((len(params), len(metrics), len(tags)))
        return self._client.log_batch(run_id, metrics=metrics, params=params, tags=tags)

    def __getattr__(self, name):
        return getattr(self._client, name)


def _log_in_chunks(client, run_id, entities, kind, size):
    for i in range(0, len(entities), size):
        client.log_batch(run_id, **{kind: entities[i:i + size]})


@pytest.fixture(scope="module")
def big_run(src_server):
    client = src_server.client()
    exp_id = client.create_experiment("big-run-limits")
    run_id = client.create_run(exp_id, start_time=T0, run_name="big").info.run_id
    _log_in_chunks(client, run_id, [Param(f"param_{i:03d}", f"v{i}") for i in range(N_PARAMS)], "params", 100)
    _log_in_chunks(client, run_id, [RunTag(f"tag_{i:03d}", f"t{i}") for i in range(N_TAGS)], "tags", 100)
    _log_in_chunks(client, run_id, [Metric(f"metric_{i:04d}", i * 0.5, T0 + i, i % 7) for i in range(N_METRICS)],
                   "metrics", 1000)
    _log_in_chunks(client, run_id, [Metric("history", s / 3, T0 + s, s) for s in range(N_POINTS)], "metrics", 1000)
    client.set_terminated(run_id, "FINISHED", T0 + 99_000)
    return client.get_run(run_id)


@pytest.fixture(scope="module")
def big_export(src_server, big_run, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("big-export"))
    export_run.export_run(big_run.info.run_id, out, mlflow_client=src_server.client(), raise_exception=True)
    return out


def _histories(client, run_id, keys):
    with ThreadPoolExecutor(4) as pool:
        hists = pool.map(lambda k: sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(run_id, k)),
                         keys)
        return dict(zip(keys, hists))


def test_big_run_round_trips_exactly(src_client, dst_client, big_run, big_export):
    src_id = big_run.info.run_id
    counting = CountingClient(dst_client)
    dst_run, _ = import_run.import_run(big_export, "big-run-limits-dst", mlflow_client=counting)

    assert dst_run.data.params == big_run.data.params and len(dst_run.data.params) == N_PARAMS
    src_tags = {k: v for k, v in big_run.data.tags.items()}
    dst_tags = {k: v for k, v in dst_run.data.tags.items() if not k.startswith("mlflow_exim.")}
    assert dst_tags == src_tags and sum(k.startswith("tag_") for k in dst_tags) == N_TAGS
    assert set(dst_run.data.metrics) == set(big_run.data.metrics) and len(dst_run.data.metrics) == N_METRICS + 1
    assert dst_run.data.metrics == big_run.data.metrics
    keys = sorted(big_run.data.metrics)[::20] + ["history"]  # full histories of a sample (time)
    assert _histories(dst_client, dst_run.info.run_id, keys) == _histories(src_client, src_id, keys)
    assert len(dst_client.get_metric_history(dst_run.info.run_id, "history")) == N_POINTS
    assert (dst_run.info.start_time, dst_run.info.end_time) == (T0, T0 + 99_000)
    # 110 params + 11,010 metric points + 110 tags (+ lineage tags): a dozen requests, each within the limits
    assert 12 <= len(counting.batches) <= 14
    assert sum(b[0] for b in counting.batches) == N_PARAMS
    assert sum(b[1] for b in counting.batches) == N_METRICS + N_POINTS


def test_exported_histories_are_whole(big_export):
    run_dct = import_run.read_run(big_export)
    assert len(run_dct["metrics"]) == N_METRICS + 1
    assert sorted((p["step"], p["timestamp"], p["value"]) for p in run_dct["metrics"]["history"]) == \
        [(s, T0 + s, s / 3) for s in range(N_POINTS)]
    assert run_dct["metrics"]["metric_0009"] == [{"value": 4.5, "timestamp": T0 + 9, "step": 2, "model_id": None,
                                                  "dataset_name": None, "dataset_digest": None, "run_id": None}]


def test_retried_batch_leaves_no_duplicate_points(dst_client, big_export, uniq):
    run_dct = import_run.read_run(big_export)
    run_dct = dict(run_dct, metrics={k: run_dct["metrics"][k] for k in ("history", "metric_0005")})
    exp_id = dst_client.create_experiment(f"retried-{uniq}")
    run_id = dst_client.create_run(exp_id).info.run_id
    import_run_data(dst_client, run_dct, run_id)
    import_run_data(dst_client, run_dct, run_id)  # the same LogBatch requests again, as a retry sends them
    history = dst_client.get_metric_history(run_id, "history")
    assert len(history) == N_POINTS
    assert len({(m.step, m.timestamp, m.value) for m in history}) == N_POINTS
    assert len(dst_client.get_metric_history(run_id, "metric_0005")) == 1
