"""Import one evaluation dataset (our export or the reference's): the dataset with its tags, linked to the
destination's experiments of the same names, and its records. A dataset of the same name in the destination
is completed, not duplicated: records are matched on their inputs, as the server itself does."""
import os

import click

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common.click_options import opt_dry_run, bool_option, opt_input_dir, opt_report
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.report import Report
from mlflow_export_import.evaluation_dataset.export_evaluation_dataset import (
    DATASET_FILE, KIND, check_datasets_supported, datasets_named, record_failure, store)
from mlflow_export_import.evaluation_dataset.plan import (
    dataset_tags, destination_experiment_ids, missing_tags, new_links, plan_datasets, read_dataset_file,
    records_to_upsert)

UPSERT_BATCH = 500


def import_evaluation_dataset(input_dir, dataset_name=None, delete_dataset=False, mlflow_client=None, report=None,
                              id_map=None, experiment_names=None):
    """Import input_dir/evaluation_dataset.json, as dataset_name if given. Returns (name, dataset_id), or None
    on failure. id_map (kind EXPERIMENTS) or experiment_names ({source id: name}) name the experiments of a
    reference export, which has only source ids."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    path = os.path.join(input_dir, DATASET_FILE)
    obj_id = dataset_name or input_dir
    try:
        src = read_dataset_file(path)
        obj_id = name = dataset_name or src["name"]
        if not report.wants(KIND, name, input_dir):
            return None
        check_datasets_supported(client)
        if delete_dataset:
            for existing in datasets_named(client, name):
                store(client).delete_dataset(existing.dataset_id)
        experiment_ids = destination_experiment_ids(client, src, id_map, experiment_names, lambda exp: report.note(
            f"evaluation dataset '{name}': link to source experiment {exp} dropped (no such experiment in the "
            "destination)"))
        dataset_id, changed = import_dataset(client, name, src, experiment_ids)
    except Exception as ex:
        record_failure(client, report, obj_id, ex, "import")
        return None
    if changed:
        report.copied(KIND)
    else:
        report.skipped(KIND, name, "already in the destination")
    return name, dataset_id


def import_dataset(client, name, src, experiment_ids):
    """Create or complete the dataset. Returns (dataset id, whether anything changed)."""
    existing = datasets_named(client, name)
    if existing:
        dataset, changed = existing[0], False
        missing = missing_tags(dataset, src)
        if missing:
            store(client).set_dataset_tags(dataset.dataset_id, missing)
            changed = True
        links = new_links(client, dataset.dataset_id, experiment_ids)
        if links:
            store(client).add_dataset_to_experiments(dataset.dataset_id, links)
            changed = True
    else:
        dataset = store(client).create_dataset(name=name, tags=dataset_tags(src) or None, experiment_ids=experiment_ids)
        changed = True
    records = records_to_upsert(client, dataset.dataset_id, src.get("records") or [], new_dataset=not existing)
    for i in range(0, len(records), UPSERT_BATCH):
        store(client).upsert_dataset_records(dataset.dataset_id, records[i:i + UPSERT_BATCH])
    return dataset.dataset_id, changed or bool(records)


@click.command("import-evaluation-dataset")
@opt_input_dir
@click.option("--evaluation-dataset-name", type=str, default=None,
              help="Destination dataset name. Default: the source name.")
@bool_option("--delete-evaluation-dataset", "Delete destination datasets of the same name first.")
@opt_dry_run
@opt_report
def main(input_dir, evaluation_dataset_name, delete_evaluation_dataset, dry_run, report_file):
    """Import an evaluation dataset exported by export-evaluation-dataset."""
    with command("import-evaluation-dataset", locals(), report_file, dry_run=dry_run) as report:
        if dry_run:
            plan_datasets(mk_client(read_only=True), [input_dir], delete_evaluation_dataset, report,
                          evaluation_dataset_name)
            return
        import_evaluation_dataset(input_dir, evaluation_dataset_name, delete_evaluation_dataset,
                                  mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
