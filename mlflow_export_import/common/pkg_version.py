"""The installed version of this package, as written into every export file's `system.package_version`."""
from importlib.metadata import PackageNotFoundError, version

DISTRIBUTION = "mlflow-export-import"


def get_version():
    """The installed distribution's version, or "" when the package runs from a source tree not installed."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return ""
