"""Benchmark ``textrobust certify`` (fast procedure) against CERT-ED's procedure in ONE run.

Both certify the same random SST-2 validation sentences with the same model, ``p_del`` and
``alpha`` through the same engine. The reference is CERT-ED's procedure: ``n0`` selection draws
plus ``n`` estimation draws per sentence, every draw tokenized and classified (no
deduplication). The fast procedure enumerates small strata exactly, deduplicates, and stops
sequentially (``textrobust.certification.job``). Measured: model calls and time per sentence (wall and
CPU seconds of this process; CPU time is less disturbed by other load on the machine) and
certified accuracy at every radius. The sentences are processed in chunks, alternating which
procedure goes first, so that a change of machine load hits both alike.

    HF_HUB_OFFLINE=1 nice -n 10 python scripts/bench_certify.py --limit 25

Targets (issue 3): >= 10x fewer model calls, >= 5x less time, certified accuracy at every radius
no worse than the reference's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, shared_dir  # noqa: E402

sys.path.insert(0, str(ROOT))
SHARED = shared_dir()


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHARED / "models" / "minilm-l6-sst2-del90"))
    p.add_argument("--dataset", default=str(SHARED / "data" / "sst2"))
    p.add_argument("--split", default="validation")
    p.add_argument("--limit", type=int, default=25, help="random sentences to certify")
    p.add_argument("--seed", type=int, default=0, help="picks the sentences and seeds the draws")
    p.add_argument("--p-del", type=float, default=0.9)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--n0", type=int, default=1000)
    p.add_argument("--n", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--chunk", type=int, default=5, help="sentences per alternation of the two procedures")
    p.add_argument("--output", default=None, help="write the measurements as JSON here")
    p.add_argument(
        "--records", default=None, help="keep each procedure's examples.jsonl per chunk under this directory"
    )
    return p.parse_args()


def main() -> None:
    args = parse_args()
    import numpy as np
    import torch

    from textrobust.certification.api import certify
    from textrobust.certification.theorem import radius_cap
    from textrobust.hf.data import load_split
    from textrobust.hf.modeling import resolve_device
    from textrobust.text.model import load_model

    model, tokenizer = load_model(args.model, resolve_device(None), torch.float32)
    split = load_split(args.dataset, None, args.split).dataset
    rows = sorted(
        np.random.default_rng(args.seed).choice(len(split), size=min(args.limit, len(split)), replace=False).tolist()
    )
    cap = radius_cap(args.p_del)
    totals = {
        p: {"calls": 0, "wall": 0.0, "cpu": 0.0, "k": np.zeros(cap + 1, dtype=int), "n": 0} for p in ("fast", "cert-ed")
    }
    for c, start in enumerate(range(0, len(rows), args.chunk)):
        chunk = split.select(rows[start : start + args.chunk])
        order = ("fast", "cert-ed") if c % 2 == 0 else ("cert-ed", "fast")
        for procedure in order:
            wall, cpu = time.perf_counter(), time.process_time()
            report = certify(
                model,
                tokenizer,
                chunk,
                args.p_del,
                n0=args.n0,
                n=args.n,
                alpha=args.alpha,
                procedure=procedure,
                batch_size=args.batch_size,
                seed=args.seed + c,
                output_dir=None if args.records is None else Path(args.records) / procedure / f"chunk{c}",
                overwrite=True,
            )
            t = totals[procedure]
            t["wall"] += time.perf_counter() - wall
            t["cpu"] += time.process_time() - cpu
            t["calls"] += report.model_calls
            t["k"] += np.array([report.certified[r].k for r in range(cap + 1)])
            t["n"] += report.n_examples
        done = min(start + args.chunk, len(rows))
        print(
            f"{done}/{len(rows)} sentences: "
            + ", ".join(
                f"{p} {t['calls'] / t['n']:.0f} calls/ex {t['wall'] / t['n']:.2f} s/ex" for p, t in totals.items()
            ),
            file=sys.stderr,
            flush=True,
        )

    n = len(rows)
    result = {
        "model": args.model,
        "dataset": args.dataset,
        "split": args.split,
        "sentences": n,
        "rows": rows,
        "seed": args.seed,
        "p_del": args.p_del,
        "alpha": args.alpha,
        "n0": args.n0,
        "n": args.n,
        "batch_size": args.batch_size,
        "machine": machine(),
    }
    for p, t in totals.items():
        result[p] = {
            "model_calls_per_example": t["calls"] / n,
            "wall_s_per_example": t["wall"] / n,
            "cpu_s_per_example": t["cpu"] / n,
            "certified_accuracy": {str(r): int(k) / n for r, k in enumerate(t["k"])},
        }
    fast, ref = result["fast"], result["cert-ed"]
    result["ratios"] = {
        "model_calls": ref["model_calls_per_example"] / fast["model_calls_per_example"],
        "wall_time": ref["wall_s_per_example"] / fast["wall_s_per_example"],
        "cpu_time": ref["cpu_s_per_example"] / fast["cpu_s_per_example"],
    }
    no_worse = [fast["certified_accuracy"][str(r)] >= ref["certified_accuracy"][str(r)] for r in range(cap + 1)]
    result["targets"] = {
        "calls >= 10x fewer": result["ratios"]["model_calls"] >= 10,
        "wall time >= 5x less": result["ratios"]["wall_time"] >= 5,
        "certified accuracy no worse at every radius": all(no_worse),
    }
    radii = " | ".join(f"r>={r}" for r in range(cap + 1))
    print(
        f"\nSST-2 {args.split}, {n} random sentences (seed {args.seed}), p_del {args.p_del}, alpha {args.alpha}, n0 {args.n0}, n {args.n}; {machine()}\n"
    )
    print(f"| procedure | model calls / sentence | wall s / sentence | CPU s / sentence | {radii} |")
    print("|---|---:|---:|---:|" + "---:|" * (cap + 1))
    for name, key in (("CERT-ED (reference)", "cert-ed"), ("textrobust certify", "fast")):
        r = result[key]
        accs = " | ".join(f"{r['certified_accuracy'][str(k)]:.2f}" for k in range(cap + 1))
        print(
            f"| {name} | {r['model_calls_per_example']:.0f} | {r['wall_s_per_example']:.2f} | {r['cpu_s_per_example']:.2f} | {accs} |"
        )
    ratios = result["ratios"]
    print(
        f"\nratios (reference / fast): model calls {ratios['model_calls']:.1f}x, wall time {ratios['wall_time']:.1f}x, CPU time {ratios['cpu_time']:.1f}x"
    )
    for target, ok in result["targets"].items():
        print(f"  {'met' if ok else 'NOT met'}: {target}")
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
