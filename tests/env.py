"""Environment variables a fixture changes for a while and gives back as they were."""
import os
from contextlib import contextmanager


@contextmanager
def kept_environ(keys):
    """On exit, each of `keys` has again the value it had on entry, or is unset if it was."""
    saved = {key: os.environ.get(key) for key in keys}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
