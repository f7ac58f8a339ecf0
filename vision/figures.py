"""The reproduction's figures (the paper's Figures 1-5), with matplotlib.

* ``survival.png`` — test-set survival curves of M, M_R and M_rand on one plot, with the
  paper's final robust ratios marked (Figures 3 and 5);
* ``per_class_train.png`` — fraction of robust training images per class under M, beside
  the authors' stored run on MNIST (Figure 4);
* ``robust_grid.png`` — random test images M classifies right: robust ones on the first row,
  not robust ones on the second (Figure 1);
* ``flipped.png`` — a test image beside the first perturbed draw that M misclassifies
  (Figure 2), redrawn exactly from its seed, id, spec and draw index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from textrobust.core.plots import _pyplot, draw_survival, plot_per_class
from textrobust.core.random import draw_key, stream_prefix
from textrobust.core.report import EvalReport
from textrobust.core.stats import rate
from vision.batch import stack_images

if TYPE_CHECKING:
    from vision.models import ImageClassifier
    from vision.reproduce import Runner

GRID_COLUMNS = 8


def _show(ax: Any, image: Any, title: str = "") -> None:
    a = image.detach().cpu().numpy().transpose(1, 2, 0)
    ax.imshow(a[..., 0] if a.shape[-1] == 1 else a, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def plot_survival_vs_paper(
    curves: Mapping[str, Sequence[float]],
    paper: Mapping[str, float],
    path: Any,
    *,
    title: str,
    n: int,
    clean: Mapping[str, float] | None = None,
) -> None:
    """Survival curves of several models from step 0 (each model's clean test accuracy, ``clean``)
    with pointwise Clopper-Pearson 95% bands, and the paper's final values as dotted lines."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    colours = draw_survival(ax, curves, n=n, clean=clean, label="{name} (ours, final {final:.3f})")
    for name, value in paper.items():
        ax.axhline(value, linestyle=":", color=colours.get(name, "grey"), label=f"{name} (paper, final {value:.4f})")
    ax.set_ylabel("fraction of test images still robust (95% bands)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.set_title(f"{title} (n = {n})")
    ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_figures(
    runner: Runner,
    m: ImageClassifier,
    tests: Mapping[str, EvalReport],
    records: Sequence[dict],
    train_report: EvalReport,
) -> dict[str, str]:
    """Write the four figures into the output directory; returns {title: file name}."""
    cfg = runner.cfg
    out = cfg.output
    spec = runner.spec
    plt = _pyplot()
    figures: dict[str, str] = {}

    curves = {name: report.perturbations[0].rpr.survival for name, report in tests.items()}
    paper = {}
    if cfg.dataset == "mnist" and cfg.max_steps == 250:
        paper = {"M": 0.2957, "M_R": 0.5101}
    plot_survival_vs_paper(
        curves,
        paper,
        out / "survival.png",
        title=f"Test-set RPR survival, {spec}",
        n=len(runner.test),
        clean={name: report.clean_accuracy.value for name, report in tests.items()},
    )
    figures["Survival curves of M, M_R and M_rand (paper Figures 3 and 5)"] = "survival.png"

    groups = {"M (ours)": train_report.perturbations[0].rpr.per_class}
    if cfg.dataset == "mnist" and cfg.limit is None:
        from vision.reproduce import MNIST_TRAIN_CLASS_SIZES, PAPER_MNIST

        counts = PAPER_MNIST["M"]["train_robust_counts"]
        groups["M (authors' run)"] = {
            str(c): rate(k, n) for c, (k, n) in enumerate(zip(counts, MNIST_TRAIN_CLASS_SIZES))
        }
    plot_per_class(
        groups, out / "per_class_train.png", title="Robust training images per class under M", ylabel="robust fraction"
    )
    figures["Robust training images per class (paper Figure 4)"] = "per_class_train.png"

    rng = np.random.default_rng(cfg.seed)
    robust = [i for i, r in enumerate(records) if r["clean_prediction"] == r["label"] and r["first_flip"][spec] is None]
    fragile = [
        i for i, r in enumerate(records) if r["clean_prediction"] == r["label"] and r["first_flip"][spec] is not None
    ]
    names = runner.label_names
    fig, axes = plt.subplots(2, GRID_COLUMNS, figsize=(1.2 * GRID_COLUMNS, 3.0))
    for row, (pool, what) in enumerate(((robust, "robust"), (fragile, "not robust"))):
        picks = sorted(rng.choice(pool, size=min(GRID_COLUMNS, len(pool)), replace=False).tolist()) if pool else []
        for col in range(GRID_COLUMNS):
            ax = axes[row][col]
            ax.axis("off")
            if col < len(picks):
                i = picks[col]
                flip = records[i]["first_flip"][spec]
                _show(
                    ax,
                    runner.test.image(i),
                    f"{names[records[i]['label']]}" + ("" if flip is None else f", flip@{flip}"),
                )
        axes[row][0].text(
            -0.3, 0.5, what, transform=axes[row][0].transAxes, rotation=90, va="center", ha="right", fontsize=9
        )
    fig.suptitle("Test images M classifies right: robust (top) and not robust (bottom)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "robust_grid.png", dpi=120)
    plt.close(fig)
    figures["Robust and non-robust test images (paper Figure 1)"] = "robust_grid.png"

    if fragile:
        flips = np.array([records[i]["first_flip"][spec] for i in fragile])
        i = fragile[int(np.argmin(np.abs(flips - np.median(flips))))]  # a typical flip: nearest the median draw
        record = records[i]
        k = record["first_flip"][spec]
        key = draw_key(stream_prefix(cfg.seed, record["index"], spec), k)
        perturbed = stack_images(runner.perturbation.apply([runner.test.image(i)], [key]))
        predicted = int(m(list(perturbed))[0])
        fig, axes = plt.subplots(1, 2, figsize=(5.0, 2.8))
        _show(axes[0], runner.test.image(i), f"original: M says {names[record['clean_prediction']]}")
        _show(axes[1], perturbed[0], f"draw {k}: M says {names[predicted]}")
        before = f"draws 1..{k - 1} kept the label, " if k > 1 else ""
        fig.suptitle(f"test image {record['index']}: {before}draw {k} flipped it ({spec})", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "flipped.png", dpi=120)
        plt.close(fig)
        figures["A flipped perturbed image beside its original (paper Figure 2)"] = "flipped.png"
    return figures
