"""Validity evidence of perturbations: do the draws still say what the original said?

RPR only measures the model if a perturbation keeps the true label. This module measures, per
perturbation, what a run can say about that without a human: the share of draws that changed
the input at all, how much they changed it (a modality's edit distance), how similar they stay
(a modality's similarity, if one is available), separately for the first flips, and the first
flips themselves rendered for reading, most fragile (earliest flip) first.

It re-creates draws ``1..draws`` of every example from their streams (the same inputs RPR saw;
no model calls), so the figures depend only on data, specs and seed, never on batch size.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Mapping, Sequence

import numpy as np

from textrobust.core.perturbation import Perturbation
from textrobust.core.random import draw_key, stream_prefix
from textrobust.core.stats import rate

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def summary(values: Sequence[float]) -> dict | None:
    """``n``, mean, min and the 5/25/50/75/95% quantiles of ``values`` (``None`` when empty)."""
    if len(values) == 0:
        return None
    v = np.asarray(values, dtype=np.float64)
    out = {"n": int(v.size), "mean": float(v.mean()), "min": float(v.min())}
    out.update({f"q{int(q * 100):02d}": float(np.quantile(v, q)) for q in QUANTILES})
    return out


def measure_validity(
    sources: Mapping[Hashable, Any],
    records: Sequence[Mapping[str, Any]],
    perturbations: Sequence[Perturbation],
    seed: int,
    *,
    draws: int,
    edits: Callable[[Any, Any], int],
    render: Callable[[Any, Any], str],
    similarity: Callable[[Sequence[Any], Sequence[Any]], np.ndarray] | None = None,
    similarity_name: str | None = None,
    flipped_field: str = "flipped_text",
) -> dict:
    """The JSON-ready validity section of a report (see the module docstring).

    ``sources`` maps each record's ``index`` to its clean input; ``edits(x, y)`` counts edits,
    ``render(x, y)`` shows them, ``similarity(xs, ys)`` gives one similarity per pair.
    """
    ids = [r["index"] for r in records]
    out: dict[str, Any] = {"draws_per_example": draws, "similarity": similarity_name, "perturbations": {}}
    for p in perturbations:
        spec = p.spec.canonical
        originals, perturbed = [], []
        for index in ids:
            prefix = stream_prefix(seed, index, spec)
            keys = [draw_key(prefix, k) for k in range(1, draws + 1)]
            xs = [sources[index]] * draws
            originals += xs
            perturbed += list(p.apply(xs, keys))
        changed_mask = [not _same(x, y) for x, y in zip(originals, perturbed)]
        n_edits = [edits(x, y) if c else 0 for x, y, c in zip(originals, perturbed, changed_mask)]
        changed = rate(sum(changed_mask), len(changed_mask))
        flips = sorted(
            (
                r
                for r in records
                if (r["first_flip"].get(spec) or 0) > 0 and r.get(flipped_field, {}).get(spec) is not None
            ),
            key=lambda r: (r["first_flip"][spec], str(r["index"])),
        )
        flip_pairs = [(sources[r["index"]], r[flipped_field][spec]) for r in flips]
        entry: dict[str, Any] = {
            "n_draws": changed.n,
            "changed_share": changed.value,
            "changed_share_ci95": list(changed.ci) if changed.ci else None,
            "mean_edits": float(np.mean(n_edits)) if n_edits else None,
            "mean_edits_changed": float(np.mean([e for e, c in zip(n_edits, changed_mask) if c]))
            if any(changed_mask)
            else None,
            "similarity_changed": None,
            "similarity_first_flips": None,
        }
        flip_sims: list[float | None] = [None] * len(flips)
        if similarity is not None:
            pairs = [(x, y) for x, y, c in zip(originals, perturbed, changed_mask) if c]
            sims = similarity([x for x, _ in pairs], [y for _, y in pairs]) if pairs else []
            entry["similarity_changed"] = summary(sims)
            if flip_pairs:
                flip_sims = [float(s) for s in similarity([x for x, _ in flip_pairs], [y for _, y in flip_pairs])]
                entry["similarity_first_flips"] = summary(flip_sims)
        entry["first_flips"] = [
            {
                "index": r["index"],
                "label": r["label"],
                "first_flip": r["first_flip"][spec],
                "edits": edits(x, y),
                "similarity": s,
                "diff": render(x, y),
            }
            for r, (x, y), s in zip(flips, flip_pairs, flip_sims)
        ]
        out["perturbations"][spec] = entry
    return out


def _same(x: Any, y: Any) -> bool:
    if x is y:
        return True
    try:
        return bool(np.array_equal(np.asarray(x), np.asarray(y))) if not isinstance(x, str) else x == y
    except Exception:  # noqa: BLE001 - inputs of odd types: compare as objects
        return x == y
