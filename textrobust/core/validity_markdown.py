"""The validity section of report.md, from the ``validity`` entry of report.json."""

from __future__ import annotations

from typing import Any


def _sim(s: dict | None) -> str:
    if not s:
        return "n/a"
    return f"{s['mean']:.3f} (q05 {s['q05']:.3f}, median {s['q50']:.3f}, n={s['n']})"


def validity_markdown(validity: dict[str, Any], flips_shown: int = 10) -> list[str]:
    """Markdown lines: a table per perturbation and its first flips as diffs, most fragile first."""
    draws = validity["draws_per_example"]
    lines = [
        "",
        "## Validity of the perturbations",
        "",
        f"Does a draw still mean what the original meant? Draws 1..{draws} of every example re-created from "
        f"their streams: share that changed the input (Clopper-Pearson 95% interval, draws pooled), mean word edits per "
        f"draw, and similarity to the original ({validity.get('similarity') or 'not available'}) of the draws "
        f"1..{validity.get('similarity_draws_per_example', draws)} that changed something and of the first flips. Read the flips below: a flip whose perturbation changed the "
        "true label is the perturbation's fault, not the model's.",
        "",
    ]
    if validity.get("similarity_unavailable"):
        lines += [f"Similarity not measured: {validity['similarity_unavailable']}", ""]
    lines += [
        "| perturbation | changed share | mean edits per draw | similarity, changed draws | similarity, first flips |",
        "|---|---|---|---|---|",
    ]
    for spec, v in validity["perturbations"].items():
        ci = v["changed_share_ci95"]
        share = f"{v['changed_share']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "") + f" (n={v['n_draws']})"
        edits = "n/a" if v["mean_edits"] is None else f"{v['mean_edits']:.2f}"
        lines.append(
            f"| {spec} | {share} | {edits} | {_sim(v['similarity_changed'])} | {_sim(v['similarity_first_flips'])} |"
        )
    for spec, v in validity["perturbations"].items():
        flips = v["first_flips"]
        lines += ["", f"### First flips: {spec} ({len(flips)}, most fragile first)", ""]
        if not flips:
            lines.append("(none)")
        for f in flips[:flips_shown]:
            sim = "" if f["similarity"] is None else f", similarity {f['similarity']:.3f}"
            lines.append(f"- example {f['index']} (label {f['label']}), draw {f['first_flip']}{sim}: {f['diff']}")
        if len(flips) > flips_shown:
            lines.append(f"- ... {len(flips) - flips_shown} more in report.json (`textrobust inspect`)")
    return lines
