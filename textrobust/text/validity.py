"""The validity section of a text RPR report: word edits, encoder similarity, flips as word diffs."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from textrobust.core.perturbation import Perturbation
from textrobust.core.validity import measure_validity
from textrobust.errors import UserError
from textrobust.text.diffs import word_diff, word_edits

VALIDITY_DRAWS = 5  # draws 1..5 of every example are re-created for the changed/edit/similarity figures


def text_validity(
    sources: Mapping[Any, str],
    records: Sequence[Mapping[str, Any]],
    perturbations: Sequence[Perturbation],
    seed: int,
    *,
    draws: int = VALIDITY_DRAWS,
    encoder: Any = None,
) -> dict:
    """:func:`~textrobust.core.validity.measure_validity` for texts. Similarities use ``encoder``,
    else the default sentence encoder (:func:`~textrobust.text.encoder.load_encoder`); when it
    cannot be loaded they are ``null`` and ``similarity_unavailable`` says why."""
    from textrobust.text.encoder import cosine, load_encoder

    reason = None
    if encoder is None:
        try:
            encoder = load_encoder()
        except UserError as e:
            reason = str(e)
    similarity = None
    if encoder is not None:
        similarity = lambda a, b: cosine(list(a), list(b), encoder)  # noqa: E731
    out = measure_validity(
        sources,
        records,
        perturbations,
        seed,
        draws=draws,
        edits=word_edits,
        render=word_diff,
        similarity=similarity,
        similarity_name=None if encoder is None else f"cosine, mean-pooled {encoder.name}",
    )
    if reason:
        out["similarity_unavailable"] = reason
    return out
