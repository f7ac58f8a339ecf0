"""The README's "your own model and your own CSV" example, run as the README writes it.

The test reads the CSV sample, the command, its printed output and the Python lines from the
README's fenced blocks (each follows an ``<!-- own-csv-... -->`` marker), writes ``my.csv`` from the
shared SST-2 validation split, and runs the command in-process from a folder whose ``../shared`` is
the shared files, so the command needs no substitution at all. The printed table must be the
README's, line for line (the timing line aside).
"""

from __future__ import annotations

import csv
import json
import re
import runpy
import shlex

import pytest
from conftest import ROOT, shared_dir

from textrobust.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")
N_ROWS = 30  # "my.csv holds the first 30 SST-2 validation sentences"


def block_after(marker: str) -> str:
    """The fenced code block that follows ``<!-- marker ... -->`` in the README."""
    found = re.search(rf"<!-- {re.escape(marker)}\b.*?-->\s*\n```[^\n]*\n(.*?)\n```", README, re.S)
    assert found, f"README has no code block after <!-- {marker} -->"
    return found.group(1)


def write_my_csv(path) -> None:
    """The first N_ROWS SST-2 validation sentences as ``review,sentiment`` with label names."""
    import datasets

    rows = datasets.load_dataset(str(shared_dir() / "data" / "sst2"), split="validation").select(range(N_ROWS))
    names = rows.features["label"].names
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["review", "sentiment"])
        for row in rows:
            out.writerow([row["sentence"].strip(), names[row["label"]]])


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder ``run/`` holding ``my.csv``, beside a ``shared`` link, as the README assumes."""
    base = tmp_path_factory.mktemp("readme")
    (base / "shared").symlink_to(shared_dir(), target_is_directory=True)
    (base / "run").mkdir()
    write_my_csv(base / "run" / "my.csv")
    return base / "run"


@pytest.fixture(scope="module")
def cli_run(workdir):
    """Run the README's command there; return its exit code and printed lines."""
    import contextlib
    import io
    import os

    words = shlex.split(block_after("own-csv-command").replace("\\\n", " "))
    assert words[:2] == ["textrobust", "eval"]
    before = os.getcwd()
    os.chdir(workdir)
    shown = io.StringIO()
    try:
        with contextlib.redirect_stdout(shown):
            code = main(words[1:])
    finally:
        os.chdir(before)
    return code, words, [line.rstrip() for line in shown.getvalue().splitlines()]


def test_my_csv_starts_as_the_readme_shows(workdir):
    sample = block_after("own-csv-data").splitlines()
    written = (workdir / "my.csv").read_text(encoding="utf-8").splitlines()
    assert sample[-1] == "..." and written[: len(sample) - 1] == sample[:-1]
    assert len(written) == N_ROWS + 1


def test_the_command_prints_the_readme_table(cli_run):
    code, _, shown = cli_run
    assert code == 0
    expected = [line.rstrip() for line in block_after("own-csv-output").splitlines()]
    assert expected[-1].endswith("results in my-report")  # the timing line differs run to run
    assert shown[: len(expected) - 1] == expected[:-1]
    assert re.fullmatch(r"\d+ model calls in [\d.]+ s; results in my-report", shown[len(expected) - 1])
    assert any("┃ perturbation" in line for line in shown)


def test_report_json_has_the_run_the_readme_describes(cli_run, workdir):
    _, words, shown = cli_run
    specs = [words[i + 1] for i, w in enumerate(words) if w == "--perturb"]
    steps = int(words[words.index("--max-steps") + 1])
    report = json.loads((workdir / "my-report" / "report.json").read_text())
    assert report["n_examples"] == N_ROWS and report["max_steps"] == steps
    assert [p["spec"] for p in report["perturbations"]] == specs == ["delete:p=0.1", "typo:p=0.05"]
    for p in report["perturbations"]:
        assert p["n"] == N_ROWS and p["rpr"]["n"] == N_ROWS and len(p["rpr"]["survival"]) == steps
    # the printed robust ratios are report.json's, rounded
    for p in report["perturbations"]:
        row = next(line for line in shown if line.startswith(f"│ {p['spec']} "))
        assert f"{p['rpr']['robust_ratio']:.4f} [{p['rpr']['robust_ratio_ci95'][0]:.4f}" in row
    assert "model calls" in shown[-1] and str(report["model_calls"]) in shown[-1]


def test_the_python_lines_agree_with_the_command(cli_run, workdir, capsys):
    """The README's six lines of Python, run as written there, give the command's numbers."""
    import os

    script = workdir / "readme_example.py"
    script.write_text(block_after("own-csv-python") + "\n")
    before = os.getcwd()
    os.chdir(workdir)
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        os.chdir(before)
    printed = capsys.readouterr().out.splitlines()
    report = json.loads((workdir / "my-report" / "report.json").read_text())
    accuracy, low, high = (float(x) for x in re.findall(r"[\d.]+", printed[0]))
    assert (accuracy, [low, high]) == (report["clean_accuracy"], report["clean_accuracy_ci95"])
    robust = report["perturbations"][0]["rpr"]["robust_ratio"]
    assert printed[1] == f"robust under deletion: {round(robust * N_ROWS)}/{N_ROWS} = {robust:.4f}"
