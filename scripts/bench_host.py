"""Host cost per draw with the model removed: what feeding an accelerator costs the CPU.

A *null model* answers without a forward pass (fixed logits) behind the REAL adapters
(:class:`~textrobust.text.model.TextClassifier`: tokenization and tensor building included;
:class:`~vision.models.ImageClassifier`: stacking included). Every label is set to the null
model's class, so every example is robust and runs all ``max_steps`` draws of every
perturbation: the steady state of a robust model, which is what an accelerator sees.
Set-up (loading data, models, resources) is excluded; the run itself goes through the shared
driver (:func:`textrobust.core.driver.execute`) exactly as ``textrobust eval`` does.

Cases: ``eval`` (SST-2 validation; delete/synonym/typo; unconstrained synonyms and, when
its resources load, a constrained spec), ``certify`` (word and token level), ``vision`` (MNIST,
``pixels``) and the paper's per-pixel numpy procedure with the same null model, and
``tiny``: ``textrobust eval`` with a 1-layer, hidden-16 random BERT (model calls/s of work, and
the same with the CPU time of its forward passes taken out: the accelerator regime on a CPU).

Per case: CPU µs per draw (``time.process_time``: what other jobs on a shared machine disturb
least) and wall µs, the median of ``--repeats`` runs; draws/s per core; and a breakdown from
one extra run under cProfile (own time by module; a C function's time is given to its callers).

    PYTHONPATH=$PWD python scripts/bench_host.py --json docs/bench/host_after.json

The same script runs against another checkout (``PYTHONPATH=/tmp/host-base python
scripts/bench_host.py``) for a before/after table measured on the same machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, shared_dir, sst2_arguments  # noqa: E402

if os.environ.get("PYTHONPATH") is None:
    sys.path.insert(0, str(ROOT))

CATEGORIES = {
    "perturbation": (
        "textrobust/text/perturbations.py",
        "textrobust/text/words.py",
        "textrobust/text/candidates.py",
        "textrobust/text/synonyms.py",
        "textrobust/text/edits.py",
        "textrobust/certification/deletion.py",
        "vision/ops.py",
        "vision/perturbations.py",
        "vision/batch.py",
        "bench_vision.py",
    ),
    "random streams": ("textrobust/core/random.py", "numpy/random", "_blake2", "Generator", "PCG64", "scipy/stats"),
    "tokenization/assembly": (
        "transformers/",
        "tokenizers",
        "textrobust/text/model.py",
        "textrobust/text/tokens.py",
        "textrobust/text/pipeline.py",
        "torch/",
        "<built-in method torch",
        "bench_host.py:null",
    ),
    "engine bookkeeping": (
        "textrobust/core/engine.py",
        "textrobust/core/rpr.py",
        "textrobust/core/runner.py",
        "textrobust/core/driver.py",
        "textrobust/core/store.py",
        "textrobust/core/distributed.py",
        "textrobust/core/progress.py",
        "textrobust/certification/job.py",
        "textrobust/certification/",
    ),
}


def _category(func: tuple) -> str | None:
    filename, _, name = func
    where = f"{filename}:{name}"
    if "bench_host.py" in filename:
        where = "bench_host.py:" + name
    for cat, patterns in CATEGORIES.items():
        if any(p in where for p in patterns):
            return cat
    return None if filename == "~" else "other"


def breakdown(profile: cProfile.Profile) -> dict[str, float]:
    """Share of own time per category; a C function's own time goes to its callers' categories."""
    stats = pstats.Stats(profile).stats
    totals: dict[str, float] = {}
    for func, (_, _, tt, _, callers) in stats.items():
        cat = _category(func)
        if cat is None:  # a builtin: split over its callers by the time spent from each
            weights = {}
            for caller, entry in callers.items():
                c = _category(caller) or "other"
                weights[c] = weights.get(c, 0.0) + entry[2]
            total = sum(weights.values())
            if total <= 0:
                totals["other"] = totals.get("other", 0.0) + tt
                continue
            for c, w in weights.items():
                totals[c] = totals.get(c, 0.0) + tt * w / total
        else:
            totals[cat] = totals.get(cat, 0.0) + tt
    whole = sum(totals.values()) or 1.0
    return {k: round(v / whole, 4) for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


def null_text_classifier(tokenizer, num_labels: int = 2):
    """The real TextClassifier adapter around a module that returns fixed logits (class 0)."""
    import numpy as np
    import torch

    from textrobust.text.model import TextClassifier, model_max_length

    class NullModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.config = SimpleNamespace(
                id2label={i: f"LABEL_{i}" for i in range(num_labels)},
                num_labels=num_labels,
                max_position_embeddings=512,
            )

        def forward(self, input_ids=None, **kwargs):
            return SimpleNamespace(logits=torch.zeros((input_ids.shape[0], num_labels)))

    model = NullModel()
    return TextClassifier(
        model, tokenizer, torch.device("cpu"), model_max_length(model, tokenizer), np.arange(num_labels), "null"
    )


WARMUP = 0  # untimed runs of each case before the timed ones (--warmup)


def timed(fn, repeats: int) -> tuple[dict, object]:
    for _ in range(WARMUP):
        fn()
    walls, cpus, out = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return {
        "cpu_s": statistics.median(cpus),
        "wall_s": statistics.median(walls),
        "cpu_s_runs": cpus,
        "wall_s_runs": walls,
    }, out


def profiled(fn) -> dict[str, float]:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    return breakdown(prof)


def summarise(name: str, times: dict, draws: int, queries: int, share: dict, extra: dict | None = None) -> dict:
    row = {
        "case": name,
        "draws": draws,
        "engine_queries": queries,
        "cpu_us_per_draw": times["cpu_s"] / draws * 1e6,
        "wall_us_per_draw": times["wall_s"] / draws * 1e6,
        "draws_per_cpu_s": draws / times["cpu_s"],
        **times,
        "breakdown": share,
        **(extra or {}),
    }
    print(
        f"{name:46s} {row['cpu_us_per_draw']:9.2f} {row['wall_us_per_draw']:9.2f} {row['draws_per_cpu_s']:11.0f}  {draws} draws"
    )
    print(f"{'':46s} {share}")
    return row


def run_plan(plan, batch_size: int, compile: bool = False):
    from textrobust.core.driver import execute
    from textrobust.core.options import RunOptions

    run = (
        RunOptions(batch_size=batch_size, compile=True) if compile else RunOptions(batch_size=batch_size)
    )  # older code: no compile
    return execute(lambda group: plan, lambda result: result, run)


def text_case(args, name: str, specs: list[str], data, clf, synonyms) -> dict:
    from textrobust.core.options import DataOptions
    from textrobust.evaluation import eval_plan, text_perturbations

    perturbations = text_perturbations(specs, synonyms)
    warm = {}
    for p in perturbations:  # constrained candidates: computed once per example, before timing
        source = (getattr(p.perturb, "keywords", None) or {}).get("candidates") or getattr(p, "candidates", None)
        if source is not None:
            t = time.process_time()
            for text in data.texts:
                source(text)
            warm["candidates_cpu_s_per_example"] = (time.process_time() - t) / len(data.texts)

    def once():
        plan = eval_plan(
            clf, data, perturbations, DataOptions(), max_steps=args.max_steps, seed=0, batch_size=args.batch_size
        )
        return run_plan(plan, args.batch_size)

    times, result = timed(once, args.repeats)
    draws = len(result.records) * len(specs) * args.max_steps  # every example is robust: all draws run
    assert all(v is None for r in result.records for v in r["first_flip"].values()), (
        "null model must keep every example robust"
    )
    share = profiled(once)
    return summarise(
        name,
        times,
        draws,
        result.stats.queries,
        share,
        {"specs": specs, "examples": len(result.records), "model_calls": result.model_calls, **warm},
    )


def certify_case(args, level: str, data, clf) -> dict:
    from textrobust.certification.api import CertifyOptions, certify_plan
    from textrobust.core.options import DataOptions

    o = CertifyOptions(
        p_del=0.9,
        alpha=0.05,
        n0=args.certify_n0,
        n=args.certify_n,
        exact=False,
        level=level,
        procedure="cert-ed",
        max_enumerate=0,
        seed=0,
    )
    small = replace(
        data,
        ids=data.ids[: args.certify_limit],
        texts=data.texts[: args.certify_limit],
        labels=data.labels[: args.certify_limit],
    )

    def once():
        return run_plan(certify_plan(clf, small, DataOptions(), args.batch_size, o), args.batch_size)

    times, result = timed(once, args.repeats)
    draws = result.stats.queries - len(small)  # every query but the clean inputs is a draw
    share = profiled(once)
    return summarise(
        f"certify --level {level} (cert-ed, n0={o.n0}, n={o.n})",
        times,
        draws,
        result.stats.queries,
        share,
        {"examples": len(small), "model_calls": result.model_calls},
    )


def vision_cases(args) -> list[dict]:
    import numpy as np
    import torch

    from textrobust.core.perturbation import build
    from vision.data import load_image_examples
    from vision.evaluation import image_rpr_plan
    from vision.models import ImageClassifier
    from vision.ops import auto_k

    test = load_image_examples(str(args.shared / "data/mnist"), split="test", limit=args.vision_limit)
    test = replace(test, labels=[0] * len(test))

    class NullCNN(torch.nn.Module):
        def forward(self, x):
            return torch.zeros((x.shape[0], 10))

    clf = ImageClassifier(NullCNN(), torch.device("cpu"), np.arange(10), "null")
    k = auto_k(*test.shape[1:])
    pixels = build(f"pixels:k={k}", "image")

    def once():
        return run_plan(
            image_rpr_plan({}, clf, test, [pixels], max_steps=args.max_steps, seed=0, batch_size=256, encode=None), 256
        )

    times, result = timed(once, args.repeats)
    draws = len(test) * args.max_steps
    rows = [
        summarise(
            f"vision eval (MNIST, {pixels.spec.canonical})",
            times,
            draws,
            result.stats.queries,
            profiled(once),
            {"examples": len(test)},
        )
    ]

    # the paper's procedure with the same null model: every image, every step, the authors'
    # per-pixel numpy loop, batches of 50 (see scripts/bench_vision.py)
    from bench_vision import authors_cells

    n = min(len(test), args.paper_images)
    hwc = test.images[:n].permute(0, 2, 3, 1).numpy().astype(np.float32)
    steps = max(1, args.max_steps // 10)

    def cells(img):
        return authors_cells(img, k)

    def paper():
        np.random.seed(0)
        for _ in range(steps):
            noisy = [cells(img) for img in hwc]
            for start in range(0, n, 50):
                batch = torch.from_numpy(np.stack(noisy[start : start + 50]).astype(np.float32) / 255.0).permute(
                    0, 3, 1, 2
                )
                clf.label_map[clf.logits(batch).argmax(-1).numpy()]

    times, _ = timed(paper, args.repeats)
    rows.append(
        summarise(
            f"paper procedure, null model ({n} images x {steps} steps)",
            times,
            n * steps,
            n * steps,
            profiled(paper),
            {"examples": n},
        )
    )
    rows[-1]["ratio_paper_over_ours_cpu"] = rows[-1]["cpu_us_per_draw"] / rows[0]["cpu_us_per_draw"]
    rows[-1]["ratio_paper_over_ours_wall"] = rows[-1]["wall_us_per_draw"] / rows[0]["wall_us_per_draw"]
    print(
        f"{'':46s} paper / ours per draw: CPU {rows[-1]['ratio_paper_over_ours_cpu']:.1f}x, wall {rows[-1]['ratio_paper_over_ours_wall']:.1f}x"
    )
    return rows


def tiny_case(args, data, synonyms, tokenizer, compile: bool = False) -> dict:
    """``textrobust eval``'s plan with a 1-layer, hidden-16 random BERT at batch 1024: model
    calls per second of work (set-up excluded, as for the other cases). ``compile``: the run
    option ``--compile`` (torch.compile; its compilation paid by an untimed first run)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from textrobust.core.options import DataOptions
    from textrobust.evaluation import eval_plan, text_perturbations
    from textrobust.text.model import text_classifier

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=32,
        num_labels=2,
    )
    model = BertForSequenceClassification(config).eval()
    clf = text_classifier(model, tokenizer, dataset_label_names=data.label_names, device=args.device)
    specs = ["delete:p=0.1", "synonym:p=0.2,constrained=0", "typo:p=0.1"]
    perturbations = text_perturbations(specs, synonyms)
    real = replace(data, labels=list(real_labels(args)))  # real labels: the random model flips some examples early

    forward = {"cpu": 0.0, "start": 0.0}  # CPU time inside the model's forward passes

    def started(module, inputs):
        forward["start"] = time.process_time()

    def finished(module, inputs, output):
        forward["cpu"] += time.process_time() - forward["start"]

    def once():
        plan = eval_plan(clf, real, perturbations, DataOptions(), max_steps=args.max_steps, seed=0, batch_size=1024)
        return run_plan(plan, 1024, compile=compile)

    if compile:
        once()  # compiles the model (every shape the run meets: dynamic=True)
    hooks = [model.register_forward_pre_hook(started), model.register_forward_hook(finished)]
    runs = WARMUP + args.repeats
    times, result = timed(once, args.repeats)
    for hook in hooks:
        hook.remove()
    forward_cpu = forward["cpu"] / runs  # every run sends the same batches
    row = {
        "case": "eval plan, 1-layer hidden-16 random BERT, batch 1024" + (", --compile" if compile else ""),
        "model_calls": result.model_calls,
        "queries": result.stats.queries,
        "examples": len(real),
        **times,
        "forward_cpu_s": forward_cpu,
        "model_calls_per_cpu_s": result.model_calls / times["cpu_s"],
        "model_calls_per_wall_s": result.model_calls / times["wall_s"],
        # the accelerator regime: the same run with the forward passes' CPU time taken out
        "model_calls_per_host_cpu_s": result.model_calls / (times["cpu_s"] - forward_cpu),
        "forward_us_per_call": 1e6 * forward_cpu / result.model_calls,
    }
    print(
        f"{row['case']:46s} {row['model_calls_per_cpu_s']:9.0f} calls per CPU s, {row['model_calls_per_wall_s']:9.0f} per wall s ({result.model_calls} calls); "
        f"forward {row['forward_us_per_call']:.1f} us a call; without it {row['model_calls_per_host_cpu_s']:.0f} calls per CPU s"
    )
    return row


def real_labels(args):
    from textrobust.text.data import load_text_examples

    return load_text_examples(args.dataset, limit=args.limit, seed=0).labels


def merge_medians(paths: list[str], out_path: str | None) -> None:
    """One JSON whose rows hold, per case, the median of the runs' CPU and wall µs per draw
    (each run its own process; interleaving two checkouts' runs spreads machine load evenly)."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    merged = dict(
        runs[0],
        runs=[{k: r[k] for k in ("commit", "load_average_at_start", "load_average_at_end") if k in r} for r in runs],
    )
    rows = []
    for i, row in enumerate(runs[0]["rows"]):
        same = [r["rows"][i] for r in runs]
        out = dict(row)
        for key in (
            "cpu_us_per_draw",
            "wall_us_per_draw",
            "draws_per_cpu_s",
            "model_calls_per_cpu_s",
            "model_calls_per_wall_s",
            "cpu_s",
            "wall_s",
        ):
            if key in row:
                out[key] = statistics.median(x[key] for x in same)
                out[key + "_runs"] = [x[key] for x in same]
        rows.append(out)
    merged["rows"] = rows
    for row in rows:
        if "ratio_paper_over_ours_cpu" in row:  # recompute from the medians
            ours = next(r for r in rows if r["case"].startswith("vision eval"))
            row["ratio_paper_over_ours_cpu"] = row["cpu_us_per_draw"] / ours["cpu_us_per_draw"]
            row["ratio_paper_over_ours_wall"] = row["wall_us_per_draw"] / ours["wall_us_per_draw"]
    text = json.dumps(merged, indent=2) + "\n"
    if out_path:
        Path(out_path).write_text(text)
    for row in rows:
        figure = row.get("cpu_us_per_draw", row.get("model_calls_per_cpu_s"))
        print(f"{row['case']:60s} {figure:10.2f}")


def main() -> None:
    shared = shared_dir()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sst2_arguments(ap, shared, "--tokenizer")
    ap.add_argument("--limit", type=int, default=60, help="SST-2 validation examples for eval")
    ap.add_argument("--max-steps", type=int, default=250)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--certify-limit", type=int, default=10)
    ap.add_argument("--certify-n0", type=int, default=100)
    ap.add_argument("--certify-n", type=int, default=1000)
    ap.add_argument("--vision-limit", type=int, default=100)
    ap.add_argument("--paper-images", type=int, default=100)
    ap.add_argument(
        "--device",
        default="cpu",
        help="the tiny case's device (cuda: calls per wall s; its forward CPU split is then moot)",
    )
    ap.add_argument("--cases", default="eval,constrained,certify,vision,tiny", help="also: tinycompile")
    ap.add_argument("--json", default=None)
    ap.add_argument(
        "--warmup", type=int, default=0, help="untimed runs of each case first (the steady state of a long run)"
    )
    ap.add_argument(
        "--median-of",
        nargs="+",
        default=None,
        metavar="JSON",
        help="merge runs of this script (e.g. interleaved with a baseline's) into their per-case median",
    )
    args = ap.parse_args()
    if args.median_of:
        merge_medians(args.median_of, args.json)
        return
    args.shared = shared
    global WARMUP
    WARMUP = args.warmup
    cases = set(args.cases.split(","))

    import torch

    torch.set_num_threads(1)
    from transformers import AutoTokenizer

    import textrobust
    from textrobust.text.data import load_text_examples

    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    data = load_text_examples(args.dataset, limit=args.limit, seed=0)
    data = replace(data, labels=[0] * len(data))
    clf = null_text_classifier(tokenizer)
    code = Path(textrobust.__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        commit = "?"
    with open("/proc/loadavg") as f:
        load = f.read().split()[:3]
    out = {
        "code": str(code),
        "commit": commit,
        "load_average_at_start": load,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "warmup": args.warmup,
        "rows": [],
    }
    print(f"code {code} @ {commit}; load average {load}; median of {args.repeats} runs")
    print(f"{'case':46s} {'CPU µs':>9s} {'wall µs':>9s} {'draws/CPU s':>11s}   (per draw)")
    base = ["delete:p=0.1", "synonym:p=0.2,constrained=0", "typo:p=0.1"]
    if "eval" in cases:
        out["rows"].append(text_case(args, "eval SST-2 (synonym constrained=0)", base, data, clf, args.synonyms))
    if "constrained" in cases:
        spec = "synonym:p=0.2,pos=0"  # the constrained default needs a spaCy pipeline for pos=1
        try:
            out["rows"].append(
                text_case(args, f"eval SST-2 ({spec})", [base[0], spec, base[2]], data, clf, args.synonyms)
            )
        except Exception as e:  # noqa: BLE001 - report why the constrained case could not run
            out["constrained_skipped"] = f"{type(e).__name__}: {e}"
            print(f"constrained case not measured: {out['constrained_skipped']}")
    if "certify" in cases:
        for level in ("word", "token"):
            out["rows"].append(certify_case(args, level, data, clf))
    if "vision" in cases:
        out["rows"].extend(vision_cases(args))
    if "tiny" in cases:
        out["rows"].append(tiny_case(args, data, args.synonyms, tokenizer))
    if "tinycompile" in cases:
        out["rows"].append(tiny_case(args, data, args.synonyms, tokenizer, compile=True))
    with open("/proc/loadavg") as f:
        out["load_average_at_end"] = f.read().split()[:3]
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
