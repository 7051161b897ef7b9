"""Prompt helpers of the reference API."""
from mlflow_export_import.common.iterators import BaseIterator
from mlflow_export_import.common.logging_utils import get_logger

_logger = get_logger(__name__)


def delete_prompt(client, prompt_name, sleep_time=0.5):
    """Delete the prompt with all its versions (a Unity Catalog prompt must be empty before it is deleted). True if
    it existed. `sleep_time` is accepted for compatibility and ignored: the deletes need no pause."""
    if client.get_prompt(prompt_name) is None:
        _logger.info(f"Prompt '{prompt_name}' not found: nothing to delete")
        return False
    for pv in BaseIterator(client.search_prompt_versions, 1000, name=prompt_name):
        client.delete_prompt_version(prompt_name, str(pv.version))
    client.delete_prompt(prompt_name)
    _logger.info(f"Deleted prompt '{prompt_name}'")
    return True
