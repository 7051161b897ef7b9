"""--retry-failed REPORT: the JSON report of an earlier run of a command, fed back so that only the objects it
lists as failed are tried again. A report whose whole command failed (unreachable server, interrupted) asks for
everything again."""
import json
import os
from collections import defaultdict

from mlflow_export_import.common import MlflowExportImportException


class RetryList:
    def __init__(self, failures):
        self.everything = any(f.get("type") == "command" for f in failures)
        self._ids = defaultdict(set)
        for f in failures:
            obj_id = str(f.get("id"))
            self._ids[f.get("type")].update({obj_id, os.path.basename(obj_id.rstrip("/"))})

    @classmethod
    def read(cls, path):
        try:
            with open(path, encoding="utf-8") as f:
                report = json.load(f)
        except FileNotFoundError:
            raise MlflowExportImportException(f"Report file '{path}' (--retry-failed) does not exist",
                                              http_status_code=404)
        except (OSError, ValueError) as ex:
            raise MlflowExportImportException(f"Report file '{path}' (--retry-failed) is not JSON: {ex}",
                                              http_status_code=400)
        failures = report.get("failures") if isinstance(report, dict) else None
        if not isinstance(failures, list) or not all(isinstance(f, dict) and "type" in f for f in failures):
            raise MlflowExportImportException(
                f"Report file '{path}' (--retry-failed) is not a report written by --report: no 'failures' list",
                http_status_code=400)
        return cls(failures)

    def wants(self, kind, *obj_ids):
        return self.everything or any(str(i) in self._ids[kind] for i in obj_ids if i is not None)

    def wants_parent(self, kind, child_kind, separator, name):
        """A model or prompt: listed itself, or one of its versions ('<name><separator><version>') is."""
        return self.wants(kind, name) or any(i.rsplit(separator, 1)[0] == name for i in self._ids[child_kind])
