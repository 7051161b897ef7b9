"""Direct copies and sync between two tracking servers: the Python entry points of copy-experiments,
copy-models, copy-all and sync. Each takes two clients (source, destination) and returns the Report."""
import threading
from contextlib import nullcontext

from mlflow.entities import ViewType

from mlflow_export_import.bulk.rename_utils import get_renames, rename
from mlflow_export_import.bulk.bulk_utils import get_experiment_ids, get_model_names
from mlflow_export_import.bulk.model_utils import experiments_of_runs
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error, registry_rules
from mlflow_export_import.common.id_map import IdMap
from mlflow_export_import.common.iterators import SearchExperimentsIterator, SearchModelVersionsIterator
from mlflow_export_import.common.logging_utils import get_logger
from mlflow_export_import.common.parallel import GROUP_WIDTH, map_bounded, new_tuner, run_in_session
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import utc_str_to_millis
from mlflow_export_import.engine import backup, registry
from mlflow_export_import.engine.experiments import ExperimentCopier
from mlflow_export_import.engine.lock import REGISTRY_LEASE, BackgroundLease, new_owner, registry_lease
from mlflow_export_import.engine.runs import Options, RunWriter
from mlflow_export_import.engine.source_server import ServerSource
from mlflow_export_import.run.import_run import RunImporter

_logger = get_logger(__name__)
OPEN_WIDTH = 4 * GROUP_WIDTH  # experiments open at once in a copy (GROUP_WIDTH of them listing)


def copy_experiments(experiments="all", src_client=None, dst_client=None, experiment_renames=None,
                     export_deleted_runs=False, run_start_time=None, runs_until=None, import_source_tags=False,
                     use_src_user_id=True, workers=None, dry_run=False, report=None, id_map=None, sync=False,
                     delete=False, check_artifacts=False):
    """Copy the selected experiments ('all', names or ids, comma separated, or a .txt file) with their runs,
    logged models and traces. With sync, copies made before are brought up to date; with delete (sync
    only), what is gone from the source is deleted from the copy (soft-deleted, as MLflow does)."""
    return _copy_experiments(experiments, src_client, dst_client, experiment_renames, export_deleted_runs,
                             run_start_time, runs_until, import_source_tags, use_src_user_id, workers, dry_run, report,
                             id_map, sync, delete, check_artifacts)


def _copy_experiments(experiments, src_client, dst_client, experiment_renames, export_deleted_runs, run_start_time,
                      runs_until, import_source_tags, use_src_user_id, workers, dry_run, report, id_map, sync, delete,
                      check_artifacts, held=None):
    """held: the registry lease copy-all holds (lock.BackgroundLease), or None."""
    src, dst = use_client(src_client), use_client(dst_client)
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else IdMap()
    options = Options(sync, delete, export_deleted_runs or delete, check_artifacts)
    source = ServerSource(src)
    writer = RunWriter(source, dst, RunImporter(dst, import_source_tags, use_src_user_id, report=report), options)
    copier = ExperimentCopier(source, dst, writer, options, report, id_map, workers, dry_run, import_source_tags,
                              run_filter=_window(run_start_time, runs_until), held=held)
    renames = get_renames(experiment_renames)

    turns = threading.BoundedSemaphore(GROUP_WIDTH)

    def copy_one(exp):
        with _ListingTurn(turns) as turn:
            copier.copy(exp, rename(exp.name, renames, "experiment"), listed=turn.done)

    # a few experiments at once, as coordinators (they take no slot: they wait for their runs' pools): one's
    # serial steps (lease, listings, traces) overlap the runs of the others. GROUP_WIDTH list and plan at once;
    # one that has listed all its runs gives its turn to the next while its runs are written. Up to OPEN_WIDTH are
    # open: each holds a page of runs at most, and their reads share the read-ahead's slots (disk bound)
    selected = select_experiments(src, experiments, options.include_deleted, report)
    for exp, _, ex in map_bounded(copy_one, selected, workers, width=OPEN_WIDTH, coordinators=True):
        if ex is not None:
            report.failed("experiments", exp.experiment_id, describe_error(ex), name=exp.name)
            _logger.error(f"Experiment '{exp.name}' failed to copy: {describe_error(ex)}")
    return report


def copy_models(models="all", src_client=None, dst_client=None, model_renames=None, experiment_renames=None,
                copy_experiments_of_versions=True, import_source_tags=False, use_src_user_id=True, workers=None,
                dry_run=False, report=None, id_map=None, sync=False, delete=False, check_artifacts=False, held=None):
    """Copy the selected registered models with their versions; first the experiments of the versions' runs
    (only those runs), unless copy_experiments_of_versions is False (copy-all copies every experiment first).
    held: the registry lease (lock.BackgroundLease), when the caller holds it already."""
    src, dst = use_client(src_client), use_client(dst_client)
    report = report if report is not None else Report()
    id_map = id_map if id_map is not None else IdMap()
    renames = get_renames(model_renames)
    # names the destination registry refuses (Unity Catalog: three levels) stop the command before any write
    registry_rules.check_model_names(dst, [rename(n, renames, "model") for n in get_model_names(src, models)])
    if copy_experiments_of_versions:
        _copy_version_runs(src, dst, models, experiment_renames, import_source_tags, use_src_user_id, workers,
                           dry_run, report, id_map, sync, check_artifacts, held)
    # a caller that holds the registry lease (copy-all) passes it: taking it again here would wait for it forever
    # (another owner), and release it at the end of the models, before the caller's prompts and datasets
    with _registry_lease(dst, dry_run or held is not None):
        registry.copy_models(src, dst, models, report, id_map, workers, model_renames, import_source_tags,
                             sync=sync, delete=delete, dry_run=dry_run)
    return report


def copy_all(src_client=None, dst_client=None, experiment_renames=None, model_renames=None,
             export_deleted_runs=False, import_source_tags=False, use_src_user_id=True, workers=None, dry_run=False,
             report=None, sync=False, delete=False, check_artifacts=False, experiments="all", models="all"):
    """Every experiment (or those selected), then every registered model (or those selected; 'none': none),
    prompt and evaluation dataset. With models or experiments selected, prompts and datasets are left out.
    The registry is read from the source while the experiments are copied, and written after them (versions
    point at their runs' copies, datasets at their experiments')."""
    src, dst = use_client(src_client), use_client(dst_client)
    report = report if report is not None else Report()
    id_map = IdMap()
    # the registry's lease is taken at once, in the background, and held to the end: its requests are then off
    # the tail of the copy (the experiment it is held on, Default, is copied under it)
    held = None if dry_run else BackgroundLease(*REGISTRY_LEASE, lambda: registry_lease(dst, new_owner()))
    try:
        steps = _registry_steps(src, dst, experiments, models, experiment_renames, model_renames,
                                import_source_tags, use_src_user_id, workers, dry_run, report, id_map, sync, delete,
                                held)
        reads = _RegistryReads(steps, workers)
        reads.start()
        try:
            _copy_experiments(experiments, src, dst, experiment_renames, export_deleted_runs, None, None,
                              import_source_tags, use_src_user_id, workers, dry_run, report, id_map, sync, delete,
                              check_artifacts, held)
        finally:
            reads.join()
        if held is not None:
            held.wait()
        _write_registry(reads, report, workers, dry_run)
    finally:
        if held is not None:
            held.release()
    return report


def _registry_steps(src, dst, experiments, models, experiment_renames, model_renames, import_source_tags,
                    use_src_user_id, workers, dry_run, report, id_map, sync, delete, held):
    """[(kind, two-step generator: reads up to its yield, writes after)] of copy-all's registry objects. Selected
    models go the way of copy-models (the runs of their versions first): all of it in the write step."""
    everything = str(experiments).lower() == "all" and str(models).lower() == "all"
    if not everything:
        if str(models).lower() == "none":
            return []
        return [("models", _all_in_write_step(lambda: copy_models(
            models, src, dst, model_renames, experiment_renames, True, import_source_tags, use_src_user_id, workers,
            dry_run, report, id_map, sync, delete, held=held)))]
    return [("models", registry.model_steps(src, dst, "all", report, id_map, workers, model_renames,
                                            import_source_tags, sync=sync, delete=delete, dry_run=dry_run)),
            ("prompts", registry.prompt_steps(src, dst, report, workers, dry_run=dry_run)),
            ("evaluation_datasets", registry.dataset_steps(src, dst, report, id_map, workers, dry_run=dry_run))]


def _all_in_write_step(fn):
    yield
    fn()


class _RegistryReads(threading.Thread):
    """Takes each registry step to its yield (reads the source) in a thread of its own, at the source's own pace,
    while the experiments are copied."""

    def __init__(self, steps, workers):
        super().__init__(target=run_in_session, args=(new_tuner(workers), self._read_all), daemon=True,
                         name="mlflow-export-import-registry-reads")
        self.steps, self.read, self.errors = steps, [], {}

    def _read_all(self):
        for kind, steps in self.steps:
            try:
                next(steps)
                self.read.append((kind, steps))
            except StopIteration:
                pass  # nothing to write
            except Exception as ex:
                self.errors[kind] = ex


def _write_registry(reads, report, workers, dry_run):
    """Models, prompts and evaluation datasets are written at once: none needs another's copies, and each is a
    few short chains of requests that alone would leave the destination idle. A dry run plans them in order.
    A failure of prompts or datasets is reported; one of the models is raised (as copy-models raises it)."""
    errors = dict(reads.errors)
    outcomes = map_bounded(lambda step: registry.finish(step[1]), reads.read, 1 if dry_run else workers,
                           width=len(reads.read) or None, coordinators=True)
    for (kind, _), _, ex in outcomes:
        if ex is not None:
            errors[kind] = ex
    for kind, ex in errors.items():
        if kind != "models":
            report.failed(kind, "all", describe_error(ex))
            _logger.error(f"Copying {kind} failed: {describe_error(ex)}")
    if "models" in errors:
        raise errors["models"]


class _ListingTurn:
    """An experiment's turn to list and plan its runs, given back once they are listed or when it ends."""

    def __init__(self, turns):
        self.turns, self.held = turns, False

    def __enter__(self):
        self.turns.acquire()
        self.held = True
        return self

    def done(self):
        if self.held:
            self.held = False
            self.turns.release()

    def __exit__(self, *exc):
        self.done()


def _registry_lease(dst, dry_run):
    lease = None if dry_run else registry_lease(dst, new_owner())
    return lease if lease is not None else nullcontext()


def select_experiments(client, selector, include_deleted, report):
    """The selected source experiments, listed (one search) or looked up by name or id."""
    if str(selector).strip().lower() == "all":
        view = ViewType.ALL if include_deleted else ViewType.ACTIVE_ONLY
        yield from SearchExperimentsIterator(client, view_type=view)
        return
    for item in ([selector] if str(selector).endswith(".txt") else str(selector).split(",")):
        try:
            for exp_id in get_experiment_ids(client, item.strip(), include_deleted):
                yield client.get_experiment(exp_id)
        except Exception as ex:
            report.failed("experiments", item, describe_error(ex))


def _copy_version_runs(src, dst, models, experiment_renames, import_source_tags, use_src_user_id, workers, dry_run,
                       report, id_map, sync, check_artifacts, held=None):
    """The runs of the selected models' versions, in their experiments."""
    run_ids = []
    for name in get_model_names(src, models):
        for vr in SearchModelVersionsIterator(src, filter=f"name='{name}'"):
            if vr.run_id:
                run_ids.append(vr.run_id)
    for exp_id, ids in experiments_of_runs(src, run_ids).items():
        exp = src.get_experiment(exp_id)
        options = Options(sync, False, False, check_artifacts)
        source = ServerSource(src)
        writer = RunWriter(source, dst, RunImporter(dst, import_source_tags, use_src_user_id, report=report), options)
        copier = ExperimentCopier(source, dst, writer, options, report, id_map, workers, dry_run, import_source_tags,
                                  run_filter=_run_id_filter(ids), held=held)
        try:
            copier.copy(exp, rename(exp.name, get_renames(experiment_renames), "experiment"))
        except Exception as ex:
            report.failed("experiments", exp_id, describe_error(ex), name=exp.name)


def _run_id_filter(ids):
    quoted = ", ".join(f"'{i}'" for i in ids)
    return f"attributes.run_id IN ({quoted})"


def _window(run_start_time, runs_until):
    clauses = []
    if run_start_time:
        clauses.append(f"attributes.start_time >= {utc_str_to_millis(run_start_time)}")
    if runs_until:
        clauses.append(f"attributes.start_time < {utc_str_to_millis(runs_until)}")
    return " AND ".join(clauses) or None


def sync_to_dir(src_client=None, output_dir=None, experiments="all", delete=False, workers=None, dry_run=False,
                report=None):
    """Keep an export directory (export-all layout) level with the source: an incremental backup. See
    engine/backup.py."""
    src = use_client(src_client)
    report = report if report is not None else Report()
    backup.sync_to_dir(src, output_dir, experiments, select_experiments, delete, workers, dry_run, report)
    return report
