"""The default logging configuration as a `logging.config.dictConfig` dict (reference API, behaviours §5.12):
console on stdout, `%(asctime)s - %(levelname)s - %(message)s`, root level DEBUG. The console scripts configure
logging with common/logging_utils.configure_logging; this dict is for notebooks that want the same look."""
config = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "simple": {
            "format": "%(asctime)s - %(levelname)s - %(message)s",
            "datefmt": "%d-%b-%y %H:%M:%S",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "level": "DEBUG",
            "formatter": "simple",
            "stream": "ext://sys.stdout",
        },
    },
    "root": {
        "level": "DEBUG",
        "handlers": ["console"],
    },
}
