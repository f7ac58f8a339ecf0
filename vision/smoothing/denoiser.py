"""A small DnCNN-style Gaussian denoiser for denoised smoothing (Salman et al., NeurIPS 2020).

:class:`Denoiser` is DnCNN (Zhang et al., 2017) shrunk for two CPU cores: Conv(C -> w, 3x3)-ReLU,
``depth - 2`` times Conv(w -> w, 3x3)-BN-ReLU, Conv(w -> C, 3x3); it predicts the noise and
returns ``x - noise`` (residual learning). :func:`train_denoiser` fits it with the mean squared
error between ``D(x + N(0, sigma^2 I))`` and ``x`` on [0, 1] images (Salman et al.'s "MSE"
objective; their stability objective needs the classifier and is not implemented).
:func:`save_denoiser` / :func:`load_denoiser` store it like the classifiers
(:func:`vision.models.save_model`): ``denoiser.json`` + ``model.safetensors``.

Putting a denoiser in front of a classifier gives a new base classifier ``f(D(.))``; the Gaussian
smoothing theorem holds for any base classifier, so the certificate is unchanged in kind.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from textrobust.core.progress import progress_bar
from textrobust.errors import UserError
from vision.data import images_to_float
from vision.training import add_noise, split_validation

META_FILE = "denoiser.json"
WEIGHTS_FILE = "model.safetensors"
ARCHITECTURE = "dncnn"


class Denoiser(nn.Module):
    """DnCNN-style residual denoiser: ``x - net(x)``, images in [0, 1] (noisy) in and out."""

    architecture = ARCHITECTURE

    def __init__(self, channels: int = 1, width: int = 16, depth: int = 4) -> None:
        super().__init__()
        if depth < 2:
            raise ValueError("a DnCNN needs depth >= 2")
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
        layers.append(nn.Conv2d(width, channels, 3, padding=1))
        self.net = nn.Sequential(*layers)
        self.channels, self.width, self.depth = channels, width, depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous(memory_format=torch.channels_last)
        return x - self.net(x)


@dataclass(frozen=True)
class DenoiserRecipe:
    """How to train a denoiser: Adam, MSE on noisy/clean pairs, best validation epoch kept."""

    sigma: float
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    width: int = 16
    depth: int = 5
    val_fraction: float = 0.1


def _val_mse(model: Denoiser, images: torch.Tensor, sigma: float, batch: int = 512) -> float:
    fixed = torch.Generator().manual_seed(12345)
    total = 0.0
    model.eval()
    with torch.inference_mode():
        for start in range(0, len(images), batch):
            x = images_to_float(images[start : start + batch])
            total += float(((model(add_noise(x, sigma, fixed)) - x) ** 2).mean(dim=(1, 2, 3)).sum())
    return total / max(1, len(images))


def train_denoiser(
    images: torch.Tensor,
    recipe: DenoiserRecipe,
    *,
    seed: int = 0,
    progress: bool = False,
    log: Callable[[str], None] | None = None,
) -> tuple[Denoiser, dict]:
    """Train a :class:`Denoiser` on uint8 ``images`` ``(N, C, H, W)``; returns (model in eval
    mode, history). Deterministic for a seed on one machine and thread count."""
    started = time.perf_counter()
    train_pos, val_pos = split_validation([0] * len(images), recipe.val_fraction, seed)
    x_train, x_val = images[torch.from_numpy(train_pos)], images[torch.from_numpy(val_pos)]
    torch.manual_seed(seed)
    model = Denoiser(images.shape[1], recipe.width, recipe.depth).to(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    order_gen, noise_gen = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    steps = math.ceil(len(x_train) / recipe.batch_size)
    history: list[dict] = []
    best = (math.inf, 0, None)
    with progress_bar(
        recipe.epochs * steps, f"denoiser sigma={recipe.sigma:g}", enabled=progress, unit="batch"
    ) as advance:
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            order = torch.randperm(len(x_train), generator=order_gen)
            running = 0.0
            for start in range(0, len(order), recipe.batch_size):
                x = images_to_float(x_train[order[start : start + recipe.batch_size]])
                loss = nn.functional.mse_loss(model(add_noise(x, recipe.sigma, noise_gen)), x)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                running += float(loss.detach()) * len(x)
                advance(1)
            val = _val_mse(model, x_val, recipe.sigma)
            history.append({"epoch": epoch, "train_mse": running / len(x_train), "val_mse": val})
            if log is not None:
                log(
                    f"denoiser sigma={recipe.sigma:g}: epoch {epoch}: train mse {running / len(x_train):.5f}, val mse {val:.5f}"
                )
            if val < best[0]:
                best = (val, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()})
    model.load_state_dict(best[2])
    model.eval()
    noisy_mse = recipe.sigma**2  # MSE of the noisy input itself (unclipped noise)
    return model, {
        "history": history,
        "best_epoch": best[1],
        "val_mse": best[0],
        "noisy_input_mse": noisy_mse,
        "n_train": len(x_train),
        "n_val": len(x_val),
        "seconds": time.perf_counter() - started,
    }


def save_denoiser(
    model: Denoiser,
    directory: str | os.PathLike,
    *,
    sigma: float,
    image_shape: Sequence[int],
    extra: dict | None = None,
) -> Path:
    """Save as ``denoiser.json`` + ``model.safetensors`` (the layout of :func:`vision.models.save_model`)."""
    from safetensors.torch import save_file

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "architecture": ARCHITECTURE,
        "channels": model.channels,
        "width": model.width,
        "depth": model.depth,
        "sigma": sigma,
        "image_shape": list(image_shape),
        **(extra or {}),
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(out / WEIGHTS_FILE))
    return out


def load_denoiser(directory: str | os.PathLike) -> tuple[Denoiser, dict]:
    """(denoiser in eval mode, metadata) from a :func:`save_denoiser` directory; a
    :class:`~textrobust.errors.UserError` (one line) when it is not one."""
    from vision.models import load_saved_module

    d = Path(os.path.expanduser(str(directory)))
    if not (d / META_FILE).is_file():
        raise UserError(f"--denoiser {str(directory)!r} is not a saved denoiser (no {META_FILE})")

    def build(meta: dict) -> Denoiser:
        if meta.get("architecture") != ARCHITECTURE:
            raise ValueError(f"unknown denoiser architecture {meta.get('architecture')!r}")
        return Denoiser(int(meta["channels"]), int(meta["width"]), int(meta["depth"]))

    return load_saved_module(d, "denoiser", META_FILE, build)
