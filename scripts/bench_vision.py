"""Benchmark: RPR of the paper's MNIST CNN on the 10,000 test images, 250 steps, under the
paper's perturbation (28 pixels) -- our engine against the paper's procedure, in ONE run.

* ours: ``vision.evaluation.image_rpr_plan`` run by the shared driver (the shared engine: batched torch perturbations seeded
  per draw, continuous batching with early exit, batches of 256);
* paper: the authors' procedure (``noise.py`` + ``check_noise_robustness_multiple_rounds``):
  at every one of the 250 steps EVERY image is perturbed -- numpy, image by image, with the
  authors' per-pixel loop -- and classified in batches of 50, no early exit;
* paper, vectorised numpy: the same, but each image's 28 pixels drawn in one numpy call
  (a stronger baseline than the authors' code).

The baselines cost about the same per image and step whatever the image, so they run on a
random subset (``--baseline-images``) and are extrapolated per image to 10,000, clearly
labelled. Both wall-clock and CPU seconds are reported: the machine may be shared.

    python scripts/bench_vision.py --model vision/results/mnist/models/M --data ../shared/data/mnist
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def authors_cells(image: np.ndarray, cell_count: int) -> np.ndarray:
    """The authors' ``noisy(image, "cells")``: a copy with ``cell_count`` random pixels set
    (every channel) to ``np.random.randint(255)``, one pixel at a time."""
    noisy = np.copy(image)
    row, col, ch = image.shape
    for _ in range(cell_count):
        x = np.random.randint(row)
        y = np.random.randint(col)
        for c in range(ch):
            noisy[x][y][c] = np.random.randint(255)
    return noisy


def vectorised_cells(image: np.ndarray, cell_count: int, rng: np.random.Generator) -> np.ndarray:
    """The same perturbation with the image's draws in single numpy calls."""
    noisy = np.copy(image)
    row, col, ch = image.shape
    xs, ys = rng.integers(row, size=cell_count), rng.integers(col, size=cell_count)
    noisy[xs, ys, :] = rng.integers(255, size=(cell_count, ch))
    return noisy


def paper_procedure(classifier, images: np.ndarray, labels: np.ndarray, steps: int, perturb) -> tuple[np.ndarray, int]:
    """Every image perturbed and classified at every step (batches of 50); returns which
    images stayed robust and how many images the model saw."""
    import torch

    agreements = np.ones(len(images), dtype=bool)
    calls = 0
    for _ in range(steps):
        noisy = [perturb(img) for img in images]  # image by image, as the authors
        predictions = []
        for start in range(0, len(noisy), 50):
            batch = torch.from_numpy(np.stack(noisy[start : start + 50]).astype(np.float32) / 255.0).permute(0, 3, 1, 2)
            predictions.append(classifier.label_map[classifier.logits(batch).argmax(-1).numpy()])
            calls += len(batch)
        agreements &= np.concatenate(predictions) == labels
    return agreements, calls


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="vision/results/mnist/models/M", help="a saved paper CNN (vision model directory)"
    )
    parser.add_argument("--data", default="../shared/data/mnist", help="MNIST directory (parquet twin or IDX)")
    parser.add_argument("--max-steps", type=int, default=250)
    parser.add_argument("--limit", type=int, default=None, help="test images for OUR engine (default: all 10,000)")
    parser.add_argument("--baseline-images", type=int, default=200, help="random test images the baselines run on")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="write the figures as JSON here")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from textrobust.core.perturbation import build
    from vision.data import load_image_examples
    from textrobust.core.driver import execute
    from textrobust.core.options import RunOptions
    from vision.evaluation import image_rpr_plan
    from vision.models import image_classifier
    from vision.ops import auto_k

    test = load_image_examples(args.data, split="test", limit=args.limit)
    clf = image_classifier(
        args.model,
        image_shape=test.shape,
        dataset_label_names=test.label_names,
        dataset_labels=test.labels,
        device="cpu",
    )
    k = auto_k(*test.shape[1:])
    pixels = build(f"pixels:k={k}", "image")
    n, steps = len(test), args.max_steps

    plan = image_rpr_plan(
        {}, clf, test, [pixels], max_steps=steps, seed=args.seed, batch_size=args.batch_size, encode=None
    )
    ours, wall, cpu = timed(
        lambda: execute(lambda group: plan, lambda result: result, RunOptions(batch_size=args.batch_size))
    )
    robust_ours = np.array([r["first_flip"][pixels.spec.canonical] is None for r in ours.records])
    rows = [
        {
            "method": "ours (engine)",
            "images": n,
            "model_calls": ours.stats.model_calls,
            "wall_s": wall,
            "cpu_s": cpu,
            "wall_s_per_10k": wall * 10000 / n,
            "cpu_s_per_10k": cpu * 10000 / n,
            "measured_on": n,
            "robust_ratio": float(robust_ours.mean()),
        }
    ]

    # where our time goes: the model's forward pass alone (the floor) and the batched perturbation alone
    sample = torch.stack([test.image(i) for i in range(min(n, 2048))])
    keys = list(range(1, args.batch_size + 1))

    batches = [sample[torch.arange(b * args.batch_size, (b + 1) * args.batch_size) % len(sample)] for b in range(40)]

    def forward_only() -> None:
        for batch in batches:
            clf.logits(batch)

    def perturb_only() -> None:
        for batch in batches:
            pixels.apply(list(batch), keys)

    _, fwd_wall, fwd_cpu = timed(forward_only)
    _, pert_wall, pert_cpu = timed(perturb_only)
    per = 40 * args.batch_size
    breakdown = {
        "ours_cpu_us_per_call": cpu / ours.stats.model_calls * 1e6,
        "forward_cpu_us_per_image": fwd_cpu / per * 1e6,
        "perturbation_cpu_us_per_image": pert_cpu / per * 1e6,
    }

    rng = np.random.default_rng(args.seed)
    subset = np.sort(rng.choice(n, size=min(args.baseline_images, n), replace=False))
    hwc = (
        test.images[torch.from_numpy(subset)].permute(0, 2, 3, 1).numpy().astype(np.float32)
    )  # the authors' layout, 0..255
    labels = np.asarray(test.labels)[subset]
    np.random.seed(args.seed)
    vec_rng = np.random.default_rng(args.seed)
    for name, perturb in (
        ("paper: authors' per-pixel numpy loop, batches of 50", lambda img: authors_cells(img, k)),
        ("paper: numpy vectorised per image, batches of 50", lambda img: vectorised_cells(img, k, vec_rng)),
    ):
        (robust, calls), wall, cpu = timed(lambda: paper_procedure(clf, hwc, labels, steps, perturb))
        rows.append(
            {
                "method": name,
                "images": len(subset),
                "model_calls": calls,
                "wall_s": wall,
                "cpu_s": cpu,
                "wall_s_per_10k": wall * 10000 / len(subset),
                "cpu_s_per_10k": cpu * 10000 / len(subset),
                "measured_on": len(subset),
                "extrapolated": True,
                "robust_ratio": float(robust.mean()),
                "ours_robust_ratio_same_images": float(robust_ours[subset].mean()),
            }
        )
    base = rows[0]
    for row in rows:
        row["speedup_wall"] = row["wall_s_per_10k"] / base["wall_s_per_10k"]
        row["speedup_cpu"] = row["cpu_s_per_10k"] / base["cpu_s_per_10k"]
    print(f"RPR of {args.model} on MNIST test, pixels:k={k}, {steps} steps, {args.threads} torch thread(s)")
    print(
        f"{'method':66s} {'images':>7s} {'model calls':>12s} {'wall s/10k':>11s} {'CPU s/10k':>10s} {'x wall':>7s} {'x CPU':>7s} {'robust':>7s}"
    )
    for row in rows:
        label = row["method"] + (f" [{row['measured_on']} images, extrapolated]" if row.get("extrapolated") else "")
        print(
            f"{label:66s} {row['images']:7d} {row['model_calls']:12d} {row['wall_s_per_10k']:11.1f} {row['cpu_s_per_10k']:10.1f} "
            f"{row['speedup_wall']:7.1f} {row['speedup_cpu']:7.1f} {row['robust_ratio']:7.4f}"
        )
    print(
        f"ours: {breakdown['ours_cpu_us_per_call']:.1f} CPU us per model call, of which the forward pass "
        f"{breakdown['forward_cpu_us_per_image']:.1f} and the batched perturbation {breakdown['perturbation_cpu_us_per_image']:.1f}"
    )
    result = {
        "model": args.model,
        "perturbation": pixels.spec.canonical,
        "max_steps": steps,
        "threads": args.threads,
        "rows": rows,
        "breakdown": breakdown,
    }
    if args.output:
        Path(args.output).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
