"""Train the models of the randomized-smoothing reproduction (docs/smoothing.md).

Into ``--output``: ``clean/`` (the project's CNN, the paper recipe, no noise), ``noise-<sigma>/``
(the same CNN with Gaussian augmentation, ``--train-noise``) and ``denoiser-<sigma>/`` (a DnCNN-style
denoiser, MSE on noisy/clean pairs), all on the same seeded subset of the training split.
Classifiers are saved by :func:`vision.models.save_model`, denoisers by
:func:`vision.smoothing.denoiser.save_denoiser`; existing ones are kept (delete them to retrain).

    PYTHONPATH=$PWD python scripts/train_smoothing_models.py --data ../shared/data/mnist/idx \\
        --output vision/results/smoothing/models --train-images 20000 --epochs 5 --train-noise 0.25 0.5
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from vision.data import load_image_examples
from vision.models import save_model
from vision.smoothing.denoiser import DenoiserRecipe, save_denoiser, train_denoiser
from vision.training import Recipe, train_model

ARCHITECTURE = {"mnist": "paper-mnist-cnn", "cifar10": "small-cifar-cnn"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist", choices=sorted(ARCHITECTURE))
    parser.add_argument("--data", required=True, help="local dataset directory (e.g. ../shared/data/mnist/idx)")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--train-images", type=int, default=20000, help="seeded random subset of the training split")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--denoiser-epochs", type=int, default=3)
    parser.add_argument(
        "--train-noise",
        type=float,
        nargs="*",
        default=[0.25, 0.5],
        help="sigmas for noise-trained classifiers and denoisers",
    )
    parser.add_argument("--skip", nargs="*", default=[], choices=["clean", "noise", "denoiser"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    log = lambda m: print(m, file=sys.stderr, flush=True)
    data = load_image_examples(args.data, split="train", limit=args.train_images, shuffle=True, seed=args.seed)
    num_classes = max(data.labels) + 1
    subset = {
        "dataset": args.dataset,
        "data": str(args.data),
        "split": data.split,
        "train_images": len(data),
        "shuffle_seed": args.seed,
    }
    args.output.mkdir(parents=True, exist_ok=True)
    jobs: list[tuple[str, str, float]] = []
    if "clean" not in args.skip:
        jobs.append(("clean", "classifier", 0.0))
    for sigma in args.train_noise:
        if "noise" not in args.skip:
            jobs.append((f"noise-{sigma:g}", "classifier", sigma))
        if "denoiser" not in args.skip:
            jobs.append((f"denoiser-{sigma:g}", "denoiser", sigma))
    for name, kind, sigma in jobs:
        out = args.output / name
        if (out / "model.safetensors").is_file():
            log(f"{name}: exists, kept")
            continue
        started = time.perf_counter()
        if kind == "classifier":
            recipe = Recipe(epochs=args.epochs, noise=sigma)
            result = train_model(
                ARCHITECTURE[args.dataset],
                data.images,
                data.labels,
                num_classes=num_classes,
                recipe=recipe,
                seed=args.seed,
                description=name,
                log=log,
            )
            extra = {"training": {**subset, "recipe": recipe.__dict__, **result.to_json()}}
            save_model(result.model, out, label_names=data.label_names, image_shape=data.shape, extra=extra)
        else:
            d_recipe = DenoiserRecipe(sigma=sigma, epochs=args.denoiser_epochs)
            model, info = train_denoiser(data.images, d_recipe, seed=args.seed, log=log)
            save_denoiser(
                model,
                out,
                sigma=sigma,
                image_shape=data.shape,
                extra={"training": {**subset, "recipe": d_recipe.__dict__, **info}},
            )
        log(f"{name}: trained in {time.perf_counter() - started:.0f} s")
    (args.output / "command.txt").write_text(
        "PYTHONPATH=$PWD python scripts/train_smoothing_models.py " + " ".join(sys.argv[1:]) + "\n"
    )
    print(json.dumps({"output": str(args.output), "models": [j[0] for j in jobs]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
