"""Several models in one ``eval`` command, on the same draws, then compared.

The draws are fixed by (seed, example, spec, draw index), so evaluating each model separately
with the same settings gives every model exactly the same perturbed inputs; nothing here draws.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Sequence

from textrobust.errors import UserError


def model_slugs(models: Sequence[str]) -> list[str]:
    """A distinct directory name per model: the last path or Hub-id component, made filesystem-safe
    (``-2``, ``-3`` appended when two models end alike)."""
    out: list[str] = []
    for model in models:
        base = (
            re.sub(r"[^A-Za-z0-9._-]+", "-", str(model).rstrip("/\\").replace("\\", "/").split("/")[-1]).strip("-.")
            or "model"
        )
        slug, k = base, 2
        while slug in out:
            slug, k = f"{base}-{k}", k + 1
        out.append(slug)
    return out


def eval_models(
    models: Sequence[str], output: Path | None, run_one: Callable[[str, Path], Any], *, is_main: bool = True
) -> list[Path]:
    """Run ``run_one(model, OUTPUT/<slug>)`` for each model, then compare the first model (A)
    with each other (B): into OUTPUT/ for two models, OUTPUT/compare-<slug of B>/ for more.
    Returns the comparison directories (written by the main process only)."""
    from textrobust.cli.compare_cmd import print_comparison
    from textrobust.workflow.compare import compare_runs, write_comparison
    from textrobust.workflow.runs import load_run

    if output is None:
        raise UserError(
            "several --model need --output DIR (each model's run goes to DIR/<model>, the comparison to DIR)"
        )
    slugs = model_slugs(models)
    for model, slug in zip(models, slugs):
        run_one(model, output / slug)
    if not is_main:
        return []
    written = []
    for slug in slugs[1:]:
        target = output if len(slugs) == 2 else output / f"compare-{slug}"
        comparison = compare_runs(load_run(output / slugs[0]), load_run(output / slug))
        write_comparison(comparison, target)
        print_comparison(comparison, target)
        written.append(target)
    return written
