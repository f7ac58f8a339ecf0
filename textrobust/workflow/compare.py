"""The paired comparison of two runs on the same perturbed inputs.

Every draw is fixed by (seed, example, spec, draw index), so two models evaluated with the same
data, perturbations, seed and max_steps saw exactly the same inputs, and their outcomes pair up
example by example. All differences are ``B - A`` (positive: B is higher). Accuracy and robust
ratio differences carry Tango's paired score interval (:func:`textrobust.core.stats.paired_delta`);
the mean first-flip difference among examples flipped under both models carries a paired t
interval (Student's t on the per-example differences).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from scipy import stats as scipy_stats

from textrobust.core.jsonable import attributes
from textrobust.core.report import find_spec
from textrobust.core.stats import PairedDelta, Rate, paired_delta, rate
from textrobust.errors import UserError
from textrobust.workflow.diff import markdown_diff
from textrobust.workflow.runs import Run

# run.json settings two runs must share for their draws to be the same
COMPARABLE = (
    "task",
    "dataset",
    "config",
    "split",
    "text_column",
    "label_column",
    "limit",
    "shuffle",
    "data_fingerprint",
    "perturbations",
    "seed",
    "max_steps",
    "resources",
)


def check_comparable(a: Run, b: Run) -> None:
    """Raise :class:`UserError` (one line) unless ``a`` and ``b`` evaluated the same examples
    under the same draws: same data, split, limit/shuffle, perturbations, seed, max_steps and the
    resources the draws were built from (synonym and sense tables' content hashes, tagger, encoder).
    Where both runs record the examples' fingerprint, it stands for the data: the same examples
    read from another path compare; edited ones do not. Else the dataset's name is compared."""
    if a.task == "certify" or b.task == "certify":
        raise UserError("compare takes eval or vision eval runs; certify runs are not supported")
    differ = []
    fingerprinted = a.settings.get("data_fingerprint") is not None and b.settings.get("data_fingerprint") is not None
    for key in COMPARABLE:
        if key == ("dataset" if fingerprinted else "data_fingerprint"):
            # the same examples wherever they were read from (a path spelled another way, a copy);
            # a run made before fingerprints were recorded is compared by its dataset's name
            continue
        x, y = a.settings.get(key), b.settings.get(key)
        if key == "perturbations":
            x, y = sorted(x or []), sorted(y or [])
        if x != y:
            differ.append(f"{key} ({x!r} vs {y!r})")
    if differ:
        raise UserError(
            f"cannot compare {str(a.path)!r} and {str(b.path)!r}: they differ in "
            + ", ".join(differ)
            + "; compare runs with the same data, split, limit/shuffle, perturbations, seed and max_steps"
        )
    la, lb = {r["index"]: r["label"] for r in a.records}, {r["index"]: r["label"] for r in b.records}
    if la != lb:
        raise UserError(f"cannot compare {str(a.path)!r} and {str(b.path)!r}: their examples or labels differ")


@dataclass(frozen=True)
class MeanDifference:
    """Mean of paired per-example differences with a paired t 95% interval (``None`` when n < 2)."""

    value: float | None
    ci: tuple[float, float] | None
    n: int
    method: str = "paired t (Student's t on per-example differences)"

    def to_json(self) -> dict:
        return {"value": self.value, "ci95": list(self.ci) if self.ci else None, "n": self.n, "method": self.method}


def mean_difference(differences: Sequence[float], level: float = 0.95) -> MeanDifference:
    """The mean of ``differences`` and its t interval; when every difference is equal the
    interval is that single value (the t interval's limit as the spread goes to 0)."""
    n = len(differences)
    if n == 0:
        return MeanDifference(None, None, 0)
    mean = math.fsum(differences) / n
    if n < 2:
        return MeanDifference(mean, None, n)
    sd = math.sqrt(math.fsum((d - mean) ** 2 for d in differences) / (n - 1))
    half = float(scipy_stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return MeanDifference(mean, (mean - half, mean + half), n)


@dataclass(frozen=True)
class Transitions:
    """Examples robust (no draw flipped them) under both models, under A only, B only, neither."""

    both: int
    only_a: int
    only_b: int
    neither: int

    def to_json(self) -> dict:
        counts = {"both": self.both, "a_only": self.only_a, "b_only": self.only_b, "neither": self.neither}
        return {f"robust_in_{name}": count for name, count in counts.items()}


def delta_json(d: PairedDelta) -> dict:
    """A ``B - A`` paired difference as JSON (``right_in_b_only`` / ``right_in_a_only`` are the
    discordant pairs)."""
    return d.to_json(first="right_in_b_only", second="right_in_a_only")


@dataclass
class SpecComparison:
    """``B - A`` for one perturbation (see the module docstring)."""

    spec: str
    accuracy_a: Rate
    accuracy_b: Rate
    accuracy: PairedDelta
    robust_a: Rate
    robust_b: Rate
    robust: PairedDelta
    transitions: Transitions
    first_flip: MeanDifference
    became_fragile: list[dict]

    def to_json(self) -> dict:
        return {
            "spec": self.spec,
            "accuracy_a": self.accuracy_a.to_json(),
            "accuracy_b": self.accuracy_b.to_json(),
            "accuracy_difference": delta_json(self.accuracy),
            "robust_ratio_a": self.robust_a.to_json(),
            "robust_ratio_b": self.robust_b.to_json(),
            "robust_ratio_difference": delta_json(self.robust),
            "transitions": self.transitions.to_json(),
            "mean_first_flip_difference": self.first_flip.to_json(),
            "became_fragile": self.became_fragile,
        }


@dataclass
class Comparison:
    """The paired comparison of run B against run A (``to_json()`` is ``compare.json``)."""

    run_a: str
    run_b: str
    model_a: str
    model_b: str
    n: int
    settings: dict[str, Any]
    clean_a: Rate
    clean_b: Rate
    clean: PairedDelta
    perturbations: list[SpecComparison] = field(default_factory=list)

    def __getitem__(self, spec: str) -> SpecComparison:
        return find_spec(self.perturbations, spec)

    def to_json(self) -> dict:
        return {
            **attributes(self, "run_a", "run_b", "model_a", "model_b"),
            "n_examples": self.n,
            "direction": "B - A",
            "settings": {k: self.settings.get(k) for k in COMPARABLE},
            "clean_accuracy_a": self.clean_a.to_json(),
            "clean_accuracy_b": self.clean_b.to_json(),
            "clean_accuracy_difference": delta_json(self.clean),
            "perturbations": [p.to_json() for p in self.perturbations],
        }


def _fragile_entry(record_b: dict, spec: str, texts: dict | None, task: str) -> dict:
    entry: dict[str, Any] = {
        "index": record_b["index"],
        "label": record_b["label"],
        "first_flip_b": record_b["first_flip"][spec],
    }
    if task == "vision-eval":
        entry["flipped_image"] = (record_b.get("flipped_image") or {}).get(spec)
        return entry
    flipped = (record_b.get("flipped_text") or {}).get(spec)
    original = texts.get(record_b["index"]) if texts else None
    entry["original"] = original
    entry["flipped"] = flipped
    entry["diff"] = markdown_diff(original, flipped) if original is not None and flipped is not None else None
    return entry


def compare_runs(a: Run, b: Run, *, texts: bool = True) -> Comparison:
    """Compare run ``b`` with run ``a`` (see the module docstring); :class:`UserError` when the
    runs are not comparable (:func:`check_comparable`). ``texts=False`` leaves out the original
    sentences of the fragile examples (no dataset read; the numbers are the same)."""
    check_comparable(a, b)
    rec_a, rec_b = a.by_index(), b.by_index()
    order = [r["index"] for r in a.records]
    pairs = [(rec_a[i], rec_b[i]) for i in order]
    clean_a = [x["clean_prediction"] == x["label"] for x, _ in pairs]
    clean_b = [y["clean_prediction"] == y["label"] for _, y in pairs]
    n = len(pairs)
    originals = b.source_texts() if texts and b.task == "eval" else None
    results = []
    for spec in a.specs:
        acc_a = [x["draw1_prediction"][spec] == x["label"] for x, _ in pairs]
        acc_b = [y["draw1_prediction"][spec] == y["label"] for _, y in pairs]
        rob_a = [x["first_flip"][spec] is None for x, _ in pairs]
        rob_b = [y["first_flip"][spec] is None for _, y in pairs]
        flips = [(x["first_flip"][spec], y["first_flip"][spec]) for x, y in pairs]
        both_flipped = [float(fb - fa) for fa, fb in flips if fa and fb]  # None or 0: not a flip
        fragile = [y for (x, y), ra, rb in zip(pairs, rob_a, rob_b) if ra and not rb]
        fragile.sort(key=lambda y: (y["first_flip"][spec] == 0, y["first_flip"][spec], str(y["index"])))
        results.append(
            SpecComparison(
                spec=spec,
                accuracy_a=rate(sum(acc_a), n),
                accuracy_b=rate(sum(acc_b), n),
                accuracy=paired_delta(acc_b, acc_a),
                robust_a=rate(sum(rob_a), n),
                robust_b=rate(sum(rob_b), n),
                robust=paired_delta(rob_b, rob_a),
                transitions=Transitions(
                    both=sum(x and y for x, y in zip(rob_a, rob_b)),
                    only_a=sum(x and not y for x, y in zip(rob_a, rob_b)),
                    only_b=sum(y and not x for x, y in zip(rob_a, rob_b)),
                    neither=sum(not x and not y for x, y in zip(rob_a, rob_b)),
                ),
                first_flip=mean_difference(both_flipped),
                became_fragile=[_fragile_entry(y, spec, originals, b.task) for y in fragile],
            )
        )
    return Comparison(
        run_a=str(a.path),
        run_b=str(b.path),
        model_a=a.model,
        model_b=b.model,
        n=n,
        settings=dict(a.settings),
        clean_a=rate(sum(clean_a), n),
        clean_b=rate(sum(clean_b), n),
        clean=paired_delta(clean_b, clean_a),
        perturbations=results,
    )


def write_comparison(comparison: Comparison, directory: str | Path, *, examples: int = 20) -> dict[str, Path]:
    """Write compare.json (everything, full precision), compare.md (at most ``examples``
    fragile examples per perturbation) and compare.png; return their paths."""
    from textrobust.workflow.compare_text import to_markdown
    from textrobust.workflow.figures import plot_paired_differences

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"compare.json": out / "compare.json", "compare.md": out / "compare.md"}
    paths["compare.json"].write_text(json.dumps(comparison.to_json(), indent=2, ensure_ascii=False) + "\n")
    paths["compare.png"] = plot_paired_differences(comparison, out / "compare.png")
    paths["compare.md"].write_text(to_markdown(comparison, examples=examples, figure="compare.png"))
    return paths
