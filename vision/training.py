"""Training the reproduction's CNNs with the paper's recipe.

Adam (lr 1e-3, Keras' epsilon 1e-7), batch 128, up to 30 epochs, cross-entropy plus Keras'
L2 kernel regulariser (``l2 * sum(w^2)`` over every conv and dense kernel; biases and
BatchNorm are not regularised), early stopping on the validation loss (a seeded 10% of the
training images held out). The paper does not give the patience; we stop after 5 epochs
without improvement (the validation loss of the paper's tiny CNN is noisy) and keep the best
epoch's weights.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from textrobust.core.jsonable import attributes
from textrobust.core.progress import progress_bar
from vision.data import images_to_float
from vision.models import new_model


@dataclass(frozen=True)
class Recipe:
    """How to train (defaults: the paper's)."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 1e-3
    l2: float = 5e-4
    val_fraction: float = 0.1
    patience: int = 5
    noise: float = 0.0  # Gaussian augmentation: std of N(0, noise^2) added to [0, 1] images (0: none)


@dataclass
class TrainResult:
    """A trained model (best validation epoch, eval mode) and how training went."""

    model: nn.Module
    epochs_run: int
    best_epoch: int
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    n_train: int = 0
    n_val: int = 0

    def to_json(self) -> dict:
        return attributes(self, "epochs_run", "best_epoch", "n_train", "n_val", "seconds", "history")


def l2_penalty(model: nn.Module, l2: float) -> torch.Tensor:
    """Keras' ``regularizers.l2(l2)`` summed over the conv and dense kernels."""
    return l2 * sum((m.weight**2).sum() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, l2: float) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(x)
    return nn.functional.cross_entropy(logits, y) + l2_penalty(model, l2), logits


def _evaluate(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, l2: float, batch: int = 1024, noise: float = 0.0
) -> tuple[float, float]:
    """(mean loss incl. the L2 term, accuracy) on uint8 images, as Keras' val_loss (with
    ``noise``: on the images plus fixed, seeded Gaussian noise, the same at every epoch)."""
    model.eval()
    total, right = 0.0, 0
    fixed = torch.Generator().manual_seed(12345)
    with torch.inference_mode():
        for start in range(0, len(labels), batch):
            x = add_noise(images_to_float(images[start : start + batch]), noise, fixed)
            y = labels[start : start + batch]
            logits = model(x)
            total += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
            right += int((logits.argmax(-1) == y).sum())
        penalty = float(l2_penalty(model, l2))
    n = max(1, len(labels))
    return total / n + penalty, right / n


def add_noise(x: torch.Tensor, sigma: float, generator: torch.Generator) -> torch.Tensor:
    """``x + N(0, sigma^2 I)`` (unclipped, as randomized smoothing draws it); ``x`` when ``sigma`` is 0."""
    if sigma <= 0:
        return x
    return x + sigma * torch.randn(x.shape, generator=generator, dtype=x.dtype)


def split_validation(labels: Sequence[int], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train positions, validation positions): a seeded random ``fraction`` held out."""
    n = len(labels)
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(fraction * n)) if n > 1 else 0
    n_val = min(max(n_val, 1 if fraction > 0 and n > 1 else 0), n - 1)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def train_model(
    architecture: str,
    images: torch.Tensor,
    labels: Sequence[int],
    *,
    num_classes: int,
    recipe: Recipe = Recipe(),
    seed: int = 0,
    progress: bool = False,
    description: str = "train",
    log: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train ``architecture`` on uint8 ``images`` ``(N, C, H, W)``; see the module docstring.

    Deterministic for a seed on one machine and thread count (initialisation, validation
    split, batch order and dropout all come from seeded generators)."""
    started = time.perf_counter()
    y_all = torch.as_tensor(list(labels), dtype=torch.long)
    train_pos, val_pos = split_validation(labels, recipe.val_fraction, seed)
    x_train, y_train = images[torch.from_numpy(train_pos)], y_all[torch.from_numpy(train_pos)]
    x_val, y_val = images[torch.from_numpy(val_pos)], y_all[torch.from_numpy(val_pos)]
    model = new_model(architecture, images.shape[1], num_classes, images.shape[2:], seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=recipe.lr, eps=1e-7)
    generator = torch.Generator().manual_seed(seed)
    noise_generator = torch.Generator().manual_seed(
        seed + 1
    )  # its own stream: batch order and dropout as without noise
    steps = math.ceil(len(y_train) / recipe.batch_size)
    best = (math.inf, 0, None)
    history: list[dict] = []
    waited = 0
    epoch = 0
    with progress_bar(recipe.epochs * steps, description, enabled=progress, unit="batch") as advance:
        for epoch in range(1, recipe.epochs + 1):
            model.train()
            order = torch.randperm(len(y_train), generator=generator)
            running = 0.0
            for start in range(0, len(order), recipe.batch_size):
                index = order[start : start + recipe.batch_size]
                x = add_noise(images_to_float(x_train[index]), recipe.noise, noise_generator)
                loss, _ = _loss(model, x, y_train[index], recipe.l2)
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
                running += float(loss.detach()) * len(index)
                advance(1)
            val_loss, val_acc = (
                _evaluate(model, x_val, y_val, recipe.l2, noise=recipe.noise)
                if len(y_val)
                else (float("nan"), float("nan"))
            )
            history.append(
                {"epoch": epoch, "train_loss": running / len(y_train), "val_loss": val_loss, "val_accuracy": val_acc}
            )
            if log is not None:
                log(
                    f"{description}: epoch {epoch}: train loss {running / len(y_train):.4f}, val loss {val_loss:.4f}, val accuracy {val_acc:.4f}"
                )
            if not len(y_val) or val_loss < best[0]:
                best, waited = (val_loss, epoch, {k: v.detach().clone() for k, v in model.state_dict().items()}), 0
            else:
                waited += 1
                if waited >= recipe.patience:
                    advance((recipe.epochs - epoch) * steps)
                    break
    if best[2] is not None:
        model.load_state_dict(best[2])
    model.eval()
    return TrainResult(model, epoch, best[1], history, time.perf_counter() - started, len(y_train), len(y_val))
