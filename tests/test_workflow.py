"""compare / check / card / report.html on real runs of the shared SST-2 model and a weakened copy.

The model runs three times per session: `eval --model BASE --model WEAK` (one command, shared
draws, compared into its output directory) and a second run of BASE with another batch size.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, shared_dir

from textrobust.cli import main

SPECS = ["--perturb", "delete:p=0.1", "--perturb", "typo:p=0.05"]
LIMIT, STEPS = "32", "10"

pytestmark = pytest.mark.usefixtures("torch_single_thread")


@pytest.fixture(scope="session")
def sst2(shared):
    return shared / "data" / "sst2"


@pytest.fixture(scope="session")
def weak_model(shared, tmp_path_factory):
    """The shared SST-2 model with Gaussian noise (sd = its own sd, seed 0) added to every encoder weight matrix."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = shared / "models" / "minilm-l6-sst2"
    model = AutoModelForSequenceClassification.from_pretrained(source).eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.bert.encoder.parameters():
            if p.dim() == 2:
                p.add_(torch.randn(p.shape, generator=generator) * p.std())
    out = tmp_path_factory.mktemp("weak") / "minilm-weak"
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(source).save_pretrained(out)
    return out


def _eval(out, *models, batch_size=None):
    """`textrobust eval` of ``models`` on the first LIMIT SST-2 sentences (STEPS draws, SPECS) into ``out``."""
    import torch

    torch.set_num_threads(1)
    sst2 = shared_dir() / "data" / "sst2"
    args = [x for model in models for x in ("--model", str(model))] + SPECS
    args += f"--dataset {sst2} --limit {LIMIT} --max-steps {STEPS} --output {out} --no-progress".split()
    if batch_size:
        args += ["--batch-size", str(batch_size)]
    assert main(["eval", *args]) == 0
    return out


@pytest.fixture(scope="session")
def two_models(shared, weak_model, tmp_path_factory):
    """OUTPUT of `eval --model BASE --model WEAK`."""
    return _eval(tmp_path_factory.mktemp("two-models"), shared / "models" / "minilm-l6-sst2", weak_model)


@pytest.fixture(scope="session")
def rerun(shared, tmp_path_factory):
    """A second run of the base model (another batch size): the same results."""
    return _eval(tmp_path_factory.mktemp("rerun"), shared / "models" / "minilm-l6-sst2", batch_size=7)


def _base(two_models):
    return two_models / "minilm-l6-sst2"


def _weak(two_models):
    return two_models / "minilm-weak"


# ------------------------------------------------------------------ compare


def test_eval_two_models_detects_the_regression(two_models):
    c = json.loads((two_models / "compare.json").read_text())
    assert (two_models / "compare.md").stat().st_size > 0 and (two_models / "compare.png").stat().st_size > 0
    n = int(LIMIT)
    assert c["n_examples"] == n and c["direction"] == "B - A"
    assert c["clean_accuracy_difference"]["ci95"][1] < 0  # B (weakened) is less accurate, interval excludes 0
    base = json.loads((_base(two_models) / "report.json").read_text())
    weak = json.loads((_weak(two_models) / "report.json").read_text())
    for i, p in enumerate(c["perturbations"]):
        assert p["robust_ratio_a"]["value"] == base["perturbations"][i]["rpr"]["robust_ratio"]
        assert p["robust_ratio_b"]["value"] == weak["perturbations"][i]["rpr"]["robust_ratio"]
        t = p["transitions"]
        assert sum(t.values()) == n
        assert p["robust_ratio_difference"]["value"] == pytest.approx(
            (t["robust_in_b_only"] - t["robust_in_a_only"]) / n
        )
        assert len(p["became_fragile"]) == t["robust_in_a_only"]
    delete = c["perturbations"][0]
    assert delete["spec"] == "delete:p=0.1"
    assert delete["robust_ratio_difference"]["ci95"][1] < 0  # the robustness regression, interval excludes 0
    flipped = [e for p in c["perturbations"] for e in p["became_fragile"] if e["first_flip_b"] > 0]
    assert flipped, "some example robust under A is flipped by a draw under B"
    for e in flipped:
        assert e["original"] and e["flipped"] and e["diff"]
        assert ("~~" in e["diff"] or "**" in e["diff"]) == (e["original"].split() != e["flipped"].split())
    md = (two_models / "compare.md").read_text()
    assert "B is LOWER than A" in md and "Became fragile under delete:p=0.1" in md


def test_identical_runs_compare_to_exactly_zero(two_models, rerun, tmp_path, capsys):
    assert (rerun / "examples.jsonl").read_bytes() == (_base(two_models) / "examples.jsonl").read_bytes()
    assert main(["compare", str(_base(two_models)), str(rerun), "--output", str(tmp_path)]) == 0
    assert "B - A" in capsys.readouterr().out
    c = json.loads((tmp_path / "compare.json").read_text())
    assert c["clean_accuracy_difference"]["value"] == 0.0
    for p in c["perturbations"]:
        assert p["accuracy_difference"]["value"] == 0.0 and p["robust_ratio_difference"]["value"] == 0.0
        t = p["transitions"]
        assert t["robust_in_a_only"] == 0 and t["robust_in_b_only"] == 0
        assert t["robust_in_both"] + t["robust_in_neither"] == int(LIMIT)
        ff = p["mean_first_flip_difference"]
        assert ff["n"] == 0 or ff["value"] == 0.0
        assert p["became_fragile"] == []


def test_compare_refuses_runs_with_other_draws(two_models, tmp_path, capsys):
    other = tmp_path / "other"
    shutil.copytree(_base(two_models), other)
    settings = json.loads((other / "run.json").read_text())
    settings["seed"], settings["max_steps"] = 1, 99
    (other / "run.json").write_text(json.dumps(settings))
    assert main(["compare", str(_base(two_models)), str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "seed (0 vs 1)" in err and "max_steps (10 vs 99)" in err
    assert main(["compare", str(_base(two_models)), str(tmp_path / "missing")]) == 2
    assert "run directory not found" in capsys.readouterr().err


def test_workflow_commands_refuse_runs_they_do_not_read(shared, tmp_path, capsys):
    """A finished `vision certify` run (L2 radii, no perturbations) is refused by compare, check,
    card and report with one line and exit 2, not read as an eval run."""
    run = tmp_path / "vision-certify"
    model, mnist = ROOT / "vision" / "results" / "mnist" / "models" / "M", shared / "data" / "mnist" / "idx"
    args = f"vision certify --model {model} --dataset {mnist} --limit 2 --n0 10 --n 20 --output {run} --no-progress"
    assert main(args.split()) == 0 and (run / "report.json").is_file()
    capsys.readouterr()
    for argv in (
        ["report", run],
        ["card", run, "--card", tmp_path / "README.md"],
        ["check", run, "--require", "clean_accuracy >= 0.1"],
        ["compare", run, run],
    ):
        assert main([str(a) for a in argv]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "is a vision-certify run" in err, err
    assert not (tmp_path / "README.md").exists()


# ------------------------------------------------------------------ check


def _junit(path):
    root = ET.parse(path).getroot()
    cases = root.findall(".//testcase")
    return cases, {c.get("name"): c.find("failure") for c in cases}


def test_check_gates_on_intervals(two_models, tmp_path, capsys):
    run = _base(two_models)
    report = json.loads((run / "report.json").read_text())
    lo, hi = report["perturbations"][0]["rpr"]["robust_ratio_ci95"]
    mid = round((lo + hi) / 2, 6)  # inside the interval: strict fails, lenient passes
    clean_lo = report["clean_accuracy_ci95"][0]
    ok = f"clean_accuracy >= {clean_lo - 0.01:.4f}"
    straddle = f"delete:p=0.1 robust_ratio >= {mid}"
    below = f"delete:p=0.1 robust_ratio >= {min(1.0, hi + 0.01):.4f}"  # the whole interval is below it
    junit = tmp_path / "gates.xml"
    assert main(["check", str(run), "--require", ok, "--junit", str(junit)]) == 0
    assert main(["check", str(run), "--require", ok, "--require", straddle, "--junit", str(junit)]) == 1
    shown = capsys.readouterr().out
    assert "strict: passes only if the whole 95% interval is >= " in shown
    cases, failures = _junit(junit)
    assert len(cases) == 2 and failures[ok] is None and failures[straddle] is not None
    assert "straddles" in failures[straddle].get("message")
    assert main(["check", str(run), "--require", straddle, "--lenient"]) == 0
    assert "lenient: fails only if the whole 95% interval is < " in capsys.readouterr().out
    assert main(["check", str(run), "--require", below, "--lenient", "--junit", str(junit)]) == 1
    cases, failures = _junit(junit)
    assert "the whole interval is <" in failures[below].get("message")
    # delta: clean - perturbed accuracy, an upper bound on the drop
    d_hi = report["perturbations"][1]["delta_ci95"][1]
    assert main(["check", str(run), "--require", f"typo:p=0.05 delta <= {d_hi + 0.001:.4f}"]) == 0


@pytest.mark.parametrize(
    "gate, message",
    [
        ("delete:p=0.1 robustness >= 0.5", "unknown metric 'robustness'"),
        ("swap:p=0.1 robust_ratio >= 0.5", "perturbation swap:p=0.1 was not evaluated"),
        ("robust_ratio >= 0.5", "is per perturbation"),
        ("delete:p=0.1 clean_accuracy >= 0.5", "is not per perturbation"),
        ("delete:p=0.1 robust_ratio_change >= -0.1", "need --baseline"),
        ("clean_accuracy about 0.5", "cannot read gate"),
        ("clean_accuracy >= abc", "threshold 'abc' is not a finite number"),
        ("clean_accuracy >= nan", "threshold 'nan' is not a finite number"),
        ("delete:p=0.1 robust_ratio <= inf", "threshold 'inf' is not a finite number"),
    ],
)
def test_check_bad_gates_exit_2(two_models, gate, message, capsys):
    assert main(["check", str(_base(two_models)), "--require", gate]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err


def test_check_max_regression_against_a_baseline(two_models, rerun, tmp_path, capsys):
    junit = tmp_path / "regression.xml"
    args = [
        "check",
        str(_weak(two_models)),
        "--baseline",
        str(_base(two_models)),
        "--max-regression",
        "0.05",
        "--junit",
        str(junit),
    ]
    assert main(args) == 1
    cases, failures = _junit(junit)
    assert len(cases) == 5  # clean accuracy + (accuracy, robust ratio) per perturbation
    assert failures["clean_accuracy_change >= -0.05"] is not None
    assert failures["delete:p=0.1 robust_ratio_change >= -0.05"] is not None
    # identical runs: a difference of exactly 0 whose interval lies above -0.5
    assert main(["check", str(rerun), "--baseline", str(_base(two_models)), "--max-regression", "0.5"]) == 0
    assert main(["check", str(rerun), "--max-regression", "0.5"]) == 2
    assert "needs --baseline" in capsys.readouterr().err


def test_the_github_actions_example_gates_as_documented(two_models, tmp_path):
    """docs/workflow.md's GitHub Actions job is valid YAML, and its `check` step, run on the base
    (runs/prod) and weakened (runs/candidate) models, reads every gate and fails the job."""
    import shlex

    import yaml

    page = (ROOT / "docs" / "workflow.md").read_text(encoding="utf-8")
    job = yaml.safe_load(page.split("### GitHub Actions example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0])
    steps = job["jobs"]["robustness"]["steps"]
    (check,) = [s["run"] for s in steps if "run" in s and s["run"].startswith("textrobust check")]
    paths = {"runs/candidate": _weak(two_models), "runs/prod": _base(two_models), "runs/gates.xml": tmp_path / "g.xml"}
    argv = [str(paths.get(a, a)) for a in shlex.split(check)[1:]]
    assert main(argv) == 1  # the weakened model fails the gates
    cases, failures = _junit(tmp_path / "g.xml")
    assert len(cases) == 3 + 5 and failures["clean_accuracy >= 0.85"] is not None
    assert any(s.get("with", {}).get("report_paths") == "runs/gates.xml" for s in steps)


# ------------------------------------------------------------------ card


def test_card_writes_model_index_results(two_models, tmp_path, capsys, monkeypatch):
    from huggingface_hub import ModelCard

    card = tmp_path / "README.md"
    card.write_text("# My model\n\nIt classifies sentiment.\n")
    run = _base(two_models)
    assert main(["card", str(run), "--card", str(card), "--model-id", "me/minilm"]) == 0
    first = card.read_text()
    assert main(["card", str(run), "--card", str(card)]) == 0
    assert card.read_text() == first  # idempotent
    loaded = ModelCard.load(card)
    assert loaded.data.model_name == "me/minilm"
    assert "It classifies sentiment." in loaded.text and loaded.text.count("textrobust:robustness:start") == 1
    report = json.loads((run / "report.json").read_text())
    results = loaded.data.eval_results
    assert len(results) == 1 + 3 * len(report["perturbations"])
    robust = {r.metric_config: r for r in results if r.metric_type == "robust_ratio"}
    for p in report["perturbations"]:
        r = robust[p["spec"]]
        assert r.metric_value == p["rpr"]["robust_ratio"]
        assert r.metric_args["ci95"] == p["rpr"]["robust_ratio_ci95"] and r.metric_args["n"] == p["n"]
        assert f"{p['rpr']['robust_ratio_ci95'][0]:.4f}" in r.metric_name
        assert r.dataset_split == "validation" and r.task_type == "text-classification"
    clean = [r for r in results if r.metric_type == "accuracy"]
    assert clean[0].metric_value == report["clean_accuracy"]
    # another run's results replace ours for the same dataset and split
    assert main(["card", str(_weak(two_models)), "--card", str(card)]) == 0
    values = {
        r.metric_config: r.metric_value
        for r in ModelCard.load(card).data.eval_results
        if r.metric_type == "robust_ratio"
    }
    weak = json.loads((_weak(two_models) / "report.json").read_text())
    assert values == {p["spec"]: p["rpr"]["robust_ratio"] for p in weak["perturbations"]}
    capsys.readouterr()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["card", str(run), "--card", str(card), "--push", "me/minilm"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "offline" in err


# ------------------------------------------------------------------ report.html


def _html_checks(path):
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert 'src="http' not in text and "<link" not in text  # self-contained: nothing to fetch
    return text


def test_report_html_of_an_eval_run(two_models):
    run = _weak(two_models)
    text = _html_checks(run / "report.html")  # written by eval itself
    records = [json.loads(line) for line in (run / "examples.jsonl").read_text().splitlines()]
    assert text.count("<tr>") >= len(records) + 1 and 'id="examples"' in text
    names = json.loads((run / "report.json").read_text())["label_names"]
    first = records[0]  # labels and predictions by the names the report gives them
    row = f"<tr><td>{first['index']}</td><td>{names[first['label']]}</td><td>{names[first['clean_prediction']]}</td>"
    assert names == ["negative", "positive"] and row in text
    assert text.count('src="data:image/png;base64,') == 2  # survival and per-class figures
    flipped = sum(
        min(25, sum(1 for r in records if (r["first_flip"][s] or 0) > 0)) for s in ("delete:p=0.1", "typo:p=0.05")
    )
    assert text.count("<del>") + text.count("<ins>") >= 1 and flipped > 0
    # the validity evidence of report.json, with its first flips as word diffs
    validity = json.loads((run / "report.json").read_text())["validity"]["perturbations"]
    assert "<h2>Validity evidence</h2>" in text
    for spec, v in validity.items():
        assert f"<td>{spec}</td>" in text and f"(n={v['n_draws']})" in text
        sim = v["similarity_changed"]
        assert sim and f"median {sim['q50']:.3f}" in text  # the distribution, not only its mean
        if v["first_flips"]:
            assert f"first flips as word diffs ({len(v['first_flips'])}, most fragile first)" in text
    assert main(["report", str(run)]) == 0
    assert (run / "report.html").read_text() == text  # rebuilt from the directory alone: the same page


@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="headless Chromium not installed (apt-get install chromium)"
)
def test_report_html_renders_in_headless_chromium(two_models, tmp_path):
    from PIL import Image

    page = (_weak(two_models) / "report.html").resolve()
    flags = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, "--window-size=1200,1600", f"--screenshot={shot}", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("L")
    assert image.size == (1200, 1600)
    histogram = image.histogram()
    dark = sum(histogram[:128]) / sum(histogram)
    assert 0.01 < dark < 0.9, f"screenshot looks blank ({dark:.4f} dark pixels)"
    dom = subprocess.run(
        [*flags, "--dump-dom", page.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert '<table class="sortable" id="examples">' in dom and "Survival curves" in dom
    assert dom.count("<tr>") >= int(LIMIT) + 1
    # the per-example table sorts in the browser: click "first flip: delete:p=0.1" twice (ascending, then descending)
    clicked = tmp_path / "clicked.html"
    click = "<script>var th=document.querySelectorAll('#examples th')[3];th.click();th.click();</script></body>"
    clicked.write_text(page.read_text().replace("</body>", click))
    dom = subprocess.run(
        [*flags, "--dump-dom", clicked.as_uri()], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    table = dom[dom.index('id="examples"') :]
    rows = re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>") :], flags=re.S)
    shown = [re.findall(r"<td[^>]*>(.*?)</td>", row)[3] for row in rows]
    records = [json.loads(line) for line in (_weak(two_models) / "examples.jsonl").read_text().splitlines()]
    flips = [r["first_flip"]["delete:p=0.1"] for r in records]
    expected = sorted(flips, key=lambda f: int(STEPS) + 1 if f is None else f, reverse=True)
    assert shown == ["robust" if f is None else str(f) for f in expected]
    assert shown != ["robust" if f is None else str(f) for f in flips]  # the click reordered the rows


@pytest.fixture(scope="session")
def certify_run(tiny_model, tiny_dataset, tmp_path_factory):
    """OUTPUT of a small `certify` run of the tiny model."""
    out = tmp_path_factory.mktemp("certify") / "certify"
    args = (
        f"certify --model {tiny_model} --dataset {tiny_dataset} --limit 6 --n0 40 --n 120 --output {out} --no-progress"
    )
    assert main(args.split()) == 0
    return out


def test_check_and_card_of_a_certify_run(certify_run, tmp_path, capsys):
    from huggingface_hub import ModelCard

    report = json.loads((certify_run / "report.json").read_text())
    lo, hi = report["certified_accuracy_ci95"]["1"]
    passing = [f"certified_accuracy@1 >= {lo - 0.01:.4f}", "abstain_rate <= 1", "clean_accuracy >= 0"]
    assert main(["check", str(certify_run), *[x for g in passing for x in ("--require", g)]]) == 0
    s_hi = report["smoothed_accuracy_ci95"][1]
    assert main(["check", str(certify_run), "--require", f"smoothed_accuracy >= {s_hi + 0.01:.4f}", "--lenient"]) == 1
    capsys.readouterr()
    assert main(["check", str(certify_run), "--require", "certified_accuracy@99 >= 0.1"]) == 2
    assert "beyond the run's radius cap" in capsys.readouterr().err
    assert main(["check", str(certify_run), "--require", "delete:p=0.1 robust_ratio >= 0.5"]) == 2
    card = tmp_path / "README.md"
    assert main(["card", str(certify_run), "--card", str(card)]) == 0
    results = {r.metric_type: r for r in ModelCard.load(card).data.eval_results}
    for radius, value in report["certified_accuracy"].items():
        r = results[f"certified_accuracy_radius_{radius}"]
        assert r.metric_value == value and r.metric_args["ci95"] == report["certified_accuracy_ci95"][radius]
    assert results["smoothed_accuracy"].metric_args["n"] == report["n_examples"]


def test_report_html_of_certify_and_vision_runs(certify_run, shared, tmp_path):
    from vision.models import new_model, save_model

    out = certify_run
    text = _html_checks(out / "report.html")
    assert (
        "Certified accuracy" in text and "Per-example radii" in text and text.count('src="data:image/png;base64,') == 1
    )
    records = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    assert (
        text.count("<tr>")
        == len(records) + 1 + 3 + len(json.loads((out / "report.json").read_text())["certified_accuracy"]) + 1 + 1
    )
    cnn = save_model(
        new_model("paper-mnist-cnn", 1, 10, (28, 28), seed=0).eval(),
        tmp_path / "cnn",
        label_names=[str(i) for i in range(10)],
        image_shape=(1, 28, 28),
    )
    out = tmp_path / "vision"
    mnist = shared / "data" / "mnist"
    args = f"vision eval --model {cnn} --dataset {mnist} --limit 30 --max-steps 10 --perturb gaussian --output {out}"
    assert main([*args.split(), "--no-progress"]) == 0
    text = _html_checks(out / "report.html")
    records = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
    flipped = sum(1 for r in records for ff in r["first_flip"].values() if ff)
    assert text.count('<img class="flip"') == min(25, flipped)
