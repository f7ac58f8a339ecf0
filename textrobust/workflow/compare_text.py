"""compare.md and the rows of the terminal table of a :class:`~textrobust.workflow.compare.Comparison`."""

from __future__ import annotations

from textrobust.core.outputs import fmt_rate, fmt_signed, markdown_table
from textrobust.core.stats import PairedDelta, Rate
from textrobust.workflow.compare import Comparison

HEADER = [
    "perturbation",
    "accuracy A",
    "accuracy B",
    "B - A [95% CI]",
    "robust ratio A",
    "robust ratio B",
    "B - A [95% CI]",
    "robust: both / A only / B only / neither",
    "mean first flip B - A [95% CI] (n)",
]


def _r(r: Rate) -> str:
    return fmt_rate(r.value, r.ci)


def _d(d: PairedDelta) -> str:
    return fmt_signed(d.value, d.ci)


def table_rows(c: Comparison) -> list[list[str]]:
    """One row per perturbation (see :data:`HEADER`)."""
    rows = []
    for p in c.perturbations:
        t, f = p.transitions, p.first_flip
        ff = "n/a" if f.value is None else (fmt_signed(f.value, f.ci, 2) + f" (n={f.n})")
        rows.append(
            [
                p.spec,
                _r(p.accuracy_a),
                _r(p.accuracy_b),
                _d(p.accuracy),
                _r(p.robust_a),
                _r(p.robust_b),
                _d(p.robust),
                f"{t.both} / {t.only_a} / {t.only_b} / {t.neither}",
                ff,
            ]
        )
    return rows


def verdict(name: str, d: PairedDelta) -> str:
    """One sentence: does the interval of ``B - A`` exclude 0?"""
    if d.value is None or d.ci is None:
        return f"{name}: no examples."
    if d.ci[1] < 0:
        return f"{name}: B is LOWER than A ({_d(d)}, interval excludes 0)."
    if d.ci[0] > 0:
        return f"{name}: B is higher than A ({_d(d)}, interval excludes 0)."
    return f"{name}: no significant difference ({_d(d)})."


def verdicts(c: Comparison) -> list[str]:
    out = [verdict("clean accuracy", c.clean)]
    for p in c.perturbations:
        out.append(verdict(f"{p.spec} perturbed accuracy", p.accuracy))
        out.append(verdict(f"{p.spec} robust ratio", p.robust))
    return out


def to_markdown(c: Comparison, *, examples: int = 20, figure: str | None = None) -> str:
    """compare.md: settings, clean accuracy, the per-perturbation table, verdicts, and the
    examples that became fragile (robust under A, not under B) with their first flip's diff."""
    s = c.settings
    lines = [
        "# Paired comparison: B vs A",
        "",
        f"- A: `{c.model_a}` (run `{c.run_a}`)",
        f"- B: `{c.model_b}` (run `{c.run_b}`)",
        f"- dataset `{s.get('dataset')}` split `{s.get('split')}`, n = {c.n}, seed {s.get('seed')}, max_steps {s.get('max_steps')}: "
        "both models saw exactly the same perturbed inputs",
        f"- clean accuracy: A {_r(c.clean_a)}, B {_r(c.clean_b)}, B - A {_d(c.clean)}",
        "",
        "Differences are B - A on the same examples, with Tango's paired score 95% interval; rates carry "
        "Clopper-Pearson 95% intervals. Perturbed accuracy is on draw 1. Transitions count examples robust "
        "(no draw flipped them) under both models, A only, B only, neither. The mean first-flip difference is over "
        "examples flipped under both models (positive: B flips later), with a paired t 95% interval.",
        "",
        *markdown_table(HEADER, table_rows(c)),
    ]
    lines += ["", "## Verdicts", ""] + [f"- {v}" for v in verdicts(c)]
    if figure:
        lines += ["", f"![paired differences]({figure})"]
    for p in c.perturbations:
        lines += [
            "",
            f"## Became fragile under {p.spec} ({len(p.became_fragile)} examples robust under A, not under B)",
            "",
        ]
        if not p.became_fragile:
            lines.append("None.")
            continue
        shown = p.became_fragile[:examples]
        lines += [
            "| index | label | B's first flip | first flipping input (~~removed~~ **added**) |",
            "|---|---|---|---|",
        ]
        for e in shown:
            if e["first_flip_b"] == 0:
                text = "B misclassifies the clean input"
            elif e.get("diff") is not None:
                text = e["diff"]
            elif e.get("flipped") is not None:
                text = e["flipped"].replace("|", "\\|")
            else:
                text = "(image: see report.html)"
            lines.append(f"| {e['index']} | {e['label']} | {e['first_flip_b']} | {text} |")
        if len(p.became_fragile) > len(shown):
            lines.append(f"\n{len(p.became_fragile) - len(shown)} more in compare.json.")
    return "\n".join(lines) + "\n"
