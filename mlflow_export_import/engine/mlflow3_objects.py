"""An experiment's logged models and traces: those the destination lacks (matched by the lineage tags of
earlier copies) pass through a temporary directory in the export format and are imported by the importers of
import-experiment; those already copied cost no request beyond the two listings."""
import os
import tempfile

from mlflow_export_import.bulk.export_logged_models import KIND as LOGGED_MODELS
from mlflow_export_import.bulk.export_traces import KIND as TRACES
from mlflow_export_import.common import describe_error
from mlflow_export_import.common import id_map as id_maps
from mlflow_export_import.common.capabilities import is_unsupported
from mlflow_export_import.common.iterators import BaseIterator, SearchLoggedModelsIterator
from mlflow_export_import.common.parallel import at_once, map_bounded
from mlflow_export_import.logged_model.export_logged_model import export_logged_model_entity
from mlflow_export_import.logged_model.import_logged_model import (
    imported_logged_models, import_logged_models_dir, link_models)
from mlflow_export_import.trace.export_trace import export_trace_entity
from mlflow_export_import.trace.import_trace import import_traces_dir, imported_traces


def copy_experiment_objects(src, dst, src_exp_id, dst_exp_id, run_mapping, report, id_map, workers, links,
                            dry_run=False, new_runs=None):
    """Logged models, then the new runs' links to them, then traces. run_mapping: {source run id: copy id or
    None}; links: {source run id: (input model ids, [(output model id, step)])} of the runs copied now; new_runs:
    {copy id: RunInfo} of runs this copy wrote, as it left them (not read again)."""
    run_id_map = {src_id: dst_id for src_id, dst_id in run_mapping.items() if dst_id}
    if dry_run:
        _plan(src, dst, src_exp_id, dst_exp_id, report)
        return
    with tempfile.TemporaryDirectory(prefix="mlflow-copy-objects-") as tmp:
        def models_and_links():
            model_map = _logged_models(src, dst, src_exp_id, dst_exp_id, os.path.join(tmp, "logged_models"),
                                       run_id_map, report, id_map, workers, new_runs)
            if model_map is not None:
                _link_runs(dst, links, run_id_map, model_map, report, workers, new_runs)

        traces_stage = os.path.join(tmp, "traces")
        # the traces are read meanwhile: only their import needs the models' copies (a trace's mlflow.modelId)
        _, (staged, existing) = at_once(
            models_and_links, lambda: _read_traces(src, dst, src_exp_id, dst_exp_id, traces_stage, report, workers),
            workers=workers)
        if staged:
            import_traces_dir(dst, traces_stage, dst_exp_id, run_id_map, report, id_map, workers, trace_ids=staged,
                              existing=existing)


def _plan(src, dst, src_exp_id, dst_exp_id, report):
    todo, _ = _new_logged_models(src, dst, src_exp_id, dst_exp_id, report)
    for m in todo or []:
        report.would(LOGGED_MODELS, m.model_id, f"copy logged model '{m.name}' ({m.model_id})")
    todo, _ = _new_traces(src, dst, src_exp_id, dst_exp_id, report)
    for info in todo or []:
        report.would(TRACES, info.trace_id, f"copy trace {info.trace_id}")


def _new_logged_models(src, dst, src_exp_id, dst_exp_id, report):
    """(models the destination lacks or has half-copied, {source id: copy} of the others); (None, {}) when the
    server has no logged models. The others are reported as skipped."""
    try:
        models = list(SearchLoggedModelsIterator(src, [src_exp_id]))
    except Exception as ex:
        if not is_unsupported(ex):
            report.failed(LOGGED_MODELS, f"experiment {src_exp_id}", describe_error(ex))
        return None, {}
    existing = imported_logged_models(dst, dst_exp_id) if models and dst_exp_id else {}
    todo = [m for m in models if m.model_id not in existing or _status(existing[m.model_id]) != _status(m)]
    todo_ids = {m.model_id for m in todo}
    for m in models:
        if m.model_id not in todo_ids:
            report.skipped(LOGGED_MODELS, m.model_id, "already copied")
    return todo, existing


def _status(logged_model):
    return str(getattr(logged_model.status, "value", logged_model.status))


def _logged_models(src, dst, src_exp_id, dst_exp_id, stage, run_id_map, report, id_map, workers, new_runs=None):
    """Returns {source model id: copy id} of every model with a copy, or None when the server has none."""
    todo, existing = _new_logged_models(src, dst, src_exp_id, dst_exp_id, report)
    if todo is None:
        return None
    staged = _stage(todo, lambda m: export_logged_model_entity(src, m, os.path.join(stage, m.model_id)),
                    lambda m: m.model_id, LOGGED_MODELS, report, workers)
    if staged:
        import_logged_models_dir(dst, stage, dst_exp_id, run_id_map, report, id_map, workers=workers,
                                 model_ids=staged, new_runs=new_runs, existing=existing)
    model_map = {src_id: lm.model_id for src_id, lm in existing.items()}
    model_map.update(id_map.items(id_maps.LOGGED_MODELS))
    return model_map


def _link_runs(dst, links, run_id_map, model_map, report, workers=None, new_runs=None):
    """Each run copied now to the copies of its logged models (runs at once: each is its own short chain)."""
    def link(item):
        src_run_id, (inputs, outputs) = item
        missing = sorted({m for m in inputs + [m for m, _ in outputs] if m not in model_map})
        if missing:
            report.note(f"run {src_run_id}: not linked to logged model(s) {', '.join(missing)}, which were not copied")
        dst_run_id = run_id_map[src_run_id]
        link_models(dst, dst_run_id, [model_map[m] for m in inputs if m in model_map],
                    [(model_map[m], step) for m, step in outputs if m in model_map], (new_runs or {}).get(dst_run_id))

    for (src_run_id, _), _, ex in map_bounded(link, list(links.items()), workers):
        if ex is not None:
            report.failed("runs", src_run_id, f"Run could not be linked to its logged models: {describe_error(ex)}")


def _new_traces(src, dst, src_exp_id, dst_exp_id, report):
    """(trace infos the destination lacks, {source trace id: copy id} of the others); (None, {}) when the server
    has no traces."""
    try:
        infos = [t.info for t in BaseIterator(src.search_traces, 500, locations=[src_exp_id], include_spans=False)]
    except Exception as ex:
        if not is_unsupported(ex):
            report.failed(TRACES, f"experiment {src_exp_id}", describe_error(ex))
        return None, {}
    existing = imported_traces(dst, dst_exp_id) if infos and dst_exp_id else {}
    for info in infos:
        if info.trace_id in existing:
            report.skipped(TRACES, info.trace_id, "already copied")
    return [i for i in infos if i.trace_id not in existing], existing


def _read_traces(src, dst, src_exp_id, dst_exp_id, stage, report, workers):
    """Export the traces the destination lacks into the stage directory; returns (their ids, {source trace id:
    copy id} of those copied before)."""
    todo, existing = _new_traces(src, dst, src_exp_id, dst_exp_id, report)
    if not todo:
        return [], existing
    return _stage(todo, lambda i: export_trace_entity(src, i.trace_id, os.path.join(stage, i.trace_id)),
                  lambda i: i.trace_id, TRACES, report, workers), existing


def _stage(items, export_one, id_of, kind, report, workers):
    """Export the items into the stage directory; returns the ids exported (failures are reported)."""
    staged = []
    for item, _, ex in map_bounded(export_one, items, workers):
        if ex is None:
            staged.append(id_of(item))
        else:
            report.failed(kind, id_of(item), f"could not be read from the source: {describe_error(ex)}")
    return staged
