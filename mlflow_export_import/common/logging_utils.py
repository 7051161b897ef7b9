"""Logging as the reference configures it (behaviours §5.12), applied by the console scripts only."""
import logging
import logging.config
import os

import yaml

DEFAULT_FORMAT = "%(asctime)s - %(levelname)s - %(message)s"
DATE_FORMAT = "%d-%b-%y %H:%M:%S"


def get_logger(name):
    return logging.getLogger(name)


def configure_logging(verbose=False):
    """Console on stdout; MLFLOW_EXPORT_IMPORT_LOG_CONFIG_FILE (YAML dictConfig),
    MLFLOW_EXPORT_IMPORT_LOG_OUTPUT_FILE and MLFLOW_EXPORT_IMPORT_LOG_FORMAT override."""
    config_file = os.environ.get("MLFLOW_EXPORT_IMPORT_LOG_CONFIG_FILE")
    if config_file and config_file.endswith(".yaml") and os.path.exists(config_file):
        with open(config_file) as f:
            logging.config.dictConfig(yaml.safe_load(f))
        return
    fmt = logging.Formatter(os.environ.get("MLFLOW_EXPORT_IMPORT_LOG_FORMAT", DEFAULT_FORMAT), DATE_FORMAT)
    handlers = [logging.StreamHandler()]
    output_file = os.environ.get("MLFLOW_EXPORT_IMPORT_LOG_OUTPUT_FILE")
    if output_file:
        handlers.append(logging.FileHandler(output_file))
    pkg = logging.getLogger("mlflow_export_import")
    pkg.handlers.clear()
    for h in handlers:
        h.setFormatter(fmt)
        pkg.addHandler(h)
    pkg.setLevel(logging.DEBUG if verbose else logging.INFO)
    pkg.propagate = False
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    if config_file:
        pkg.warning(f"Ignoring MLFLOW_EXPORT_IMPORT_LOG_CONFIG_FILE '{config_file}': it must be an existing .yaml file")
