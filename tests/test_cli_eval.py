"""`textrobust eval` end to end on a tiny model: outputs, determinism, resume, bad input."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, make_tiny_classifier

from textrobust.cli import main

PERTURB = ["--perturb", "delete:p=0.3", "--perturb", "typo:p=0.3", "--perturb", "swap:p=0.3"]


def run_eval(model, data, out, *extra):
    return main(
        ["eval", "--model", str(model), "--dataset", str(data), "--output", str(out), "--no-progress", *PERTURB, *extra]
    )


def test_eval_writes_every_output(tiny_model, tiny_dataset, tmp_path, capsys):
    assert run_eval(tiny_model, tiny_dataset, tmp_path, "--max-steps", "20") == 0
    shown = capsys.readouterr().out
    assert "clean accuracy" in shown and "delete:p=0.3" in shown
    for name in ["report.json", "report.md", "examples.jsonl", "survival.png", "per_class.png", "run.json"]:
        assert (tmp_path / name).stat().st_size > 0, name
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["n_examples"] == 120 and [p["spec"] for p in report["perturbations"]] == [
        "delete:p=0.3",
        "typo:p=0.3",
        "swap:p=0.3",
    ]
    p = report["perturbations"][0]
    assert len(p["rpr"]["survival"]) == 20 and p["rpr"]["survival"][-1] == p["rpr"]["robust_ratio"]
    assert p["delta"] == pytest.approx(report["clean_accuracy"] - p["accuracy"])
    lines = [json.loads(l) for l in (tmp_path / "examples.jsonl").read_text().splitlines()]
    assert [l["index"] for l in lines] == list(range(120))
    for line in lines:
        for spec, ff in line["first_flip"].items():
            assert ff is None or 0 <= ff <= 20
            assert (line["flipped_text"][spec] is not None) == bool(ff)
    assert any(l["first_flip"]["delete:p=0.3"] for l in lines)  # the tiny model does flip
    # report.json agrees with the per-example lines
    robust = sum(l["first_flip"]["delete:p=0.3"] is None for l in lines) / 120
    assert p["rpr"]["robust_ratio"] == pytest.approx(robust)


def test_first_flips_do_not_depend_on_batch_size(tiny_model, tiny_dataset, tmp_path):
    files = []
    for bs in ["1", "7", "256"]:
        out = tmp_path / bs
        assert run_eval(tiny_model, tiny_dataset, out, "--max-steps", "10", "--batch-size", bs, "--limit", "40") == 0
        files.append((out / "examples.jsonl").read_bytes())
    assert files[0] == files[1] == files[2]


def test_empty_and_whitespace_texts_are_evaluated(tiny_model, tmp_path):
    data = tmp_path / "empty.jsonl"
    data.write_text(
        "".join(
            json.dumps({"text": t, "label": i % 2}) + "\n" for i, t in enumerate(["", "   ", "good", " bad  movie "])
        )
    )
    assert run_eval(tiny_model, data, tmp_path / "out", "--max-steps", "5") == 0
    lines = [json.loads(l) for l in (tmp_path / "out/examples.jsonl").read_text().splitlines()]
    assert len(lines) == 4 and all(l["clean_prediction"] in (0, 1) for l in lines)


@pytest.fixture(scope="module")
def three_label_model(tmp_path_factory):
    return make_tiny_classifier(tmp_path_factory.mktemp("tiny3"), num_labels=3)


def test_label_count_mismatch_and_empty_dataset(three_label_model, tiny_model, shared, tmp_path, capsys):
    assert (
        main(
            [
                "eval",
                "--model",
                str(three_label_model),
                "--dataset",
                str(shared / "data/sst2"),
                "--limit",
                "3",
                "--no-progress",
            ]
        )
        == 2
    )
    assert "model has 3 labels" in capsys.readouterr().err
    (tmp_path / "e.csv").write_text("text,label\n")
    assert main(["eval", "--model", str(tiny_model), "--dataset", str(tmp_path / "e.csv"), "--no-progress"]) == 2
    assert "empty" in capsys.readouterr().err


def test_existing_output_needs_resume_or_overwrite(tiny_model, tiny_dataset, tmp_path, capsys):
    assert run_eval(tiny_model, tiny_dataset, tmp_path, "--max-steps", "2", "--limit", "5") == 0
    assert run_eval(tiny_model, tiny_dataset, tmp_path, "--max-steps", "2", "--limit", "5") == 2
    assert "--resume" in capsys.readouterr().err
    assert run_eval(tiny_model, tiny_dataset, tmp_path, "--max-steps", "3", "--limit", "5", "--resume") == 2
    assert "max_steps: 2 -> 3" in capsys.readouterr().err
    assert run_eval(tiny_model, tiny_dataset, tmp_path, "--max-steps", "2", "--limit", "5", "--resume") == 0


def test_sigkill_midway_then_resume_equals_an_uninterrupted_run(tiny_model, tmp_path):
    data = tmp_path / "many.jsonl"
    words = "good bad movie film plot fun dull best worst story actor love hate".split()
    data.write_text(
        "".join(
            json.dumps({"text": " ".join(words[(i + j) % 13] for j in range(3 + i % 9)), "label": i % 2}) + "\n"
            for i in range(300)
        )
    )
    args = [
        "--model",
        str(tiny_model),
        "--dataset",
        str(data),
        "--max-steps",
        "100",
        "--batch-size",
        "16",
        "--no-progress",
        "--perturb",
        "delete:p=0.05",
        "--perturb",
        "typo:p=0.05",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "textrobust", "eval", *args, "--output", str(killed)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    examples = killed / "examples.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if examples.exists() and len(examples.read_bytes().splitlines()) >= 30:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = len(examples.read_bytes().splitlines())
    assert 30 <= partial < 300
    assert main(["eval", *args, "--output", str(killed), "--resume"]) == 0
    assert main(["eval", *args, "--output", str(tmp_path / "whole")]) == 0
    resumed = examples.read_bytes()
    assert resumed == (tmp_path / "whole/examples.jsonl").read_bytes()
    assert len(resumed.splitlines()) == 300
    report = json.loads((killed / "report.json").read_text())
    assert report["resumed_examples"] >= partial - 1 and report["n_examples"] == 300
    whole = json.loads((tmp_path / "whole/report.json").read_text())
    for a, b in zip(report["perturbations"], whole["perturbations"]):
        assert a == b


def test_console_script_error_has_no_traceback(tmp_path, tiny_dataset):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "textrobust",
            "eval",
            "--model",
            str(tmp_path / "nope"),
            "--dataset",
            str(tiny_dataset),
            "--perturb",
            "delete",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: model path not found: {str(tmp_path / 'nope')!r}"]


def test_run_json_records_the_synonym_source_so_resume_and_compare_refuse_another(
    tiny_model, tiny_dataset, tmp_path, capsys
):
    """Synonym draws depend on the synonym table: run.json records its content hash (not its
    path), so --resume with another table and compare of runs built from different tables are
    refused with one line (exit 2), while the same content elsewhere is accepted."""
    one, same, other = tmp_path / "one.json", tmp_path / "copy" / "same.json", tmp_path / "other.json"
    table = {"good": ["fine", "nice"], "bad": ["poor", "awful"], "movie": ["film"]}
    one.write_text(json.dumps(table))
    same.parent.mkdir()
    same.write_text(json.dumps(table))
    other.write_text(json.dumps({**table, "good": ["great"]}))
    common = [
        "--max-steps",
        "3",
        "--limit",
        "6",
        "--perturb",
        "synonym:p=0.5,constrained=0",
        "--perturb",
        "delete:p=0.1",
    ]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run_eval(tiny_model, tiny_dataset, a, *common, "--synonyms", str(one)) == 0
    resources = json.loads((a / "run.json").read_text())["resources"]
    assert list(resources) == ["synonym:p=0.5,constrained=0"]  # delete depends on nothing
    assert resources["synonym:p=0.5,constrained=0"]["synonyms"].startswith("sha256:")
    assert str(one) not in (a / "run.json").read_text()
    capsys.readouterr()
    assert run_eval(tiny_model, tiny_dataset, a, *common, "--synonyms", str(other), "--resume") == 2
    assert "resources" in capsys.readouterr().err
    assert run_eval(tiny_model, tiny_dataset, a, *common, "--synonyms", str(same), "--resume") == 0
    assert run_eval(tiny_model, tiny_dataset, b, *common, "--synonyms", str(same)) == 0
    assert run_eval(tiny_model, tiny_dataset, c, *common, "--synonyms", str(other)) == 0
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--output", str(tmp_path / "ab")]) == 0
    assert main(["compare", str(a), str(c), "--output", str(tmp_path / "ac")]) == 2
    err = capsys.readouterr().err
    assert "resources" in err and len(err.strip().splitlines()) == 1


def test_run_json_records_the_sense_table_so_resume_refuses_another(
    tiny_model, tiny_dataset, tmp_path, capsys, monkeypatch
):
    """Constrained synonyms depend on the sense table (``$TEXTROBUST_SENSES``, read when a run
    starts, not when the process first loaded one): run.json records its content hash, so
    --resume with another table is refused with one line, and the same content elsewhere (here
    the bundled table decompressed) is accepted."""
    from textrobust.text.senses import BUNDLED

    table = json.loads(gzip.decompress(BUNDLED.read_bytes()))
    same, other = tmp_path / "same.json", tmp_path / "other.json"
    same.write_bytes(gzip.decompress(BUNDLED.read_bytes()))
    table["senses"]["good"] = {"a": [[1, ["nice"]]]}
    other.write_text(json.dumps(table))
    (syn := tmp_path / "syn.json").write_text(json.dumps({"good": ["fine", "nice"], "movie": ["film"]}))
    spec = "synonym:p=0.5,constrained=1,pos=0,senses=1,sim=0,rare=1,multiword=1"
    args = ["--max-steps", "3", "--limit", "6", "--perturb", spec, "--synonyms", str(syn)]
    out = tmp_path / "out"
    monkeypatch.delenv("TEXTROBUST_SENSES", raising=False)
    assert run_eval(tiny_model, tiny_dataset, out, *args) == 0
    built = json.loads((out / "run.json").read_text())["resources"]
    (canonical,) = built
    assert set(built[canonical]) == {"synonyms", "senses"} and built[canonical]["senses"].startswith("sha256:")
    capsys.readouterr()
    monkeypatch.setenv("TEXTROBUST_SENSES", str(other))
    assert run_eval(tiny_model, tiny_dataset, out, *args, "--resume") == 2
    err = capsys.readouterr().err
    assert "resources" in err and len(err.strip().splitlines()) == 1
    monkeypatch.setenv("TEXTROBUST_SENSES", str(same))
    assert run_eval(tiny_model, tiny_dataset, out, *args, "--resume") == 0


def test_run_json_fingerprints_the_examples_so_an_edited_dataset_is_not_resumed_or_compared(
    tiny_model, tiny_dataset, tmp_path, capsys
):
    """run.json records a fingerprint of the examples (ids, texts, labels, label names): the same
    rows read from a copy elsewhere compare; --resume over an edited file, and compare with a run
    of it, are refused with one line naming the fingerprint."""
    one, copy = tmp_path / "one" / "reviews.csv", tmp_path / "copy" / "reviews.csv"
    for path in (one, copy):
        path.parent.mkdir()
        path.write_bytes(tiny_dataset.read_bytes())
    common = ["--max-steps", "3", "--limit", "8", "--perturb", "delete:p=0.2"]
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert run_eval(tiny_model, one, a, *common) == 0
    assert run_eval(tiny_model, copy, b, *common) == 0
    fingerprint = json.loads((a / "run.json").read_text())["data_fingerprint"]
    assert (
        fingerprint.startswith("sha256:")
        and json.loads((b / "run.json").read_text())["data_fingerprint"] == fingerprint
    )
    assert main(["compare", str(a), str(b), "--output", str(tmp_path / "ab")]) == 0  # same rows, another path
    lines = copy.read_text().splitlines()
    header, first = lines[0], lines[1]
    text, label = first.rsplit(",", 1)
    copy.write_text("\n".join([header, f"{text} extra,{label}", *lines[2:]]) + "\n")  # one text edited
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**10))  # a new modification time for any cache
    capsys.readouterr()
    assert run_eval(tiny_model, copy, b, *common, "--resume") == 2
    err = capsys.readouterr().err
    assert "data_fingerprint" in err and len(err.strip().splitlines()) == 1
    # the report's word diffs need the original texts: the edited file is not taken for them
    assert "could not be read again" not in (b / "report.html").read_text()
    assert main(["report", str(b)]) == 0
    assert "not the one the run evaluated" in capsys.readouterr().err
    assert "could not be read again" in (b / "report.html").read_text()
    assert run_eval(tiny_model, copy, c, *common) == 0
    assert json.loads((c / "run.json").read_text())["data_fingerprint"] != fingerprint
    capsys.readouterr()
    assert main(["compare", str(a), str(c), "--output", str(tmp_path / "ac")]) == 2
    err = capsys.readouterr().err
    assert "data_fingerprint" in err and len(err.strip().splitlines()) == 1
    # a run made before fingerprints were recorded compares by the dataset's name, as it did
    old = tmp_path / "old"
    shutil.copytree(a, old)
    settings = json.loads((old / "run.json").read_text())
    del settings["data_fingerprint"]
    (old / "run.json").write_text(json.dumps(settings))
    assert main(["compare", str(old), str(a), "--output", str(tmp_path / "old-a")]) == 0
    assert main(["compare", str(old), str(b), "--output", str(tmp_path / "old-b")]) == 2  # another path
