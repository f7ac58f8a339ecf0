"""Figures for reports (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from textrobust.core.stats import Rate


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def plot_survival(
    curves: Mapping[str, Sequence[float]], path: str | Path, *, title: str = "", n: int | None = None
) -> Path:
    """Fraction of examples not yet flipped after each draw, one line per curve
    (the RPR paper's Figures 3 and 5)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, curve in curves.items():
        ax.plot(range(1, len(curve) + 1), curve, label=f"{name} (final {curve[-1]:.3f})" if len(curve) else name)
    ax.set_xlabel("perturbation draws (max_steps)")
    ax.set_ylabel("fraction still robust")
    return _finish(plt, fig, ax, path, title + (f" (n = {n})" if n else ""))


def _finish(plt, fig, ax, path: str | Path, title: str, legend: bool = True) -> Path:
    """Shared styling of a rate-against-something plot (y in [0, 1]); save and close it."""
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(title)
    if legend:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)


def plot_certified_accuracy(curves: Mapping[str, Mapping[int, Rate]], path: str | Path, *, title: str = "") -> Path:
    """Certified accuracy (fraction certified correct with radius >= r) against the radius r,
    a step curve with 95% intervals per entry of ``curves``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, rates in curves.items():
        radii = list(rates)
        values = [rates[r].value or 0.0 for r in radii]
        lows = [v - (rates[r].ci or (v, v))[0] for r, v in zip(radii, values)]
        highs = [(rates[r].ci or (v, v))[1] - v for r, v in zip(radii, values)]
        ax.errorbar(radii, values, yerr=[lows, highs], drawstyle="steps-post", capsize=2, marker="o", label=name)
    ax.set_xlabel("Levenshtein radius r (edits)")
    ax.set_ylabel("certified accuracy (radius >= r)")
    return _finish(plt, fig, ax, path, title, legend=bool(curves))


def plot_per_class(
    groups: Mapping[str, Mapping[str, Rate]], path: str | Path, *, title: str = "", ylabel: str = "robust ratio"
) -> Path:
    """Grouped bars of a rate per class with 95% intervals (the RPR paper's Figure 4)."""
    import numpy as np

    plt = _pyplot()
    classes = list(dict.fromkeys(c for rates in groups.values() for c in rates))
    width = 0.8 / max(1, len(groups))
    fig, ax = plt.subplots(figsize=(max(6.4, 0.6 * len(classes) * max(1, len(groups))), 4.2))
    x = np.arange(len(classes))
    for i, (name, rates) in enumerate(groups.items()):
        values = [rates[c].value or 0.0 if c in rates else 0.0 for c in classes]
        lows = [v - rates[c].ci[0] if c in rates and rates[c].ci else 0.0 for c, v in zip(classes, values)]
        highs = [rates[c].ci[1] - v if c in rates and rates[c].ci else 0.0 for c, v in zip(classes, values)]
        ax.bar(x + i * width - 0.4 + width / 2, values, width, yerr=[lows, highs], capsize=2, label=name)
    ax.set_xticks(x, classes, rotation=30 if len(classes) > 6 else 0)
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1)
    ax.set_title(title)
    if len(groups) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
