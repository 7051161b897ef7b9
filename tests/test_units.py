"""Pure functions: rename rules (behaviours §5.11), the exception rules (python-api §2.4), LogBatch batching,
time parsing, selectors, parent-before-child ordering and the old export shapes."""
import json
import os
import time

import pytest
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

from mlflow_export_import.bulk import bulk_utils, rename_utils
from mlflow_export_import.common import MlflowExportImportException, describe_error, io_utils
from mlflow_export_import.common import timestamp_utils as tu
from mlflow_export_import.common.mlflow_utils import looks_like_experiment_id
from mlflow_export_import.common.utils import string_to_list
from mlflow_export_import.experiment.nested_runs_utils import depth_levels
from mlflow_export_import.run.import_run import read_run
from mlflow_export_import.run.run_data_importer import mk_batches


# ------------------------------------------------------------------------------------------------ renames
@pytest.mark.parametrize("name, expected", [
    ("/User/foo", "/User/bar"),
    ("/User/foo/home", "/User/bar/home"),
    ("foo", "foo"),
    ("", ""),
])
def test_rename_by_prefix(name, expected):
    assert rename_utils.rename(name, {"/User/foo": "/User/bar"}) == expected


def test_rename_empty_key_is_ignored_and_first_match_wins():
    assert rename_utils.rename("abc", {"": "zzz"}) == "abc"
    assert rename_utils.rename("team/a", {"team": "T1", "team/a": "T2"}) == "T1/a"
    assert rename_utils.rename("x", None) == "x"


def test_rename_replaces_every_occurrence_like_the_reference():
    assert rename_utils.rename("ab/ab", {"ab": "cd"}) == "cd/cd"


def test_read_rename_file(tmp_path):
    path = tmp_path / "renames.csv"
    path.write_text("/User/foo,/User/bar\nexp_,new_\n\n")
    assert rename_utils.read_rename_file(str(path)) == {"/User/foo": "/User/bar", "exp_": "new_"}
    assert rename_utils.get_renames(str(path)) == {"/User/foo": "/User/bar", "exp_": "new_"}


def test_rename_file_errors_are_clear(tmp_path):
    with pytest.raises(MlflowExportImportException, match="Cannot read rename file"):
        rename_utils.get_renames(str(tmp_path / "missing.csv"))
    bad = tmp_path / "bad.csv"
    bad.write_text("no comma here\n")
    with pytest.raises(MlflowExportImportException, match="line 1"):
        rename_utils.read_rename_file(str(bad))


def test_get_renames_accepts_none_and_dict_only():
    assert rename_utils.get_renames(None) is None
    assert rename_utils.get_renames({"a": "b"}) == {"a": "b"}
    with pytest.raises(MlflowExportImportException) as ei:
        rename_utils.get_renames(42)
    assert ei.value.http_status_code == 400


# -------------------------------------------------------------------------------------------- exceptions
def test_exception_from_a_string():
    e = MlflowExportImportException("boom")
    assert e.message == "boom" and e.src_exception is None and e.src_message is None
    assert e.http_status_code == MlflowExportImportException.DEFAULT_HTTP_STATUS_CODE == -1
    assert json.loads(str(e)) == {"message": "boom", "http_status_code": -1}


def test_exception_from_an_exception_with_and_without_message():
    src = ValueError("inner")
    e = MlflowExportImportException(src)
    assert e.message == "inner" and e.src_exception is src and e.src_message is None
    e = MlflowExportImportException(src, "outer", http_status_code=400, run_id="r1")
    assert e.message == "outer" and e.src_message == "inner" and e.http_status_code == 400
    assert json.loads(str(e)) == {"message": "outer", "http_status_code": 400, "run_id": "r1",
                                  "src_message": "inner"}
    assert e.kwargs["run_id"] == "r1"


def test_exception_from_an_mlflow_exception_takes_its_code():
    src = MlflowException("gone", error_code=RESOURCE_DOES_NOT_EXIST)
    e = MlflowExportImportException(src, "not there")
    assert e.http_status_code == 404
    assert e.kwargs["mlflow_error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert e.src_message == "gone"


def test_describe_error_is_one_line():
    assert describe_error(MlflowExportImportException("clear")) == "clear"
    assert describe_error(KeyError("x")) == "KeyError: 'x'"
    assert "\n" not in describe_error(ValueError("a\nb\nc"))


# -------------------------------------------------------------------------------------------- batching
def _entities(n_params, n_metrics, n_tags):
    return ([Param(f"p{i}", "v") for i in range(n_params)], [Metric(f"m{i}", 1.0, 0, 0) for i in range(n_metrics)],
            [RunTag(f"t{i}", "v") for i in range(n_tags)])


@pytest.mark.parametrize("counts", [(0, 0, 0), (1, 1, 1), (110, 1010, 110), (100, 1000, 100), (0, 10_000, 0),
                                    (250, 0, 250), (99, 901, 1)])
def test_batches_respect_logbatch_limits_and_keep_everything_in_order(counts):
    params, metrics, tags = _entities(*counts)
    batches = list(mk_batches(params, metrics, tags))
    for p, m, t in batches:
        assert len(p) <= 100 and len(m) <= 1000 and len(t) <= 100 and len(p) + len(m) + len(t) <= 1000
        assert p or m or t
    assert [x for b in batches for x in b[0]] == params
    assert [x for b in batches for x in b[1]] == metrics
    assert [x for b in batches for x in b[2]] == tags


def test_batches_are_few():
    assert len(list(mk_batches(*_entities(110, 1010, 110)))) <= 3
    assert len(list(mk_batches(*_entities(0, 10_000, 0)))) == 10


# ------------------------------------------------------------------------------------------ timestamps
def test_time_parsing_is_utc():
    assert tu.utc_str_to_millis("2024-01-01") == 1704067200000
    assert tu.utc_str_to_millis("2024-01-01 00:02:00") == 1704067320000
    assert tu.utc_str_to_millis("2024-01-01T01:00:00+01:00") == 1704067200000
    assert tu.fmt_ts_millis(1704067320400) == "2024-01-01 00:02:00"
    assert tu.fmt_ts_millis(None) is None


def test_naive_times_are_utc_whatever_the_machine_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert tu.utc_str_to_millis("2024-01-01 00:02:00") == 1704067320000
        assert tu.fmt_ts_millis(1704067320000) == "2024-01-01 00:02:00"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "01/02/2024", ""])
def test_bad_time_is_a_clear_value_error(bad):
    with pytest.raises(ValueError, match="Bad time"):
        tu.utc_str_to_millis(bad)


def test_adjust_timestamps_adds_readable_companions():
    dct = {"start_time": 1704067320000, "end_time": None}
    tu.adjust_timestamps(dct, ["start_time", "end_time"])
    assert dct == {"start_time": 1704067320000, "end_time": None, "_start_time": "2024-01-01 00:02:00"}


# ------------------------------------------------------------------------------------------- selectors
def test_string_to_list():
    assert string_to_list(None) == [] and string_to_list("") == []
    assert string_to_list("a, b,,c") == ["a", "b", "c"]
    assert string_to_list(["x"]) == ["x"]


def test_selector_items_from_comma_list_and_txt_file(tmp_path):
    assert bulk_utils._selector_items("a, b") == ["a", "b"]
    path = tmp_path / "exps.txt"
    path.write_text("exp1\n\n# a comment\n exp2 \n")
    assert bulk_utils._selector_items(str(path)) == ["exp1", "exp2"]
    with pytest.raises(MlflowExportImportException, match="does not exist"):
        bulk_utils._selector_items(str(tmp_path / "nope.txt"))


@pytest.mark.parametrize("value, expected", [("0", True), ("123", True), ("9195e233f19e49379b16c5f2d2b0c05f", True),
                                             ("my-exp", False), ("/Users/x/exp", False), ("12ab", False)])
def test_only_plausible_ids_are_asked_for_by_id(value, expected):
    assert looks_like_experiment_id(value) is expected


# ------------------------------------------------------------------------------------------ nested runs
def test_parents_come_before_children():
    parent_of = {"gc": "c", "c": "p", "p": None, "x": None, "orphan": "not-exported"}
    levels = depth_levels(parent_of)
    assert set(levels[0]) == {"p", "x", "orphan"} and levels[1] == ["c"] and levels[2] == ["gc"]


def test_parent_cycle_does_not_hang():
    levels = depth_levels({"a": "b", "b": "a"})
    assert sorted(x for level in levels for x in level) == ["a", "b"]


# ---------------------------------------------------------------------------------------- export shapes
def _write_run_json(dir, mlflow_attr):
    os.makedirs(dir, exist_ok=True)
    io_utils.write_export_file(dir, "run.json", __file__, mlflow_attr)


def test_read_run_accepts_old_shapes(tmp_path):
    _write_run_json(tmp_path / "old", {"info": {"run_uuid": "abc", "status": "FINISHED"},
                                       "inputs": [{"dataset": {"name": "d"}, "tags": []}]})
    dct = read_run(str(tmp_path / "old"))
    assert dct["info"]["run_id"] == "abc"
    assert dct["inputs"]["dataset_inputs"][0]["dataset"]["name"] == "d"
    assert dct["params"] == {} and dct["metrics"] == {} and dct["tags"] == {}
    _write_run_json(tmp_path / "older", {"info": {"run_id": "abc"}})
    assert read_run(str(tmp_path / "older"))["inputs"] == {"dataset_inputs": [], "model_inputs": []}


def test_read_run_rejects_missing_and_corrupt_files(tmp_path):
    with pytest.raises(MlflowExportImportException, match="Missing export file"):
        read_run(str(tmp_path))
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(MlflowExportImportException, match="Corrupt export file"):
        read_run(str(tmp_path))
    _write_run_json(tmp_path, {"params": {}})
    with pytest.raises(MlflowExportImportException, match="Corrupt export file .*no run info"):
        read_run(str(tmp_path))


def test_export_files_are_written_whole(tmp_path):
    path = tmp_path / "x.json"
    io_utils.write_export_file(str(tmp_path), "x.json", "/a/b/export_run.py", {"k": 1}, {"i": 2})
    dct = json.loads(path.read_text())
    assert list(dct) == ["system", "info", "mlflow"]
    assert dct["system"]["script"] == "export_run.py" and dct["system"]["export_file_version"] == "2"
    io_utils.write_export_file(str(tmp_path), "y.json", "s.py", {"k": 1})
    assert list(json.loads((tmp_path / "y.json").read_text())) == ["system", "mlflow"]
    assert [f for f in os.listdir(tmp_path) if f.startswith(".tmp")] == []


def test_a_version_whose_description_was_cleared_is_not_level():
    """The sync's listing check: a source version whose description was emptied differs from a copy that still
    has one (an empty description must not read as 'no change')."""
    from mlflow.entities.model_registry import ModelVersion, ModelVersionTag
    from mlflow_export_import.engine.registry import version_diff

    def version(description, stage="None", tags=None):
        return ModelVersion("m", "1", 0, current_stage=stage, description=description,
                            tags=[ModelVersionTag(k, v) for k, v in (tags or {}).items()])

    assert version_diff(version("same"), version("same"), True).is_empty()
    assert not version_diff(version(""), version("old text"), True).is_empty()
    assert version_diff(version("", "Production"), version("", "Staging"), True).stage == "Production"
    assert version_diff(version("", "Production"), version("", "Staging"), False).is_empty()  # Unity Catalog
    assert version_diff(version("", tags={"a": "1"}), version("", tags={"b": "2"}), True)[2:] == ({"a": "1"}, ["b"])
