"""Figures of the workflow commands (matplotlib, no display), in the reports' palette."""

from __future__ import annotations

from pathlib import Path

from textrobust.core.plots import PALETTE, _pyplot
from textrobust.workflow.compare import Comparison


def plot_paired_differences(c: Comparison, path: str | Path) -> Path:
    """A forest plot of ``B - A`` with 95% paired intervals: clean accuracy, then perturbed
    accuracy and robust ratio per perturbation; the dashed line is no difference."""
    plt = _pyplot()
    rows = [("clean accuracy", c.clean, PALETTE[0])]
    for p in c.perturbations:
        rows.append((f"{p.spec}: perturbed accuracy", p.accuracy, PALETTE[1]))
        rows.append((f"{p.spec}: robust ratio", p.robust, PALETTE[2]))
    fig, ax = plt.subplots(figsize=(7.0, 0.45 * len(rows) + 1.4))
    for y, (_name, d, colour) in enumerate(reversed(rows)):
        if d.value is None:
            continue
        lo, hi = d.ci or (d.value, d.value)
        ax.errorbar([d.value], [y], xerr=[[d.value - lo], [hi - d.value]], fmt="o", color=colour, capsize=3)
    ax.axvline(0.0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [name for name, _, _ in reversed(rows)])
    ends = [abs(x) for _, d, _ in rows if d.value is not None for x in (d.ci or (d.value, d.value))]
    reach = min(1.0, max([0.05, *ends]) * 1.15)
    ax.set_xlim(-reach, reach)
    ax.set_xlabel("difference B - A (fraction of examples, paired 95% CI)")
    ax.set_title(f"B vs A on the same draws (n = {c.n})")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
