"""Benchmark `textrobust eval` against the paper's procedure and the raw-forward floor, in ONE run.

(a) our engine: continuous batching, early exit, per-example deduplication, length-sorted batches;
(b) the paper's procedure: every example perturbed and classified at every one of max_steps
    steps, batches of 50 in dataset order, no early exit (same seeded draws, so the first flips
    must agree with (a) — checked);
(c) the raw-forward floor: exactly the batches (a) sent to the model, pre-tokenized, timed
    forward passes only.

Prints examples/s, model calls and the ratios b/a (target >= 3) and a/c (target <= 1.3). With
constrained synonyms (the default) and the validity evidence, (a) also runs a sentence encoder
(candidates once per example, similarities of the report); (b) computes the same candidates, (c)
has no encoder. Its passes are timed apart (``ours_encoder_s``) and a/c is given with and without
them. One-off loading (spaCy, the encoder) is paid by a warm-up run before any timing. The process
is set up as the ``textrobust`` program sets up its own (glibc malloc thresholds:
:mod:`textrobust.cli.process`); ``--library-process`` leaves it as a library caller's would be.

    HF_HUB_OFFLINE=1 python scripts/bench_eval.py --limit 200 --max-steps 50
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, shared_dir, sst2_arguments, timer  # noqa: E402

sys.path.insert(0, str(ROOT))


def main() -> None:
    shared = shared_dir()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sst2_arguments(ap, shared)
    ap.add_argument("--limit", type=int, default=200)
    ap.add_argument("--max-steps", type=int, default=50)
    ap.add_argument("--perturb", action="append", default=None)
    ap.add_argument("--batch-size", type=int, default=64, help="our engine's batch size")
    ap.add_argument("--paper-batch-size", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--json", default=None, help="write the figures here")
    ap.add_argument(
        "--library-process", action="store_true", help="no process set-up of the textrobust program (malloc)"
    )
    args = ap.parse_args()
    from textrobust.cli.process import tune_malloc

    malloc_tuned = False if args.library_process else tune_malloc()
    specs = args.perturb or ["delete:p=0.1", "synonym:p=0.2", "typo:p=0.1"]

    import torch

    import textrobust
    from textrobust.core.options import DataOptions, RunOptions
    from textrobust.core.random import draw_key, stream_prefix
    from textrobust.evaluation import text_perturbations
    from textrobust.text.data import text_examples
    from textrobust.text.model import text_classifier

    rows = DataOptions(limit=args.limit)
    data = text_examples(args.dataset, rows, args.seed)
    clf = text_classifier(args.model, dataset_label_names=data.label_names, device=args.device, dtype=args.dtype)
    model, tokenizer = clf.model, clf.tokenizer
    perturbations = text_perturbations(specs, args.synonyms)
    n, steps = len(data), args.max_steps
    out: dict = {
        "machine": machine(),
        "malloc_tuned": malloc_tuned,
        "n_examples": n,
        "max_steps": steps,
        "perturbations": specs,
    }

    # warm-up so that no measurement pays for lazy initialisation (the tagger and encoder included)
    clf(data.texts[:8])
    textrobust.evaluate(
        model, tokenizer, args.dataset, specs, max_steps=1, synonyms=args.synonyms, limit=2, progress=False
    )

    # the sentence encoder's passes, timed apart
    from textrobust.text.encoder import SentenceEncoder

    encoder_time = {"s": 0.0, "cpu": 0.0}
    encode = SentenceEncoder.__call__

    def timed_encode(self, texts):
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return encode(self, texts)
        finally:
            encoder_time["s"] += time.perf_counter() - start
            encoder_time["cpu"] += time.process_time() - cpu

    SentenceEncoder.__call__ = timed_encode

    # (a) our engine, recording every batch it sends to the model for (c)
    recorded: list[dict] = []
    forward = {"s": 0.0, "start": 0.0, "cpu": 0.0, "start_cpu": 0.0}

    def record(module, args_, kwargs):
        recorded.append({k: v.detach().clone() for k, v in kwargs.items() if isinstance(v, torch.Tensor)})
        forward["start"], forward["start_cpu"] = time.perf_counter(), time.process_time()

    def stop(module, args_, kwargs, output):
        forward["s"] += time.perf_counter() - forward["start"]
        forward["cpu"] += time.process_time() - forward["start_cpu"]

    hook = model.register_forward_pre_hook(record, with_kwargs=True)
    done_hook = model.register_forward_hook(stop, with_kwargs=True)
    run = RunOptions(batch_size=args.batch_size, device=args.device)
    with timer(out, "ours_s"):
        report = textrobust.evaluate(
            model,
            tokenizer,
            args.dataset,
            specs,
            max_steps=steps,
            seed=args.seed,
            synonyms=args.synonyms,
            data=rows,
            run=run,
        )
    hook.remove()
    done_hook.remove()
    out["ours_forward_s"], out["ours_forward_s_cpu"] = forward["s"], forward["cpu"]
    out["ours_encoder_s"], out["ours_encoder_s_cpu"] = encoder_time["s"], encoder_time["cpu"]
    ours_calls = sum(int(b["input_ids"].shape[0]) for b in recorded)
    assert ours_calls == report.model_calls

    # (b) the paper's procedure: every example at every step, batches in dataset order, no early exit
    with timer(out, "paper_s"):
        clean = []
        for i in range(0, n, args.paper_batch_size):
            clean.extend(clf(data.texts[i : i + args.paper_batch_size]).tolist())
        paper_flips = {p.spec.canonical: [None] * n for p in perturbations}
        for p in perturbations:
            prefixes = [stream_prefix(args.seed, i, p.spec.canonical) for i in data.ids]
            for k in range(1, steps + 1):
                for start in range(0, n, args.paper_batch_size):
                    idx = range(start, min(n, start + args.paper_batch_size))
                    texts = list(p.apply([data.texts[j] for j in idx], [draw_key(prefixes[j], k) for j in idx]))
                    for j, pred in zip(idx, clf(texts).tolist()):
                        if paper_flips[p.spec.canonical][j] is None and pred != data.labels[j]:
                            paper_flips[p.spec.canonical][j] = k
        for j in range(n):
            if clean[j] != data.labels[j]:
                for flips in paper_flips.values():
                    flips[j] = 0
    paper_calls = n + n * steps * len(perturbations)
    out["paper_encoder_s_cpu"] = encoder_time["cpu"] - out["ours_encoder_s_cpu"]

    # (c) the raw-forward floor: the same batches as (a), pre-tokenized, forward passes only
    with timer(out, "floor_s"):
        with torch.inference_mode():
            for batch in recorded:
                model(**batch)

    ours = {p.spec: p.rpr for p in report.perturbations}
    by_index = {r["index"]: r for r in report.records}
    agree = all(by_index[i]["first_flip"][s] == paper_flips[s][j] for s in ours for j, i in enumerate(data.ids))
    out.update(
        ours_calls=ours_calls,
        paper_calls=paper_calls,
        floor_calls=ours_calls,
        ours_examples_per_s=n / out["ours_s"],
        paper_examples_per_s=n / out["paper_s"],
        ratio_paper_over_ours=out["paper_s"] / out["ours_s"],
        ratio_ours_over_floor=out["ours_s"] / out["floor_s"],
        cpu_ratio_paper_over_ours=out["paper_s_cpu"] / out["ours_s_cpu"],
        cpu_ratio_ours_over_floor=out["ours_s_cpu"] / out["floor_s_cpu"],
        cpu_ratio_ours_without_encoder_over_floor=(out["ours_s_cpu"] - out["ours_encoder_s_cpu"]) / out["floor_s_cpu"],
        # (a)'s CPU time in three parts: its forward passes (the same batches as (c)), its encoder
        # passes, and the rest (host work per draw, and per run: loading, tagging, the report)
        cpu_ratio_ours_forward_over_floor=out["ours_forward_s_cpu"] / out["floor_s_cpu"],
        ours_rest_s_cpu=out["ours_s_cpu"] - out["ours_encoder_s_cpu"] - out["ours_forward_s_cpu"],
        robust_ratios={s: ours[s].robust.value for s in ours},
        first_flips_agree=agree,
    )
    print(f"machine: {out['machine']}")
    print(f"{n} examples x {len(specs)} perturbations, max_steps {steps}")
    print(f"{'':28}{'wall s':>10}{'CPU s':>10}{'examples/s':>12}{'model calls':>14}")
    for name, key, calls in [
        ("(a) textrobust engine", "ours", ours_calls),
        ("(b) paper procedure", "paper", paper_calls),
        ("(c) raw-forward floor", "floor", ours_calls),
    ]:
        print(f"{name:28}{out[key + '_s']:>10.1f}{out[key + '_s_cpu']:>10.1f}{n / out[key + '_s']:>12.2f}{calls:>14}")
    print(
        f"of (a)'s {out['ours_s']:.1f} s ({out['ours_s_cpu']:.1f} CPU s), {out['ours_forward_s']:.1f} s "
        f"({out['ours_forward_s_cpu']:.1f} CPU s) were model forward passes"
    )
    print(f"and {out['ours_encoder_s']:.1f} s ({out['ours_encoder_s_cpu']:.1f} CPU s) sentence-encoder passes")
    print(
        f"wall: b/a = {out['ratio_paper_over_ours']:.2f} (target >= 3)   a/c = {out['ratio_ours_over_floor']:.2f} (target <= 1.3)"
    )
    print(
        f"CPU:  b/a = {out['cpu_ratio_paper_over_ours']:.2f}                a/c = {out['cpu_ratio_ours_over_floor']:.2f}"
        f"   (a less its encoder passes)/c = {out['cpu_ratio_ours_without_encoder_over_floor']:.2f}"
    )
    print(
        f"(a)'s CPU s: forward {out['ours_forward_s_cpu']:.1f} ({out['cpu_ratio_ours_forward_over_floor']:.3f} of (c)), "
        f"encoder {out['ours_encoder_s_cpu']:.1f}, the rest {out['ours_rest_s_cpu']:.1f}"
    )
    print(f"every first_flip agrees between (a) and (b): {agree}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
