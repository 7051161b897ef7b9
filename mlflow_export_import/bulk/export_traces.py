"""Export the traces of experiments: traces.json and <trace_id>/trace.json for each trace."""
import os

import click

from mlflow_export_import.bulk.bulk_utils import get_experiment_ids
from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import describe_error, io_utils
from mlflow_export_import.common.capabilities import is_unsupported, unsupported_reason
from mlflow_export_import.common.click_options import opt_output_dir, opt_report, opt_workers
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import BaseIterator
from mlflow_export_import.common.parallel import map_bounded
from mlflow_export_import.common.report import Report
from mlflow_export_import.trace.export_trace import KIND, SOURCE_RUN, export_trace_entity

TRACES_FILE = "traces.json"


def export_traces(experiment_ids, output_dir, run_id=None, mlflow_client=None, report=None, workers=None):
    """Export the traces of the experiments ('all', ids or names), or only those of run_id.
    Returns (ok trace ids, failed trace ids)."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    ok, failed, exp_entries = [], [], []
    for experiment_id in get_experiment_ids(client, experiment_ids):
        exp_ok, exp_failed = export_experiment_traces(client, experiment_id, output_dir, [run_id] if run_id else None,
                                                      report, workers, write_list=False, keep_unlinked=not run_id)
        if exp_ok is None:
            continue
        ok += exp_ok
        failed += exp_failed
        exp_entries.append({"id": experiment_id, "name": client.get_experiment(experiment_id).name, "traces": exp_ok})
    write_traces_file(client, output_dir, exp_entries, ok, failed)
    return ok, failed


def export_experiment_traces(client, experiment_id, output_dir, run_ids=None, report=None, workers=None,
                             write_list=True, keep_unlinked=True, experiment_name=None):
    """Export one experiment's traces into output_dir/<trace id>/: all, or, when run_ids is given, those of
    these runs (and those of no run if keep_unlinked). Returns (ok ids, failed ids), or (None, None) when the
    server has no traces. experiment_name: the experiment's, when the caller knows it."""
    report = report if report is not None else Report()
    try:
        infos = [t.info for t in BaseIterator(client.search_traces, 500, locations=[experiment_id],
                                              include_spans=False)]
    except Exception as ex:
        if not is_unsupported(ex):
            raise
        report.skipped(KIND, f"experiment {experiment_id}", unsupported_reason(client))
        return None, None
    if run_ids is not None:
        keep = set(run_ids)
        infos = [i for i in infos if i.trace_metadata.get(SOURCE_RUN) in keep
                 or keep_unlinked and not i.trace_metadata.get(SOURCE_RUN)]
    ok, failed = [], []

    def export_one(info):
        return export_trace_entity(client, info.trace_id, os.path.join(output_dir, info.trace_id), report,
                                   trace_info=info)

    for info, _, ex in map_bounded(export_one, infos, workers):
        if ex is None:
            ok.append(info.trace_id)
        else:
            failed.append(info.trace_id)
            report.failed(KIND, info.trace_id, f"Trace failed to export: {describe_error(ex)}")
    if write_list and (ok or failed):
        name = experiment_name or client.get_experiment(experiment_id).name
        write_traces_file(client, output_dir, [{"id": experiment_id, "name": name, "traces": ok}], ok, failed)
    return ok, failed


def write_traces_file(client, output_dir, exp_entries, ok, failed):
    if not ok and not failed:
        return
    info = {"num_total_trace": len(ok) + len(failed), "num_ok_traces": len(ok), "num_failed_traces": len(failed),
            "failed_traces": failed}
    io_utils.write_export_file(output_dir, TRACES_FILE, __file__, {"experiments": exp_entries}, info,
                               tracking_uri=client.tracking_uri)


@click.command("export-traces")
@click.option("--experiment-ids", type=str, required=True, help="Experiment ids or names (comma separated), or 'all'.")
@opt_output_dir
@opt_workers
@opt_report
def main(experiment_ids, output_dir, workers, report_file):
    """Export the traces of experiments to a directory."""
    with command("export-traces", locals(), report_file) as report:
        export_traces(experiment_ids, output_dir, mlflow_client=mk_client(), report=report, workers=workers)


if __name__ == "__main__":
    main()
