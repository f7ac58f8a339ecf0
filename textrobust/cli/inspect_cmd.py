"""``textrobust inspect OUTPUT_DIR``: the first flips of a run as word diffs, most fragile first."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Optional

import typer

from textrobust.errors import UserError


def _rich(diff: str) -> str:
    from rich.markup import escape

    text = escape(diff)
    text = re.sub(r"~~(.+?)~~", r"[red strike]\1[/red strike]", text)
    return re.sub(r"\*\*(.+?)\*\*", r"[bold green]\1[/bold green]", text)


def _summary_line(name: str, v: dict) -> str:
    """One line of a perturbation's validity figures: the changed share with its sample size and
    Clopper-Pearson 95% interval, the word edits per draw, the similarity of changed draws and of first flips."""
    ci = v.get("changed_share_ci95")
    share = "n/a" if v.get("changed_share") is None else f"{v['changed_share']:.3f}"
    share += f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else ""
    edits = "n/a" if v.get("mean_edits") is None else f"{v['mean_edits']:.2f}"
    line = f"{name}: changed {share} of {v['n_draws']} draws, {edits} word edits per draw"
    for label, key in (("changed draws", "similarity_changed"), ("first flips", "similarity_first_flips")):
        sim = v.get(key)
        if sim:
            line += f"; similarity of {label} mean {sim['mean']:.3f}, median {sim['q50']:.3f} (n={sim['n']})"
    return line + f"; {len(v['first_flips'])} first flips"


def inspect_command(
    output_dir: Path = typer.Argument(..., help="An eval output directory (with report.json)."),
    spec: Optional[list[str]] = typer.Option(
        None, "--spec", help="Only these perturbations (canonical specs as in the report); repeatable."
    ),
    limit: int = typer.Option(20, help="First flips shown per perturbation (0 = all)."),
    plain: bool = typer.Option(False, help="Print the Markdown diffs (~~removed~~ **added**) without colour."),
) -> None:
    """Print each perturbation's validity figures and first flips as word-level diffs."""
    path = output_dir / "report.json"
    if not path.is_file():
        raise UserError(f"no report.json in {str(output_dir)!r}; run `textrobust eval --output {output_dir}` first")
    try:
        validity = json.loads(path.read_text())["validity"]
    except (json.JSONDecodeError, KeyError):
        raise UserError(f"{str(path)!r} has no validity section (written by an older textrobust?)") from None
    if limit < 0:
        raise UserError(f"--limit must be at least 0, got {limit}")
    entries = validity["perturbations"]
    chosen = spec or list(entries)
    unknown = [s for s in chosen if s not in entries]
    if unknown:
        raise UserError(f"no perturbation {unknown[0]!r} in this report; it has: {', '.join(entries)}")
    from rich.console import Console

    console = Console(highlight=False, no_color=plain, soft_wrap=True)
    for name in chosen:
        v = entries[name]
        console.print(_summary_line(name, v), markup=False)
        shown = v["first_flips"] if limit == 0 else v["first_flips"][:limit]
        for f in shown:
            line = f"  [{f['index']}] draw {f['first_flip']}: "
            if plain:
                console.print(line + f["diff"], markup=False)
            else:
                console.print(line.replace("[", "\\[") + _rich(f["diff"]))
