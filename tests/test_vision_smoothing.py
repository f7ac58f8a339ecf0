"""``vision certify`` on MNIST: determinism across batch sizes and processes, the CLI end to end with
resume and a denoiser, bad options, noise training and the denoiser's save/load/training."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
import torch
from conftest import ROOT, torchrun_command

import vision
from textrobust.cli import main
from vision.data import load_image_examples
from vision.smoothing.denoiser import Denoiser, DenoiserRecipe, load_denoiser, save_denoiser, train_denoiser
from vision.training import Recipe, train_model

pytestmark = pytest.mark.usefixtures("torch_single_thread")
MODEL = ROOT / "vision" / "results" / "mnist" / "models" / "M"  # the committed MNIST paper CNN


@pytest.fixture(scope="module")
def mnist_dir(shared):
    return shared / "data" / "mnist" / "idx"


@pytest.fixture(scope="module")
def denoiser_dir(tmp_path_factory):
    torch.manual_seed(0)
    return save_denoiser(
        Denoiser(1, 4, 3).eval(), tmp_path_factory.mktemp("den") / "d", sigma=0.25, image_shape=(1, 28, 28)
    )


def _run(args, capsys):
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("procedure", ["fast", "cohen"])
def test_examples_do_not_depend_on_batch_size(tmp_path, mnist_dir, procedure):
    outputs = []
    for batch_size in (1, 7, 64):
        out = tmp_path / f"b{batch_size}"
        vision.certify(
            MODEL, mnist_dir, 0.25, n0=10, n=150, procedure=procedure, limit=4, batch_size=batch_size, output_dir=out
        )
        outputs.append((out / "examples.jsonl").read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    records = [json.loads(line) for line in outputs[0].decode().splitlines()]
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    if procedure == "cohen":
        assert all(r["model_calls"] == 161 and r["samples"] == 160 for r in records)
    else:
        assert all(r["model_calls"] == r["samples"] + 1 <= 161 for r in records)
    assert any(r["radius"] is not None and r["radius"] > 0 for r in records)


def test_cli_end_to_end_resume_and_denoiser(tmp_path, mnist_dir, denoiser_dir, capsys):
    out = tmp_path / "out"
    args = f"vision certify --model {MODEL} --dataset {mnist_dir} --sigma 0.25 --limit 6 --n0 20 --n 300".split()
    args += ["--no-progress", "--output", str(out)]
    code, stdout, err = _run(args, capsys)
    assert code == 0, err
    assert "certified accuracy, L2 radius >= 0.5" in stdout
    report = json.loads((out / "report.json").read_text())
    assert (
        report["n_examples"] == 6
        and report["procedure"] == "fast"
        and report["radius_grid"][:5] == [0, 0.25, 0.5, 0.75, 1.0]
    )
    assert set(report["certified_accuracy"]) >= {"0", "0.25", "0.5", "0.75", "1"}
    counts = report["certified_count"]
    assert (
        counts["0"] >= counts["0.25"] >= counts["0.5"]
        and report["certified_accuracy_ci95"]["0"][0] <= report["certified_accuracy"]["0"]
    )
    for name in ("report.md", "certified_accuracy.png", "run.json", "examples.jsonl"):
        assert (out / name).is_file()
    # a stopped run: keep 3 records, resume, get the same report
    lines = (out / "examples.jsonl").read_text().splitlines()
    (out / "examples.jsonl").write_text("\n".join(lines[:3]) + "\n")
    code, _, err = _run(args + ["--resume"], capsys)
    assert code == 0, err
    again = json.loads((out / "report.json").read_text())
    assert again["resumed_examples"] == 3 and again["certified_accuracy"] == report["certified_accuracy"]
    assert (out / "examples.jsonl").read_text().splitlines() == lines
    # different settings cannot resume the run
    code, _, err = _run([*args[:-2], "--output", str(out), "--sigma", "0.5", "--resume"], capsys)
    assert code == 2 and err.startswith("error:")
    # denoised smoothing: the denoiser in front of the classifier
    code, _, err = _run(
        args[:-1] + [str(tmp_path / "den"), "--denoiser", str(denoiser_dir), "--procedure", "cohen", "--n", "50"],
        capsys,
    )
    assert code == 0, err
    den = json.loads((tmp_path / "den" / "report.json").read_text())
    assert den["denoiser"] == str(denoiser_dir) and den["procedure"] == "cohen" and den["model_calls"] == 6 * 71


def test_denoiser_trains_saves_and_loads(tmp_path, mnist_dir):
    data = load_image_examples(mnist_dir, split="train", limit=600)
    model, info = train_denoiser(
        data.images, DenoiserRecipe(sigma=0.25, epochs=2, batch_size=16, width=8, depth=3), seed=0
    )
    assert info["val_mse"] < info["noisy_input_mse"]  # better than returning the noisy image
    path = save_denoiser(model, tmp_path / "d", sigma=0.25, image_shape=data.shape)
    loaded, meta = load_denoiser(path)
    assert meta["sigma"] == 0.25 and (meta["width"], meta["depth"]) == (8, 3)
    x = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        assert torch.equal(model(x), loaded(x))


def test_noise_training_is_seeded_and_changes_the_model(mnist_dir):
    data = load_image_examples(mnist_dir, split="train", limit=300)
    runs = [
        train_model(
            "paper-mnist-cnn", data.images, data.labels, num_classes=10, recipe=Recipe(epochs=1, noise=s), seed=0
        )
        for s in (0.5, 0.5, 0.0)
    ]
    weights = [r.model.classifier[-1].weight for r in runs]
    assert torch.equal(weights[0], weights[1]) and not torch.equal(weights[0], weights[2])


def test_torchrun_two_processes_match_one(tmp_path, mnist_dir):
    common = f"vision certify --model {MODEL} --dataset {mnist_dir} --limit 5 --n0 10 --estimation-draws 120".split()
    common += ["--no-progress", "--threads", "1"]
    assert main([*common, "--output", str(tmp_path / "one")]) == 0
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    command = [*torchrun_command(2), "-m", "textrobust"]
    done = subprocess.run(
        [*command, *common, "--output", str(tmp_path / "two")],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "one" / "examples.jsonl").read_bytes() == (tmp_path / "two" / "examples.jsonl").read_bytes()
    assert json.loads((tmp_path / "two" / "report.json").read_text())["processes"] == 2
