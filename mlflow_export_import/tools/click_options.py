"""Options of the tool scripts, named and typed as the reference tool has them."""
import click

from mlflow_export_import.common.click_options import bool_option


def opt_model_uri(f):
    return click.option("--model-uri", type=str, required=True,
                        help="Model URI: runs:/<run_id>/<path>, an artifact URI (mlflow-artifacts:/..., s3://..., "
                             "a local path), models:/<logged model id>, or a registered version "
                             "models:/<name>/<version> (also /<stage>, /latest, @<alias>).")(f)


def opt_use_get_model_info(f):
    return bool_option("--use-get-model-info",
                       "Read the signature with mlflow.models.get_model_info instead of reading the MLmodel file "
                       "directly (same result, more requests).")(f)


def opt_filter(f):
    return click.option("--filter", "filter", type=str, default=None,
                        help="Which versions: a search_model_versions filter such as \"name like 'team_%'\" "
                             "(on Databricks a search_registered_models filter). Default: all versions.")(f)
