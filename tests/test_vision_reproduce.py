"""The paper reproduction end to end on a tiny subset (few images, steps and one epoch)."""

from __future__ import annotations

import json

import pytest

from textrobust.cli import main

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def test_reproduce_pipeline_end_to_end(tmp_path, shared, capsys):
    out = tmp_path / "rep"
    args = [
        "vision",
        "reproduce",
        "--dataset",
        "mnist",
        "--data",
        str(shared / "data" / "mnist" / "idx"),
        "--limit",
        "1500",
        "--max-steps",
        "5",
        "--epochs",
        "1",
        "--per-class",
        "8",
        "--output",
        str(out),
        "--no-progress",
    ]
    assert main(args) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "M_R minus M_rand" in captured.out and "train M: epoch 1" in captured.err
    report = json.loads((out / "report.json").read_text())
    assert (
        report["perturbation"] == "pixels:k=28"
        and report["max_steps"] == 5
        and report["n_train"] == report["n_test"] == 1500
    )
    assert report["paper"]["M"]["test_robust_ratio"] == 0.2957 and report["paper"]["M_rand"] is None
    ours = report["ours"]
    for name in ("M", "M_R", "M_rand"):
        m = ours[name]
        assert (
            0 <= m["test_accuracy"] <= 1
            and m["test_accuracy_ci95"][0] <= m["test_accuracy"] <= m["test_accuracy_ci95"][1]
        )
        assert len(m["test_survival"]) == 5 and m["test_survival"][-1] == m["test_robust_ratio"]
    m = ours["M"]
    assert m["n_train_rpr"] == 1500 and set(m["train_robust_per_class"]) == {str(c) for c in range(10)}
    assert ours["M_R"]["train_robust_ratio"] is None
    # M_R and M_rand train on the same number of images of every class
    selection = report["selection"]
    assert (
        ours["M_R"]["train_size"]
        == ours["M_rand"]["train_size"]
        == selection["subset_size"]
        == sum(selection["per_class_used"].values())
    )
    assert all(n == min(8, selection["robust_available_per_class"][c]) for c, n in selection["per_class_used"].items())
    delta = report["comparison"]["test_robust_ratio"]["M_R_minus_M_rand"]
    assert (
        delta["n"] == 1500
        and abs(delta["delta"] - (ours["M_R"]["test_robust_ratio"] - ours["M_rand"]["test_robust_ratio"])) < 1e-12
    )
    for name in ("report.md", "survival.png", "per_class_train.png", "robust_grid.png", "flipped.png"):
        assert (out / name).is_file(), name
    assert "| test robust ratio | 0.2957 |" in (out / "report.md").read_text()
    for name in ("M", "M_R", "M_rand"):
        assert (out / "models" / name / "model.safetensors").is_file()
    # resuming reuses the models and the RPR records: the same numbers, no training
    assert main([*args, "--resume"]) == 0
    again = json.loads((out / "report.json").read_text())
    assert "train M: epoch" not in capsys.readouterr().err
    for name in ("M", "M_R", "M_rand"):
        assert again["ours"][name]["test_robust_ratio"] == ours[name]["test_robust_ratio"]
    # the timings are the resumed process's: the report names the work an earlier one did
    assert report["done_by_an_earlier_process"] == []
    earlier = again["done_by_an_earlier_process"]
    assert {"train M", "train M_R", "train M_rand", "RPR M test: 1500 of 1500 examples"} <= set(earlier)
    assert "Resumed: the times above are this process's" in (out / "report.md").read_text()
    assert main([*args[:-1]]) == 2  # results exist: neither --resume nor --overwrite
    assert "already holds results" in capsys.readouterr().err


def test_reproduce_bad_input(capsys):
    assert main(["vision", "reproduce", "--dataset", "imagenet", "--no-progress"]) == 2
    assert "use mnist or cifar10" in capsys.readouterr().err
    assert main(["vision", "reproduce", "--per-class", "0", "--no-progress"]) == 2
    assert "--per-class must be at least 1" in capsys.readouterr().err
