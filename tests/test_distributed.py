"""`textrobust eval` under `accelerate launch` and `torchrun`: two CPU processes (gloo), one writer.

Each launch starts two Python processes on the machine's CPUs; they split the examples and
the main one gathers and writes. The results must be byte-identical to one process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, free_port

SPECS = ["delete:p=0.1", "typo:p=0.1"]
MAX_STEPS = 30


def _launch(
    launcher: str, args: list[str], timeout: float = 180, target: tuple[str, ...] = ("-m", "textrobust")
) -> subprocess.CompletedProcess:
    """Run ``python TARGET ARGS`` (default ``-m textrobust``) in two processes under ``launcher``
    (``accelerate`` or ``torchrun``)."""
    port = str(free_port())  # other test runs on this machine may hold the default port
    if launcher == "accelerate":
        command = [
            sys.executable,
            "-m",
            "accelerate.commands.accelerate_cli",
            "launch",
            "--multi_gpu",
            "--num_processes",
            "2",
            "--num_machines",
            "1",
            "--mixed_precision",
            "no",
            "--dynamo_backend",
            "no",
            "--main_process_port",
            port,
        ]
    else:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", port]
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="")
    return subprocess.run(
        command + [*target, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _eval_args(model: Path, data: Path, output: Path, *extra: str) -> list[str]:
    perturb = [x for spec in SPECS for x in ("--perturb", spec)]
    return [
        "eval",
        "--model",
        str(model),
        "--dataset",
        str(data),
        *perturb,
        "--max-steps",
        str(MAX_STEPS),
        "--no-progress",
        "--output",
        str(output),
        *extra,
    ]


@pytest.fixture(scope="module")
def reference(keyword_model, tiny_dataset, tmp_path_factory) -> Path:
    """The single-process run (Python API, default batch size)."""
    import textrobust

    out = tmp_path_factory.mktemp("single") / "out"
    report = textrobust.evaluate(
        str(keyword_model), None, str(tiny_dataset), SPECS, max_steps=MAX_STEPS, output_dir=out
    )
    assert all(report[spec].rpr.n_flipped > 0 for spec in SPECS), (
        "the model must flip some examples, or the comparison proves little"
    )
    return out


def _report(directory: Path) -> dict:
    """report.json without what may differ: time, process count, resumed examples and model calls
    (draws asked for speculatively past a first flip depend on how many jobs share a round)."""
    report = json.loads((directory / "report.json").read_text())
    return {k: v for k, v in report.items() if k not in ("seconds", "processes", "resumed_examples", "model_calls")}


def test_accelerate_launch_two_processes_equals_one_process(reference, keyword_model, tiny_dataset, tmp_path):
    out = tmp_path / "out"
    done = _launch("accelerate", _eval_args(keyword_model, tiny_dataset, out, "--batch-size", "7"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "examples.jsonl").read_bytes() == (reference / "examples.jsonl").read_bytes()
    assert json.loads((out / "report.json").read_text())["processes"] == 2
    assert _report(out) == _report(reference)
    assert "Traceback" not in done.stderr
    assert done.stdout.count("clean accuracy") == 1  # the summary is printed by the main process only


def test_torchrun_resumes_a_cut_run_in_two_processes(reference, keyword_model, tiny_dataset, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    lines = (reference / "examples.jsonl").read_bytes().splitlines(keepends=True)
    # a run killed after 50 examples, in the middle of writing the 51st
    (out / "examples.jsonl").write_bytes(b"".join(lines[:50]) + lines[50][:17])
    done = _launch("torchrun", _eval_args(keyword_model, tiny_dataset, out, "--resume"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "examples.jsonl").read_bytes() == (reference / "examples.jsonl").read_bytes()
    report = json.loads((out / "report.json").read_text())
    assert report["processes"] == 2 and report["resumed_examples"] == 50
    assert _report(out) == _report(reference)


def test_bad_input_on_the_main_process_only_stops_every_process_with_one_line(reference, keyword_model, tiny_dataset):
    """Only the main process opens the output directory; when that fails the other must stop too.

    The two processes are started by hand with the environment a launcher gives them (torchrun
    would SIGTERM the second as soon as the first exits, hiding whether it stopped by itself).
    """
    before = (reference / "examples.jsonl").read_bytes()
    port = str(free_port())
    procs = []
    for rank in range(2):
        env = dict(
            os.environ,
            HF_HUB_OFFLINE="1",
            PYTHONPATH=str(ROOT),
            CUDA_VISIBLE_DEVICES="",
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=port,
            WORLD_SIZE="2",
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            LOCAL_WORLD_SIZE="2",
        )
        args = _eval_args(keyword_model, tiny_dataset, reference)  # already holds results, no --resume
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "textrobust", *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            proc.kill()
    assert [proc.returncode for proc in procs] == [2, 2], [err[-2000:] for _, err in outputs]
    (out0, err0), (out1, err1) = outputs
    assert [line for line in err0.splitlines() if line.startswith("error:")] == [
        f"error: {reference / 'examples.jsonl'} already holds results; pass --resume to continue that run or "
        "--overwrite to replace it"
    ]
    assert "error:" not in err1 and "Traceback" not in err0 + err1  # printed once, no traceback
    assert (reference / "examples.jsonl").read_bytes() == before


def test_trainer_callback_under_torchrun_runs_on_every_process_and_is_written_once(keyword_model, tmp_path):
    script = str(Path(__file__).parent / "ddp_trainer_run.py")
    done = _launch("torchrun", [str(keyword_model), str(tmp_path / "run")], target=(script,))
    assert done.returncode == 0, done.stderr[-3000:]
    results = sorted(
        (json.loads(path.read_text()) for path in (tmp_path / "run").glob("result-rank*.json")), key=lambda r: r["rank"]
    )
    assert [r["rank"] for r in results] == [0, 1]
    main, other = results
    assert main["world_size"] == 2 and main["processes"] == 2  # the Trainer and the callback both ran in 2 processes
    assert [e["step"] for e in main["robust"]] == [2, 4]
    assert all(e["eval_robust/n_examples"] == 48 for e in main["robust"])  # every example, split and gathered
    # both processes hold the same numbers (best-model selection agrees) but only the main one is written
    assert other["robust"] == main["robust"] and other["best_metric"] == main["best_metric"]
    assert main["reporter_writes"] == 2 and other["reporter_writes"] == 0


# torchrun reads "--n" as an ambiguous abbreviation of its own options, hence "--n-draws"
CERTIFY_OPTIONS = ["--n0", "30", "--n-draws", "120", "--limit", "30"]


def test_torchrun_constrained_synonyms_two_processes_equal_one_process(shared, keyword_model, tiny_dataset, tmp_path):
    """The constrained ``synonym``/``insert`` candidates (tagger, sense table, encoder) are computed
    in each process for its own examples: two processes with another batch size give the same
    records and the same report, validity evidence included, as one process."""
    import textrobust

    specs = ["synonym:p=0.5,sim=0.5", "insert:p=0.3,sim=0.5"]
    synonyms = str(shared / "data" / "wordnet" / "oewn_synonyms.json")
    single = tmp_path / "single"
    report = textrobust.evaluate(
        str(keyword_model), None, str(tiny_dataset), specs, max_steps=20, limit=40, synonyms=synonyms, output_dir=single
    )
    # the draws must change texts and flip the model, or the comparison would prove little
    # (insertions rarely flip a keyword vote: what they insert is mostly outside its vocabulary)
    validity = report.extra["validity"]["perturbations"]
    assert all("constrained=1" in spec and v["changed_share"] > 0.1 for spec, v in validity.items())
    assert report.perturbations[0].rpr.n_flipped > 0 and validity[report.perturbations[0].spec]["first_flips"]
    perturb = [x for spec in specs for x in ("--perturb", spec)]
    args = ["eval", "--model", str(keyword_model), "--dataset", str(tiny_dataset), *perturb]
    args += ["--max-steps", "20", "--limit", "40", "--synonyms", synonyms, "--batch-size", "3", "--no-progress"]
    out = tmp_path / "out"
    done = _launch("torchrun", [*args, "--output", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "examples.jsonl").read_bytes() == (single / "examples.jsonl").read_bytes()
    assert json.loads((out / "report.json").read_text())["processes"] == 2
    assert _report(out) == _report(single)  # the validity section included


def test_torchrun_certify_two_processes_equals_one_process(keyword_model, tiny_dataset, tmp_path):
    """Certificates and per-example model calls are fixed by (seed, example, draw index): two
    processes with another batch size write the same ``examples.jsonl`` as one process."""
    import textrobust

    single = tmp_path / "single"
    textrobust.certify(str(keyword_model), None, str(tiny_dataset), 0.9, n0=30, n=120, limit=30, output_dir=single)
    records = [json.loads(line) for line in (single / "examples.jsonl").read_text().splitlines()]
    sampled = [r for r in records if not r["exact"]]
    # the comparison covers sampled certificates that stopped at different looks, and exact ones
    assert sampled and any(r["exact"] for r in records) and len({r["samples"] for r in sampled}) > 1
    assert any(r["radius"] for r in records)
    out = tmp_path / "out"
    args = [
        "certify",
        "--model",
        str(keyword_model),
        "--dataset",
        str(tiny_dataset),
        *CERTIFY_OPTIONS,
        "--batch-size",
        "5",
        "--no-progress",
        "--output",
        str(out),
    ]
    done = _launch("torchrun", args)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "examples.jsonl").read_bytes() == (single / "examples.jsonl").read_bytes()
    two = json.loads((out / "report.json").read_text())
    one = json.loads((single / "report.json").read_text())
    assert two["processes"] == 2 and one["processes"] == 1
    assert {k: v for k, v in two.items() if k not in ("seconds", "processes")} == {
        k: v for k, v in one.items() if k not in ("seconds", "processes")
    }  # model calls included
    assert done.stdout.count("median radius") == 1  # the table is printed by the main process only


def test_torchrun_vision_eval_two_processes_equals_one_process(shared, tmp_path):
    """`textrobust vision eval` splits images across two processes; the main one alone writes,
    and the records (first flips and the stored flipped images) equal one process's."""
    from textrobust.cli import main as cli

    model = ROOT / "vision" / "results" / "mnist" / "models" / "M"  # the reproduction's trained M
    common = [
        "vision",
        "eval",
        "--model",
        str(model),
        "--dataset",
        str(shared / "data" / "mnist" / "idx"),
        "--split",
        "test",
        "--limit",
        "40",
        "--perturb",
        "gaussian:sigma=0.5",
        "--perturb",
        "pixels:k=28",
        "--max-steps",
        "30",
        "--threads",
        "1",
        "--no-progress",
    ]
    single, out = tmp_path / "single", tmp_path / "out"
    assert cli([*common, "--output", str(single)]) == 0
    records = [json.loads(line) for line in (single / "examples.jsonl").read_text().splitlines()]
    flips = [f for r in records for f in r["first_flip"].values()]
    assert any(f is None for f in flips) and any(f not in (None, 0) for f in flips)  # robust and flipped images
    done = _launch("torchrun", [*common, "--batch-size", "16", "--output", str(out)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert (out / "examples.jsonl").read_bytes() == (single / "examples.jsonl").read_bytes()
    assert json.loads((out / "report.json").read_text())["processes"] == 2
    assert _report(out) == _report(single)
