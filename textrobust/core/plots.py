"""Figures for reports (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from textrobust.core.stats import Rate, rate

# Okabe & Ito's colour-blind-safe palette (black left out: it is the reference-line colour)
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams["axes.prop_cycle"] = matplotlib.cycler(color=PALETTE)
    return plt


def plot_survival(
    curves: Mapping[str, Sequence[float]],
    path: str | Path,
    *,
    title: str = "",
    n: int | None = None,
    clean: float | Mapping[str, float] | None = None,
) -> Path:
    """Fraction of examples not yet flipped after each draw, one line per curve
    (the RPR paper's Figures 3 and 5); see :func:`draw_survival`."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    draw_survival(ax, curves, n=n, clean=clean)
    return _finish(plt, fig, ax, path, title + (f" (n = {n})" if n else ""))


def draw_survival(
    ax: Any,
    curves: Mapping[str, Sequence[float]],
    *,
    n: int | None = None,
    clean: float | Mapping[str, float] | None = None,
    label: str = "{name} (final {final:.3f})",
) -> dict[str, Any]:
    """Draw survival step curves on ``ax`` and label its axes; return each curve's colour.

    With ``clean`` (the clean accuracy; one value for every curve, or one per curve name) each
    curve starts at step 0 there; with ``n`` each point gets its pointwise Clopper-Pearson 95%
    band. ``label`` is formatted with the curve's ``name`` and ``final`` value."""
    colours = {}
    for name, curve in curves.items():
        start = clean.get(name) if isinstance(clean, Mapping) else clean
        values = ([start] if start is not None else []) + list(curve)
        steps = list(range(0 if start is not None else 1, len(curve) + 1))
        shown = label.format(name=name, final=curve[-1]) if len(curve) else name
        line = ax.step(steps, values, where="post", label=shown)
        colours[name] = line[0].get_color()
        if n:
            bands = [rate(round(v * n), n).ci for v in values]
            _band(ax, steps, bands, alpha=0.2, color=colours[name])
    ax.set_xlabel("perturbation draws (count; 0 = clean input)" if clean is not None else "perturbation draws (count)")
    ax.set_ylabel("fraction of examples still robust" + (" (95% bands)" if n else ""))
    return colours


def _band(ax, xs: Sequence[float], bands: Sequence[Sequence[float]], *, alpha: float, color: Any) -> None:
    """Shade the pointwise (low, high) ``bands`` behind a step curve over ``xs``."""
    ax.fill_between(
        xs, [b[0] for b in bands], [b[1] for b in bands], step="post", alpha=alpha, color=color, linewidth=0
    )


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


def plot_certified_accuracy(
    curves: Mapping[str, Mapping[float, Rate]],
    path: str | Path,
    *,
    title: str = "",
    xlabel: str = "Levenshtein radius r (word edits)",
) -> Path:
    """Certified accuracy (fraction certified correct with radius >= r) against the radius r,
    a step curve with 95% intervals per entry of ``curves``; ``xlabel`` names the radius."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for name, rates in curves.items():
        radii = list(rates)
        values = [rates[r].value or 0.0 for r in radii]
        lows = [v - (rates[r].ci or (v, v))[0] for r, v in zip(radii, values)]
        highs = [(rates[r].ci or (v, v))[1] - v for r, v in zip(radii, values)]
        bar = ax.errorbar(radii, values, yerr=[lows, highs], drawstyle="steps-post", capsize=2, marker="o", label=name)
        bands = [rates[r].ci or (v, v) for r, v in zip(radii, values)]
        _band(ax, radii, bands, alpha=0.15, color=bar[0].get_color())
    ax.set_xlabel(xlabel)
    ax.set_ylabel("certified accuracy, radius >= r (fraction, 95% CI)")
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
    ax.set_ylabel(ylabel + " (fraction, 95% CI)")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    if len(groups) > 1:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
