"""Streaming results: resume, torn lines, refusing to overwrite, settings checks."""

import json

import pytest

from textrobust.core.store import ResultStore
from textrobust.errors import UserError

SETTINGS = {"model": "m", "seed": 0, "perturbations": ["delete:p=0.1"]}


def rec(i):
    return {"index": i, "label": i % 2, "first_flip": {"delete:p=0.1": i}}


def test_append_streams_lines_and_finish_sorts(tmp_path):
    store = ResultStore(tmp_path, SETTINGS)
    store.append([rec(3), rec(1)])
    # visible on disk before the run ends
    assert len((tmp_path / "examples.jsonl").read_text().splitlines()) == 2
    store.append([rec(2)])
    store.finish()
    lines = [json.loads(l) for l in (tmp_path / "examples.jsonl").read_text().splitlines()]
    assert [l["index"] for l in lines] == [1, 2, 3]
    assert json.loads((tmp_path / "run.json").read_text()) == SETTINGS


def test_resume_drops_a_torn_last_line_and_keeps_the_rest(tmp_path):
    store = ResultStore(tmp_path, SETTINGS)
    store.append([rec(0), rec(1)])
    store.close()
    with open(tmp_path / "examples.jsonl", "a") as f:
        f.write('{"index": 2, "lab')  # killed mid-write
    again = ResultStore(tmp_path, SETTINGS, resume=True)
    assert sorted(again.done) == [0, 1]
    again.append([rec(2)])
    again.finish()
    lines = (tmp_path / "examples.jsonl").read_text().splitlines()
    assert [json.loads(l)["index"] for l in lines] == [0, 1, 2]


def test_existing_results_are_never_silently_replaced(tmp_path):
    store = ResultStore(tmp_path, SETTINGS)
    store.append([rec(0)])
    store.close()
    with pytest.raises(UserError, match="--resume"):
        ResultStore(tmp_path, SETTINGS)
    ResultStore(tmp_path, SETTINGS, overwrite=True).close()
    assert (tmp_path / "examples.jsonl").read_text() == ""


def test_resume_with_other_settings_is_refused(tmp_path):
    ResultStore(tmp_path, SETTINGS).close()
    with pytest.raises(UserError, match="seed: 0 -> 1"):
        ResultStore(tmp_path, {**SETTINGS, "seed": 1}, resume=True)


def test_a_corrupt_middle_line_is_an_error(tmp_path):
    (tmp_path / "run.json").write_text(json.dumps(SETTINGS))
    (tmp_path / "examples.jsonl").write_text('{"index": 0}\nnot json\n{"index": 1}\n')
    with pytest.raises(UserError, match="line 2"):
        ResultStore(tmp_path, SETTINGS, resume=True)


def test_output_path_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        ResultStore(f, SETTINGS)
