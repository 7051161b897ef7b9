"""Small, deterministic MLflow workloads written through the public client, and field-by-field checks."""
import os
import tempfile

from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType

from mlflow_export_import.common.source_tags import ImportTags

T0 = 1_700_000_000_000


def make_run(client, experiment_id, name, start=T0, end=T0 + 60_000, status="FINISHED", user="alice",
             parent_id=None, params=3, metrics=2, steps=5, tags=2, artifacts=True, dataset=None):
    run_tags = {"mlflow.user": user}
    if parent_id:
        run_tags["mlflow.parentRunId"] = parent_id
    run = client.create_run(experiment_id, start_time=start, tags=run_tags, run_name=name)
    run_id = run.info.run_id
    client.log_batch(
        run_id,
        metrics=[Metric(f"m{k}", k + step * 0.5, start + step, step) for k in range(metrics) for step in range(steps)],
        params=[Param(f"p{i}", f"value-{i}") for i in range(params)],
        tags=[RunTag(f"t{i}", f"tag-{i}") for i in range(tags)])
    if dataset:
        client.log_inputs(run_id, [DatasetInput(
            Dataset(dataset, f"digest-{dataset}", "local", '{"uri": "/data/x.csv"}', '{"cols": ["x"]}',
                    '{"num_rows": 10}'), [InputTag("mlflow.data.context", "training")])])
    if artifacts:
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "sub", "deeper"))
            os.makedirs(os.path.join(d, "model"))
            with open(os.path.join(d, "a.txt"), "w") as f:
                f.write(f"artifact of {name}\n")
            with open(os.path.join(d, "sub", "deeper", "b.bin"), "wb") as f:
                f.write(bytes(range(256)) * 8)
            with open(os.path.join(d, "model", "MLmodel"), "w") as f:
                f.write(f"artifact_path: model\nflavors: {{}}\nrun_id: {run_id}\n")
            client.log_artifacts(run_id, d)
    if status != "RUNNING":
        client.set_terminated(run_id, status, end)
    return run_id


def make_experiment(client, name, runs=3, nested=True, deleted=1, failed=1):
    """An experiment with plain, nested (parent/child/grandchild), failed and deleted runs."""
    exp_id = client.create_experiment(name, tags={"team": "ml", "mlflow.note.content": f"About {name}"})
    run_ids = [make_run(client, exp_id, f"run{i}", start=T0 + i * 1000, dataset=f"ds{i % 2}") for i in range(runs)]
    if nested:
        parent = make_run(client, exp_id, "parent", start=T0 + 10_000)
        child = make_run(client, exp_id, "child", start=T0 + 11_000, parent_id=parent)
        grandchild = make_run(client, exp_id, "grandchild", start=T0 + 12_000, parent_id=child, artifacts=False)
        run_ids += [parent, child, grandchild]
    for i in range(failed):
        run_ids.append(make_run(client, exp_id, f"failed{i}", start=T0 + 20_000 + i, status="FAILED"))
    for i in range(deleted):
        rid = make_run(client, exp_id, f"deleted{i}", start=T0 + 30_000 + i)
        client.delete_run(rid)
        run_ids.append(rid)
    return exp_id, run_ids


def runs_by_name(client, experiment_id):
    runs = client.search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=1000)
    return {r.info.run_name: r for r in runs}


def artifact_files(client, run_id, path=None):
    files = {}
    for fi in client.list_artifacts(run_id, path):
        if fi.is_dir:
            files.update(artifact_files(client, run_id, fi.path))
        else:
            files[fi.path] = fi.file_size
    return files


def user_tags(tags):
    return {k: v for k, v in tags.items() if not k.startswith("mlflow_exim.") and k != "mlflow.parentRunId"}


def assert_same_run(src_client, src_run, dst_client, dst_run):
    """Everything the API lets a copy keep: info, params, histories, tags, inputs, artifacts."""
    si, di = src_run.info, dst_run.info
    for field in ("run_name", "status", "start_time", "end_time", "lifecycle_stage", "user_id"):
        assert getattr(si, field) == getattr(di, field), field
    assert src_run.data.params == dst_run.data.params
    assert user_tags(src_run.data.tags) == user_tags(dst_run.data.tags)
    assert dst_run.data.tags.get(ImportTags.SRC_RUN_ID) == si.run_id
    for key in src_run.data.metrics:
        hist = lambda c, r: sorted((m.step, m.timestamp, m.value) for m in c.get_metric_history(r, key))  # noqa: E731
        assert hist(src_client, si.run_id) == hist(dst_client, di.run_id), key
    assert set(src_run.data.metrics) == set(dst_run.data.metrics)
    ds = lambda r: sorted((d.dataset.name, d.dataset.digest, d.dataset.source, tuple((t.key, t.value) for t in d.tags))  # noqa: E731
                          for d in (r.inputs.dataset_inputs if r.inputs else []))
    assert ds(src_run) == ds(dst_run)
    src_files, dst_files = artifact_files(src_client, si.run_id), artifact_files(dst_client, di.run_id)
    assert set(src_files) == set(dst_files)
    assert {p: s for p, s in src_files.items() if not p.endswith("MLmodel")} == \
        {p: s for p, s in dst_files.items() if not p.endswith("MLmodel")}
