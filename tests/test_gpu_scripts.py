"""The GPU benchmarks run end to end on a CPU, tiny, so that a session lent a GPU (minutes of
device time) finds them working: scripts/bench_gpu.py (eval vs the raw-forward floor) and
scripts/bench_host.py's tiny case (the tiny-BERT calls/s target). Figures: docs/host-pipeline.md."""

import json
import os
import subprocess
import sys

from conftest import ROOT


def _script(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def test_bench_gpu_runs_on_cpu_and_replays_exactly_the_batches_eval_sent(tmp_path):
    out = tmp_path / "gpu.json"
    args = ["--device", "cpu", "--dtype", "fp32", "--layers", "1", "--limit", "4", "--max-steps", "4"]
    done = _script("bench_gpu.py", *args, "--batch-size", "8", "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["device"] == "cpu" and figures["dtype"] == "torch.float32" and figures["examples"] == 4
    # the clean pass of every example, then at most max_steps draws of each of 3 perturbations
    assert 4 < figures["model_calls"] <= 4 * (1 + 3 * 4)
    assert figures["batches"] >= figures["model_calls"] / 8
    assert figures["ratio_ours_over_floor_throughput"] == figures["floor_s"] / figures["ours_s"] > 0
    assert figures["gpu_utilisation_mean_percent"] is None
    assert "(a) / (c) throughput" in done.stdout


def test_bench_host_tiny_case_runs_and_splits_out_the_forward(tmp_path):
    out = tmp_path / "host.json"
    args = ["--cases", "tiny", "--limit", "4", "--max-steps", "5", "--repeats", "1", "--device", "cpu"]
    done = _script("bench_host.py", *args, "--json", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    (row,) = json.loads(out.read_text())["rows"]
    assert row["examples"] == 4 and 4 < row["model_calls"] <= row["queries"]
    assert 0 < row["forward_cpu_s"] < row["cpu_s"]
    assert row["model_calls_per_host_cpu_s"] > row["model_calls_per_cpu_s"] > 0
