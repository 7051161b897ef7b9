"""Export one GenAI evaluation dataset: evaluation_dataset.json with the dataset (MLflow's own dict shape), all
its records, and the names of its experiments next to their ids, so that import can link the destination's."""
import click
from mlflow.exceptions import MlflowException
from mlflow.utils.rest_utils import http_request
from mlflow.utils.uri import is_databricks_uri

from mlflow_export_import.client.client_utils import use_client
from mlflow_export_import.common import MlflowExportImportException, io_utils
from mlflow_export_import.common import capabilities
from mlflow_export_import.common.capabilities import unsupported_reason
from mlflow_export_import.common.click_options import opt_output_dir, opt_report
from mlflow_export_import.common.cli_utils import command, mk_client
from mlflow_export_import.common.iterators import BaseIterator
from mlflow_export_import.common.report import Report
from mlflow_export_import.common.timestamp_utils import fmt_ts_millis

DATASET_FILE = "evaluation_dataset.json"
KIND = "evaluation_datasets"
UNSUPPORTED_CODES = ("ENDPOINT_NOT_FOUND", "NOT_IMPLEMENTED", "FEATURE_DISABLED")


class DatasetsUnsupported(capabilities.Unsupported):
    """The tracking server of this client has no evaluation datasets."""


def export_evaluation_dataset(output_dir, dataset_name=None, dataset_id=None, mlflow_client=None, report=None):
    """Export the dataset named dataset_name or with dataset_id into output_dir. Returns the dataset or None."""
    client = use_client(mlflow_client)
    report = report if report is not None else Report()
    if not dataset_name and not dataset_id:
        raise MlflowExportImportException("Give a dataset name or a dataset id", http_status_code=400)
    obj_id = dataset_id or dataset_name
    try:
        check_datasets_supported(client)
        dataset = get_dataset(client, dataset_id) if dataset_id else get_dataset_by_name(client, dataset_name)
        write_dataset(client, dataset, output_dir)
    except Exception as ex:
        record_failure(client, report, obj_id, ex, "export")
        return None
    report.copied(KIND)
    return dataset


def record_failure(client, report, obj_id, ex, action):
    capabilities.record_failure(report, KIND, obj_id, ex, unsupported_reason(client),
                                f"Evaluation dataset '{obj_id}' failed to {action}")


def store(client):
    return client._tracking_client.store


def check_datasets_supported(client):
    """Asked of the server once per URI, without retries: a server without datasets (older MLflow: 404, a file
    store: 500 FEATURE_DISABLED) would otherwise be retried for minutes. Databricks keeps evaluation datasets
    as Unity Catalog tables, outside the MLflow API."""
    uri = client.tracking_uri
    if is_databricks_uri(uri):
        raise DatasetsUnsupported(unsupported_reason(client))
    if not str(uri).startswith(("http://", "https://")):
        return
    if uri not in _supported:
        _supported[uri] = probe_datasets_endpoint(client)
    if not _supported[uri]:
        raise DatasetsUnsupported(unsupported_reason(client))


_supported = {}


def probe_datasets_endpoint(client):
    resp = http_request(store(client).get_host_creds(), "/api/3.0/mlflow/datasets/search", "POST",
                        max_retries=0, timeout=30, raise_on_status=False, json={"max_results": 1})
    if resp.status_code == 200:
        return True
    try:
        error_code = resp.json().get("error_code")
    except ValueError:
        error_code = None
    if resp.status_code in (404, 405, 501) or error_code in UNSUPPORTED_CODES:
        return False
    raise MlflowExportImportException(
        f"{io_utils.redact_uri(client.tracking_uri)} answers HTTP {resp.status_code} to an evaluation dataset "
        f"search: {resp.text[:200]}",
        http_status_code=resp.status_code)


def search_datasets(client, experiment_ids=None, filter_string=None):
    return list(BaseIterator(store(client).search_datasets, 1000, filter_string,
                             experiment_ids=list(experiment_ids or [])))


def get_dataset(client, dataset_id):
    try:
        return store(client).get_dataset(dataset_id)
    except MlflowException as ex:
        if ex.get_http_status_code() == 404 or ex.error_code == "RESOURCE_DOES_NOT_EXIST":
            raise MlflowExportImportException(
                ex, f"Evaluation dataset '{dataset_id}' not found in {io_utils.redact_uri(client.tracking_uri)}",
                http_status_code=404)
        raise


def get_dataset_by_name(client, name):
    found = datasets_named(client, name)
    if not found:
        raise MlflowExportImportException(
            f"Evaluation dataset '{name}' not found in {io_utils.redact_uri(client.tracking_uri)}",
            http_status_code=404)
    return found[0]


def datasets_named(client, name):
    """The datasets of this exact name, oldest first (names are not unique)."""
    quoted = name.replace("'", "\\'")
    found = [d for d in search_datasets(client, filter_string=f"name = '{quoted}'") if d.name == name]
    return sorted(found, key=lambda d: d.created_time or 0)


def write_dataset(client, dataset, output_dir):
    payload = {"evaluation_dataset": dataset_to_dict(client, dataset)}
    io_utils.write_export_file(output_dir, DATASET_FILE, __file__, payload, tracking_uri=client.tracking_uri)


def dataset_to_dict(client, dataset):
    """MLflow's dict of the dataset, with experiment ids and records read through this client's server (the
    entity would read them from the global tracking URI), plus `experiment_names`."""
    dataset._experiment_ids = store(client).get_dataset_experiment_ids(dataset.dataset_id)
    dataset._records, _ = store(client)._load_dataset_records(dataset.dataset_id, max_results=None)
    dct = dataset.to_dict()
    dct["experiment_names"] = [experiment_name(client, x) for x in dct.get("experiment_ids") or []]
    for key in ("created_time", "last_update_time"):
        if dct.get(key):
            dct[f"_{key}"] = fmt_ts_millis(int(dct[key]))
    return dct


def experiment_name(client, experiment_id):
    try:
        return client.get_experiment(experiment_id).name
    except MlflowException:
        return None


@click.command("export-evaluation-dataset")
@click.option("--dataset-name", type=str, default=None, help="Dataset name (give a name or an id).")
@click.option("--dataset-id", type=str, default=None, help="Dataset id (give a name or an id).")
@opt_output_dir
@opt_report
def main(dataset_name, dataset_id, output_dir, report_file):
    """Export a GenAI evaluation dataset with its records to a directory."""
    with command("export-evaluation-dataset", locals(), report_file) as report:
        export_evaluation_dataset(output_dir, dataset_name, dataset_id, mlflow_client=mk_client(), report=report)


if __name__ == "__main__":
    main()
