"""Results do not depend on the device: the same examples.jsonl on CUDA as on the CPU.

The CUDA cases skip where no CUDA device is present (this project's CI); run them on a GPU
machine (``python -m pytest -q tests/test_devices.py``), where they also exercise the GPU-only
host path: pinned host memory, non-blocking copies and host/device overlap. The ``cpu`` cases run
everywhere and check the comparison itself. The keyword-vote BERT is used because its logits have
wide margins (ties are broken by a 1e-3 bias), so rounding differences between devices cannot
change a prediction: any difference is the pipeline's.
"""

from __future__ import annotations

import json

import pytest
import torch

from textrobust.cli import main

CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: run on a GPU machine")
DEVICES = ["cpu", pytest.param("cuda", marks=CUDA)]
PERTURB = ["--perturb", "delete:p=0.3", "--perturb", "typo:p=0.3", "--perturb", "swap:p=0.3"]


def _eval(model, data, out, device: str, batch_size: int) -> bytes:
    args = ["eval", "--model", str(model), "--dataset", str(data), "--output", str(out), "--no-progress"]
    extra = ["--max-steps", "12", "--limit", "60", "--batch-size", str(batch_size), "--device", device]
    assert main([*args, *PERTURB, *extra]) == 0
    return (out / "examples.jsonl").read_bytes()


@pytest.mark.parametrize("device", DEVICES)
def test_eval_on_a_device_equals_the_cpu_run(device, keyword_model, tiny_dataset, tmp_path):
    reference = _eval(keyword_model, tiny_dataset, tmp_path / "reference", "cpu", 5)
    on_device = _eval(keyword_model, tiny_dataset, tmp_path / device, device, 64)
    assert on_device == reference
    flips = [json.loads(line)["first_flip"] for line in reference.splitlines()]
    assert any(f["delete:p=0.3"] for f in flips)  # the comparison covers flipped examples too


@pytest.mark.parametrize("device", DEVICES)
def test_certify_on_a_device_equals_the_cpu_run(device, keyword_model, tiny_dataset, tmp_path):
    def certify(out, dev: str, batch_size: int) -> bytes:
        args = ["certify", "--model", str(keyword_model), "--dataset", str(tiny_dataset), "--limit", "8"]
        extra = ["--n0", "30", "--n", "100", "--batch-size", str(batch_size), "--device", dev, "--no-progress"]
        assert main([*args, *extra, "--output", str(out)]) == 0
        return (out / "examples.jsonl").read_bytes()

    assert certify(tmp_path / device, device, 64) == certify(tmp_path / "reference", "cpu", 7)
