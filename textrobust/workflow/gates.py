"""Pass/fail gates on a run's results, decided on 95% intervals (``textrobust check``).

A gate is ``[SPEC] METRIC OP THRESHOLD`` with OP one of ``>= <= > <``, e.g.
``"delete:p=0.1 robust_ratio >= 0.50"`` or ``"clean_accuracy >= 0.8"``. It is decided on the
metric's two-sided 95% interval [lo, hi], never on the point estimate alone:

* strict (default): the gate passes only if the WHOLE interval satisfies it (for ``>= t``:
  lo >= t), i.e. the data show the requirement is met;
* lenient: the gate fails only if the whole interval violates it (for ``>= t``: hi < t),
  i.e. the data show the requirement is broken.

With a baseline run, ``*_change`` metrics are the paired differences RUN - BASELINE on the same
draws (Tango's interval), and ``max_regression = X`` adds the gate ``change >= -X`` for the
clean accuracy and for every perturbation's accuracy and robust ratio, decided by the same rule
(strict: the interval of the difference must lie entirely above -X, a non-inferiority test at
margin X; lenient: fails only when the whole interval lies below -X).
"""

from __future__ import annotations

import math
import operator
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from textrobust.errors import UserError
from textrobust.workflow.runs import Run

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
NEGATION = {">=": "<", "<=": ">", ">": "<=", "<": ">="}

# metric -> (needs a perturbation spec, description); what `check --help` and docs/workflow.md list
EVAL_METRICS: dict[str, tuple[bool, str]] = {
    "clean_accuracy": (False, "accuracy on the clean inputs (Clopper-Pearson interval)"),
    "accuracy": (True, "accuracy on each example's first perturbed draw (Clopper-Pearson)"),
    "delta": (True, "clean minus perturbed accuracy, paired (Tango interval)"),
    "robust_ratio": (
        True,
        "fraction of examples no draw flipped; clean mistakes count as not robust (Clopper-Pearson)",
    ),
    "robust_ratio_clean_correct": (True, "robust ratio among the clean-correct examples (Clopper-Pearson)"),
}
BASELINE_METRICS: dict[str, tuple[bool, str]] = {
    "clean_accuracy_change": (False, "RUN - BASELINE clean accuracy, paired (Tango interval)"),
    "accuracy_change": (True, "RUN - BASELINE perturbed accuracy, paired (Tango interval)"),
    "robust_ratio_change": (True, "RUN - BASELINE robust ratio, paired (Tango interval)"),
}
CERTIFY_METRICS: dict[str, tuple[bool, str]] = {
    "clean_accuracy": (False, "accuracy of the base classifier on clean inputs (Clopper-Pearson)"),
    "smoothed_accuracy": (False, "accuracy of the smoothed classifier, abstentions wrong (Clopper-Pearson)"),
    "abstain_rate": (False, "fraction of abstentions (Clopper-Pearson)"),
    "certified_accuracy@R": (False, "fraction certified correct with radius >= R, R an integer (Clopper-Pearson)"),
}

_EXPR = re.compile(
    r"^\s*(?:(?P<spec>\S+)\s+)?(?P<metric>[A-Za-z_][A-Za-z_0-9@]*)\s*(?P<op>>=|<=|>|<)\s*(?P<threshold>\S+)\s*$"
)


@dataclass(frozen=True)
class Gate:
    """One parsed requirement."""

    expr: str
    spec: str | None
    metric: str
    op: str
    threshold: float


@dataclass(frozen=True)
class GateResult:
    """A gate's verdict with the interval it was decided on and the rule that decided it."""

    gate: Gate
    value: float | None
    ci: tuple[float, float] | None
    n: int | None
    passed: bool
    rule: str
    message: str

    def to_json(self) -> dict:
        g = self.gate
        return {
            "gate": g.expr,
            "spec": g.spec,
            "metric": g.metric,
            "op": g.op,
            "threshold": g.threshold,
            "value": self.value,
            "ci95": list(self.ci) if self.ci else None,
            "n": self.n,
            "passed": self.passed,
            "rule": self.rule,
            "message": self.message,
        }


def metrics_for(run: Run, baseline: bool) -> dict[str, tuple[bool, str]]:
    """The metric names a gate on ``run`` may use."""
    if run.task == "certify":
        return dict(CERTIFY_METRICS)
    return {**EVAL_METRICS, **(BASELINE_METRICS if baseline else {})}


def _canonical_spec(token: str, run: Run) -> str:
    from textrobust.core.perturbation import parse_spec

    if run.task == "vision-eval":
        import vision  # noqa: F401  (registers the image perturbations)

        modality = "image"
    else:
        import textrobust.text  # noqa: F401  (registers the text perturbations)

        modality = "text"
    canonical = parse_spec(token, modality).canonical
    if canonical not in run.specs:
        raise UserError(
            f"perturbation {canonical} was not evaluated in {str(run.path)!r} (it has: {', '.join(run.specs) or 'none'})"
        )
    return canonical


def parse_gate(expr: str, run: Run, *, baseline: bool = False) -> Gate:
    """Parse ``[SPEC] METRIC OP THRESHOLD`` against ``run``; :class:`UserError` for an unknown
    metric or perturbation, a missing or superfluous spec, or a malformed expression."""
    m = _EXPR.match(expr)
    if not m:
        raise UserError(
            f"cannot read gate {expr!r}: write [SPEC] METRIC OP THRESHOLD, e.g. 'delete:p=0.1 robust_ratio >= 0.5'"
        )
    metric, op = m["metric"], m["op"]
    try:
        threshold = float(m["threshold"])
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise UserError(f"gate {expr!r}: threshold {m['threshold']!r} is not a finite number")
    known = metrics_for(run, baseline)
    key = (
        "certified_accuracy@R" if run.task == "certify" and re.fullmatch(r"certified_accuracy@\d+", metric) else metric
    )
    if key not in known:
        hint = " (the *_change metrics need --baseline)" if metric in BASELINE_METRICS else ""
        raise UserError(f"gate {expr!r}: unknown metric {metric!r}{hint}; known: {', '.join(known)}")
    needs_spec = known[key][0]
    if needs_spec and not m["spec"]:
        raise UserError(
            f"gate {expr!r}: {metric} is per perturbation; start the gate with one of {', '.join(run.specs)}"
        )
    if not needs_spec and m["spec"]:
        raise UserError(f"gate {expr!r}: {metric} is not per perturbation; leave out {m['spec']!r}")
    spec = _canonical_spec(m["spec"], run) if m["spec"] else None
    return Gate(expr.strip(), spec, metric, op, threshold)


def _interval(
    report: dict[str, Any], gate: Gate, comparison: Any
) -> tuple[float | None, tuple[float, float] | None, int | None]:
    """(value, 95% interval, n) of the gate's metric."""
    if gate.metric.endswith("_change"):
        if gate.metric == "clean_accuracy_change":
            d = comparison.clean
        else:
            p = comparison[gate.spec]
            d = p.accuracy if gate.metric == "accuracy_change" else p.robust
        return d.value, d.ci, d.n
    if gate.metric.startswith("certified_accuracy@"):
        r = gate.metric.split("@")[1]
        if r not in report["certified_accuracy"]:
            raise UserError(f"gate {gate.expr!r}: radius {r} is beyond the run's radius cap {report.get('radius_cap')}")
        ci = report["certified_accuracy_ci95"][r]
        return report["certified_accuracy"][r], tuple(ci) if ci else None, report["n_examples"]
    if gate.spec is None:
        name = "abstain_rate" if gate.metric == "abstain_rate" else gate.metric
        ci = report.get(name + "_ci95")
        return report.get(name), tuple(ci) if ci else None, report["n_examples"]
    p = next(p for p in report["perturbations"] if p["spec"] == gate.spec)
    src = p if gate.metric in ("accuracy", "delta") else p["rpr"]
    ci = src.get(gate.metric + "_ci95")
    return src.get(gate.metric), tuple(ci) if ci else None, p["n"]


def rule_text(gate: Gate, lenient: bool) -> str:
    """The rule that decides ``gate``, in words."""
    if lenient:
        return f"lenient: fails only if the whole 95% interval is {NEGATION[gate.op]} {gate.threshold:g}"
    return f"strict: passes only if the whole 95% interval is {gate.op} {gate.threshold:g}"


def decide(gate: Gate, value: float | None, ci: tuple[float, float] | None, n: int | None, lenient: bool) -> GateResult:
    """The verdict on an interval. An interval is convex and the relations are monotone, so the
    whole interval satisfies a gate iff both ends do, and violates it iff both ends violate it."""
    rule = rule_text(gate, lenient)
    what = f"{gate.metric}" + (f" of {gate.spec}" if gate.spec else "")
    if value is None or ci is None:
        return GateResult(gate, value, ci, n, False, rule, f"{what}: no examples, no interval")
    holds = OPS[gate.op]
    ends = [holds(ci[0], gate.threshold), holds(ci[1], gate.threshold)]
    passed = any(ends) if lenient else all(ends)
    shown = f"{what} = {value:.4f} [{ci[0]:.4f}, {ci[1]:.4f}] (n={n})"
    if passed and all(ends):
        why = f"the whole interval is {gate.op} {gate.threshold:g}"
    elif passed:
        why = f"the interval straddles {gate.threshold:g}; lenient passes it"
    elif any(ends):
        why = f"the interval straddles {gate.threshold:g}: the data do not show {gate.op} {gate.threshold:g}"
    else:
        why = f"the whole interval is {NEGATION[gate.op]} {gate.threshold:g}"
    return GateResult(gate, value, ci, n, passed, rule, f"{shown}: {'PASS' if passed else 'FAIL'}, {why}")


def regression_gates(run: Run, max_regression: float) -> list[str]:
    """The gates ``--max-regression X`` adds: each change >= -X."""
    if not 0 <= max_regression <= 1:
        raise UserError(f"--max-regression must be in [0, 1], got {max_regression:g}")
    out = [f"clean_accuracy_change >= {-max_regression!r}"]
    for spec in run.specs:
        out += [f"{spec} accuracy_change >= {-max_regression!r}", f"{spec} robust_ratio_change >= {-max_regression!r}"]
    return out


def run_gates(
    run: Run,
    requires: Sequence[str],
    *,
    baseline: Run | None = None,
    max_regression: float | None = None,
    lenient: bool = False,
) -> list[GateResult]:
    """Parse every gate first (bad input raises :class:`UserError` before anything is decided),
    then decide each on its interval."""
    if max_regression is not None and baseline is None:
        raise UserError("--max-regression needs --baseline RUN")
    comparison = None
    if baseline is not None:
        if run.task == "certify":
            raise UserError("--baseline takes eval runs; certify runs are not supported")
        from textrobust.workflow.compare import compare_runs

        comparison = compare_runs(baseline, run, texts=False)  # gates need no sentences
    exprs = list(requires) + (regression_gates(run, max_regression) if max_regression is not None else [])
    if not exprs:
        raise UserError("no gates: give --require EXPR (and/or --baseline RUN --max-regression X)")
    gates = [parse_gate(e, run, baseline=comparison is not None) for e in exprs]
    return [decide(g, *_interval(run.report, g, comparison), lenient) for g in gates]


def write_junit(results: Sequence[GateResult], path: str | Path, *, suite: str = "textrobust check") -> Path:
    """A JUnit XML report: one testcase per gate, a ``<failure>`` with the message for each
    failed gate, and the rule and interval of every gate in its ``<system-out>``."""
    failures = sum(not r.passed for r in results)
    root = ET.Element("testsuites", name=suite, tests=str(len(results)), failures=str(failures), errors="0")
    ts = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(results)), failures=str(failures), errors="0", skipped="0"
    )
    for r in results:
        case = ET.SubElement(ts, "testcase", classname="textrobust.check", name=r.gate.expr)
        if not r.passed:
            failure = ET.SubElement(case, "failure", message=r.message, type="GateFailed")
            failure.text = f"{r.message}\nrule: {r.rule}"
        ET.SubElement(case, "system-out").text = f"{r.message}\nrule: {r.rule}"
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(out, encoding="utf-8", xml_declaration=True)
    return out
