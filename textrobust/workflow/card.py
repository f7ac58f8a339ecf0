"""Robustness results on a Hugging Face model card (``textrobust card``).

:func:`update_card` writes, idempotently, (1) a robustness section of the card's text between
:data:`START` and :data:`END` markers (replaced when present, appended otherwise) and (2)
``model-index`` entries through :class:`huggingface_hub.EvalResult` in the card's metadata:
one per metric, with the point estimate as ``metric_value`` and the 95% interval, ``n`` and the
run settings (under ``settings``) in ``metric_args`` (and the interval in ``metric_name``, which the Hub shows).
Entries an earlier ``textrobust card`` wrote for the same dataset and split are replaced; other
entries are kept. The YAML is written by ``huggingface_hub``, never by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textrobust.core.outputs import fmt_rate, fmt_signed
from textrobust.errors import UserError
from textrobust.workflow.runs import Run

START = "<!-- textrobust:robustness:start -->"
END = "<!-- textrobust:robustness:end -->"
TOOL = "textrobust"


@dataclass(frozen=True)
class Metric:
    """One reported number: ``metric_type`` (Hub metric id), a readable name, value, interval, n, spec."""

    type: str
    name: str
    value: float | None
    ci: list[float] | None
    n: int
    spec: str | None = None
    interval: str = "Clopper-Pearson"


def run_metrics(run: Run) -> list[Metric]:
    """The metrics of a run that go on the card."""
    r = run.report
    n = int(r["n_examples"])
    out = [Metric("accuracy", "clean accuracy", r["clean_accuracy"], r.get("clean_accuracy_ci95"), n)]
    if run.task == "certify":
        out.append(
            Metric("smoothed_accuracy", "smoothed accuracy", r["smoothed_accuracy"], r.get("smoothed_accuracy_ci95"), n)
        )
        for radius, value in r["certified_accuracy"].items():
            out.append(
                Metric(
                    f"certified_accuracy_radius_{radius}",
                    f"certified accuracy, radius >= {radius}",
                    value,
                    r["certified_accuracy_ci95"][radius],
                    n,
                )
            )
        return out
    for p in r["perturbations"]:
        s = p["spec"]
        out.append(
            Metric(
                "perturbed_accuracy", f"accuracy under {s} (draw 1)", p["accuracy"], p.get("accuracy_ci95"), p["n"], s
            )
        )
        out.append(
            Metric(
                "robust_ratio",
                f"RPR robust ratio under {s}",
                p["rpr"]["robust_ratio"],
                p["rpr"].get("robust_ratio_ci95"),
                p["n"],
                s,
            )
        )
        out.append(
            Metric(
                "accuracy_drop",
                f"accuracy drop under {s} (clean - draw 1)",
                p["delta"],
                p.get("delta_ci95"),
                p["n"],
                s,
                "Tango paired score",
            )
        )
    return out


def _settings(run: Run) -> dict[str, Any]:
    s = run.settings
    keep = (
        "task",
        "dataset",
        "config",
        "split",
        "limit",
        "shuffle",
        "seed",
        "max_steps",
        "p_del",
        "alpha",
        "n0",
        "n",
        "procedure",
        "level",
    )
    return {k: s[k] for k in keep if k in s}


def eval_results(run: Run, dataset_name: str | None = None) -> list:
    """The run's :class:`huggingface_hub.EvalResult` entries."""
    from huggingface_hub import EvalResult

    s = run.settings
    task = "image-classification" if run.task == "vision-eval" else "text-classification"
    results = []
    for m in run_metrics(run):
        ci = f", 95% CI [{m.ci[0]:.4f}, {m.ci[1]:.4f}]" if m.ci else ""
        results.append(
            EvalResult(
                task_type=task,
                dataset_type=str(s.get("dataset")),
                dataset_name=dataset_name or str(s.get("dataset")),
                dataset_config=s.get("config"),
                dataset_split=s.get("split"),
                metric_type=m.type,
                metric_value=m.value,
                metric_name=f"{m.name} ({TOOL}, n={m.n}{ci})",
                metric_config=m.spec,
                metric_args={
                    "tool": TOOL,
                    "n": m.n,
                    "ci95": m.ci,
                    "interval": m.interval,
                    "level": 0.95,
                    **({"perturbation": m.spec} if m.spec else {}),
                    "settings": _settings(run),  # apart: certify's ``n`` (draws) is not the sample size
                },
            )
        )
    return results


def section(run: Run) -> str:
    """The markdown robustness section (with its markers)."""
    s, r = run.settings, run.report
    lines = [START, "## Robustness (textrobust)", ""]
    lines.append(
        f"Measured with textrobust `{run.task}` on `{s.get('dataset')}` split `{s.get('split')}`, n = {r['n_examples']}, "
        + (
            f"seed {s.get('seed')}, max_steps {s.get('max_steps')}."
            if run.task != "certify"
            else f"p_del {s.get('p_del')}, alpha {s.get('alpha')}, seed {s.get('seed')}."
        )
    )
    lines += [
        "",
        "Values with 95% intervals (Clopper-Pearson for rates; Tango's paired score interval for the accuracy drop).",
        "",
    ]
    lines += ["| metric | perturbation | value [95% CI] | n |", "|---|---|---|---|"]
    for m in run_metrics(run):
        shown = fmt_signed(m.value, m.ci) if m.type == "accuracy_drop" else fmt_rate(m.value, m.ci)
        lines.append(
            f"| {m.name.replace(f' under {m.spec}', '') if m.spec else m.name} | {m.spec or ''} | {shown} | {m.n} |"
        )
    if run.task != "certify":
        lines += [
            "",
            "Robust ratio: fraction of examples that none of max_steps random perturbed copies flipped (clean mistakes count "
            "as not robust; Ilie, Popescu & Stefanescu 2020).",
        ]
    lines.append(END)
    return "\n".join(lines)


def _replace_section(text: str, new: str) -> str:
    start, end = text.find(START), text.find(END)
    if start != -1 and end > start:
        return text[:start] + new + text[end + len(END) :]
    return text.rstrip() + ("\n\n" if text.strip() else "") + new + "\n"


def _ours(result: Any) -> bool:
    return isinstance(result.metric_args, dict) and result.metric_args.get("tool") == TOOL


def update_card(card: Any, run: Run, *, model_id: str | None = None, dataset_name: str | None = None) -> Any:
    """Put ``run``'s results on ``card`` (a :class:`huggingface_hub.ModelCard`), in place and idempotently."""
    new = eval_results(run, dataset_name)
    same_data = lambda e: (
        (e.dataset_type, e.dataset_config, e.dataset_split)
        == (new[0].dataset_type, new[0].dataset_config, new[0].dataset_split)
    )  # noqa: E731
    kept = [e for e in (card.data.eval_results or []) if not (_ours(e) and same_data(e))]
    card.data.eval_results = kept + new
    card.data.model_name = model_id or card.data.model_name or Path(run.model).name
    card.text = _replace_section(card.text, section(run))
    return card


def load_or_new_card(path: Path) -> Any:
    """The card in ``path``, or an empty one (metadata written by ``huggingface_hub``)."""
    from huggingface_hub import ModelCard, ModelCardData

    if path.exists():
        try:
            return ModelCard.load(path)
        except Exception as e:  # noqa: BLE001  (a malformed metadata block: yaml or validation errors)
            raise UserError(f"cannot read the model card {str(path)!r}: {' '.join(str(e).split())}") from None
    return ModelCard(f"---\n{ModelCardData().to_yaml()}\n---\n")


def push_card(card: Any, repo_id: str) -> None:
    """Push ``card`` to the Hub repo ``repo_id``; :class:`UserError` (one line) when offline or refused."""
    from textrobust.hf.hub import offline

    if offline():
        raise UserError(
            f"cannot push the model card to {repo_id!r}: offline (HF_HUB_OFFLINE=1); unset it and log in (hf auth login) to push"
        )
    try:
        card.push_to_hub(repo_id)
    except (
        OSError,
        ValueError,
    ) as e:  # network, auth and HTTP errors of huggingface_hub (OSError), bad ids (ValueError)
        raise UserError(f"cannot push the model card to {repo_id!r}: {' '.join(str(e).split())[:300]}") from None


def load_hub_card(repo_id: str) -> Any:
    """The card of Hub model ``repo_id``; :class:`UserError` (one line) when offline or missing."""
    from huggingface_hub import ModelCard

    from textrobust.hf.hub import offline

    if offline():
        raise UserError(
            f"cannot read the model card of {repo_id!r} from the Hub: offline (HF_HUB_OFFLINE=1); pass --card FILE for a local card"
        )
    try:
        return ModelCard.load(repo_id)
    except (OSError, ValueError) as e:  # network, missing repo (OSError), bad ids (ValueError)
        raise UserError(
            f"cannot read the model card of {repo_id!r} from the Hub: {' '.join(str(e).split())[:300]}"
        ) from None
