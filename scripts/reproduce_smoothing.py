"""Reproduce the qualitative findings of Gaussian and denoised smoothing (docs/smoothing.md).

For each sigma: certify (a) the clean-trained classifier alone, (b) the same classifier with the
denoiser trained at that sigma in front, (c) the classifier trained with Gaussian noise of that
sigma, on the same test images of ``--dataset`` (mnist or cifar10; the name used in the report) with the same seed (so the same noise draws), with ``vision.certify``
(the fast procedure unless ``--procedure cohen``). Each run's files go to ``--output/sigma-<s>/<a|b|c>``
(resumable); ``--output/report.json`` and ``report.md`` collect certified accuracy at each radius with
95% Clopper-Pearson intervals and paired comparisons (Tango 95% intervals of the differences on the
same images) for (b) - (a) and (c) - (b). Models come from scripts/train_smoothing_models.py.

    PYTHONPATH=$PWD python scripts/reproduce_smoothing.py --models vision/results/smoothing/models \\
        --data ../shared/data/mnist/idx --output vision/results/smoothing --limit 500 --n 2000
    PYTHONPATH=$PWD python scripts/reproduce_smoothing.py --dataset cifar10 \\
        --models vision/results/smoothing/cifar10/models --data ../shared/data/cifar10 \\
        --output vision/results/smoothing/cifar10 --limit 500 --n 10000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

RADII = (0.0, 0.25, 0.5, 0.75, 1.0)
DATASET_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
CONFIGS = {
    "a": ("clean classifier", "clean", None),
    "b": ("clean classifier + denoiser", "clean", "denoiser-{s:g}"),
    "c": ("noise-trained classifier", "noise-{s:g}", None),
}


def _certified(r: dict, radius: float) -> bool:
    return r["prediction"] is not None and r["prediction"] == r["label"] and r["radius"] >= radius


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", choices=sorted(DATASET_NAMES), help="which dataset --data is")
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.25, 0.5])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--procedure", default="fast")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    import vision
    from textrobust.core.outputs import fmt_rate, fmt_signed
    from textrobust.core.stats import paired_delta
    from vision.smoothing.report import plot_curves

    torch.set_num_threads(1)
    dataset = DATASET_NAMES[args.dataset]
    summary: dict = {
        "dataset": dataset,
        "data": args.data,
        "split": "test",
        "images": f"the first {args.limit} test images",
        "procedure": args.procedure,
        "alpha": args.alpha,
        "n0": args.n0,
        "n": args.n,
        "seed": args.seed,
        "radii": list(RADII),
        "runs": {},
        "paired": {},
        "command": "PYTHONPATH=$PWD python scripts/reproduce_smoothing.py "
        + " ".join(sys.argv[1:] if argv is None else argv),
    }
    md = [
        f"# Gaussian and denoised smoothing on {dataset} (reproduction)",
        "",
        (
            f"{args.limit} {dataset} test images, procedure `{args.procedure}` (n0 = {args.n0}, n = {args.n}, alpha = {args.alpha:g}), "
            f"seed {args.seed}. Certified accuracy at L2 radius r (pixel scale [0, 1]) with 95% Clopper-Pearson intervals."
        ),
        "",
    ]
    for sigma in args.sigmas:
        key = f"{sigma:g}"
        summary["runs"][key], records, curves = {}, {}, {}
        for name in args.configs:
            title, model, denoiser = CONFIGS[name]
            out = args.output / f"sigma-{key}" / name
            started = time.perf_counter()
            resume = (out / "run.json").is_file()
            report = vision.certify(
                args.models / model.format(s=sigma),
                args.data,
                sigma,
                alpha=args.alpha,
                n0=args.n0,
                n=args.n,
                procedure=args.procedure,
                denoiser=args.models / denoiser.format(s=sigma) if denoiser else None,
                radii=RADII,
                limit=args.limit,
                seed=args.seed,
                output_dir=out,
                resume=resume,
            )
            j = report.to_json()
            print(
                f"sigma {key} ({name}) {title}: {j['certified_accuracy']} in {time.perf_counter() - started:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            summary["runs"][key][name] = {
                "what": title,
                "model": str(args.models / model.format(s=sigma)),
                "denoiser": str(args.models / denoiser.format(s=sigma)) if denoiser else None,
                **{
                    k: j[k]
                    for k in (
                        "clean_accuracy",
                        "clean_accuracy_ci95",
                        "abstain_rate",
                        "certified_accuracy",
                        "certified_accuracy_ci95",
                        "certified_count",
                        "model_calls_per_example",
                        "seconds",
                    )
                },
            }
            records[name] = [json.loads(line) for line in (out / "examples.jsonl").read_text().splitlines()]
            curves[f"({name}) {title}"] = report.certified
        plot_curves(
            curves,
            args.output / f"sigma-{key}" / "certified_accuracy.png",
            title=f"{dataset}, sigma = {key} (n = {args.limit})",
        )
        md += [
            f"## sigma = {key}",
            "",
            "| model | clean acc. | " + " | ".join(f"r = {r:g}" for r in RADII) + " | calls/image |",
            "|---" * (len(RADII) + 3) + "|",
        ]
        for name, run in summary["runs"][key].items():
            cells = [
                fmt_rate(run["certified_accuracy"][f"{r:g}"], run["certified_accuracy_ci95"][f"{r:g}"], 2)
                for r in RADII
            ]
            md.append(
                f"| ({name}) {run['what']} | {run['clean_accuracy']:.2f} | "
                + " | ".join(cells)
                + f" | {run['model_calls_per_example']:.0f} |"
            )
        md.append("")
        summary["paired"][key] = {}
        for first, second in (("b", "a"), ("c", "b"), ("c", "a")):
            if first not in records or second not in records:
                continue
            pair = {}
            for r in RADII:
                d = paired_delta(
                    [_certified(x, r) for x in records[first]], [_certified(x, r) for x in records[second]]
                )
                pair[f"{r:g}"] = {
                    "delta": d.value,
                    "tango_ci95": list(d.ci) if d.ci else None,
                    "only_first": d.only_first,
                    "only_second": d.only_second,
                }
            summary["paired"][key][f"{first}-{second}"] = pair
            md.append(
                f"({first}) - ({second}): "
                + ", ".join(f"r = {r}: {fmt_signed(v['delta'], v['tango_ci95'], 2)}" for r, v in pair.items())
            )
        md.append("")
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "report.json").write_text(json.dumps(summary, indent=2) + "\n")
    (args.output / "report.md").write_text("\n".join(md) + "\n")
    (args.output / "command.txt").write_text(summary["command"] + "\n")
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
