"""Text draws as word edits, from batched counter-based random streams.

A text is parsed once (:func:`parse`, cached): its whitespace words, each word's affixes and
core, whether a typo may hit it and where. A draw of a word-level perturbation is then an
*edit*: the list of words of the perturbed text, or ``None`` when nothing changed (the draw is
the original text itself). The edit is a function of the parsed text and a row of uniform
numbers only; those rows come, for a whole batch of draws at once, from
:func:`~textrobust.core.random.uniforms_ragged`: ``per_word`` numbers for each word of the
source, at fixed positions (word ``i`` reads numbers ``per_word * i`` .. ``per_word * i +
per_word - 1``), so a draw does not depend on the batch it is computed in.

Two renderers use the same edits: the text (``" ".join(words)``, or the original object when
unchanged) and the token ids (:mod:`textrobust.text.tokens`), so both always agree.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from itertools import chain, compress, groupby, repeat
from typing import Callable, Sequence, TypeVar

import numpy as np

from textrobust.core.random import uniforms_ragged
from textrobust.text.words import letters, match_case, split_affixes

T = TypeVar("T")

# Neighbouring keys on a QWERTY keyboard (same row and the rows above/below).
QWERTY_NEIGHBOURS = {
    "q": "wa",
    "w": "qeas",
    "e": "wrsd",
    "r": "etdf",
    "t": "ryfg",
    "y": "tugh",
    "u": "yihj",
    "i": "uojk",
    "o": "ipkl",
    "p": "ol",
    "a": "qwsz",
    "s": "awedxz",
    "d": "serfcx",
    "f": "drtgvc",
    "g": "ftyhbv",
    "h": "gyujnb",
    "j": "huikmn",
    "k": "jiolm",
    "l": "kop",
    "z": "asx",
    "x": "zsdc",
    "c": "xdfv",
    "v": "cfgb",
    "b": "vghn",
    "n": "bhjm",
    "m": "njk",
}

TYPO_OPERATIONS = ("substitute", "swap", "delete", "insert")

Edit = list[str] | None  # the words of a draw, or None: the draw is the original text


@dataclass(frozen=True, eq=False)
class Parsed:
    """A text split once: words, their ``(prefix, core, suffix)`` and typo-able cores."""

    text: str
    words: tuple[str, ...]
    affixes: tuple[tuple[str, str, str], ...]
    typo_mask: np.ndarray  # bool per word: a core of 3+ letters
    keyed: tuple[tuple[int, ...], ...]  # positions of the core's letters on the keyboard map


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Parsed:
    """The parsed form of ``text`` (cached: an example's draws parse it once)."""
    words = tuple(text.split())
    affixes = tuple(split_affixes(w) for w in words)
    typo_mask = np.array([letters(core) >= 3 for _, core, _ in affixes], dtype=bool)
    keyed = tuple(tuple(i for i, ch in enumerate(core) if ch.lower() in QWERTY_NEIGHBOURS) for _, core, _ in affixes)
    return Parsed(text, words, affixes, typo_mask, keyed)


def render(parsed: Parsed, edit: Edit) -> str:
    """The text of a draw: the original object when unchanged, else words joined by spaces."""
    return parsed.text if edit is None else " ".join(edit)


Options = Callable[[Parsed], Sequence[Sequence[str]]]  # replacement options per word


@dataclass(frozen=True)
class EditRule:
    """How one perturbation edits a parsed text from its numbers.

    Each word has ``per_word`` numbers; the first is the word's coin: the word is *hit* when
    it is below ``p`` and the word is ``eligible`` (``None``: every word). ``apply(parsed,
    hits)`` gets the hit words in order as ``(word index, [the word's other numbers])`` and
    returns the draw's words (``None``: unchanged). Coins are compared for a whole batch of
    draws in one vectorised step, so Python only sees the hit words."""

    per_word: int
    p: float
    apply: Callable[[Parsed, list], Edit]
    eligible: Callable[[Parsed], np.ndarray] | None = None
    keep_mask: bool = False  # apply gets the draw's keep list (coin >= p per word) instead (delete)


def runs(items: Sequence[T]) -> tuple[list[T], list[int]]:
    """Each run of equal consecutive ``items`` once, and the runs' lengths. A batch holds one
    example's draws in a row, so per-text work done per run is done once per example."""
    values: list[T] = []
    counts: list[int] = []
    for value, group in groupby(items):
        values.append(value)
        counts.append(sum(1 for _ in group))
    return values, counts


def expand(values: Sequence[T], counts: Sequence[int]) -> list[T]:
    """``values[i]`` repeated ``counts[i]`` times, in order (the inverse of :func:`runs`)."""
    return list(chain.from_iterable(map(repeat, values, counts)))


def edit_batch(texts: Sequence[str], keys: Sequence[int], rule: EditRule) -> list[tuple[Parsed, Edit]]:
    """``(parsed text, edit)`` of every draw, word ``i`` of a draw reading numbers
    ``per_word * i ..`` of its stream; all numbers drawn and all coins compared at once."""
    run_texts, counts = runs(texts)
    run_parsed = [parse(t) for t in run_texts]
    parsed = expand(run_parsed, counts)
    run_lengths = np.fromiter((len(p.words) for p in run_parsed), dtype=np.int64, count=len(run_parsed))
    lengths = np.repeat(run_lengths, counts)
    flat, _ = uniforms_ragged(keys, (lengths * rule.per_word).tolist())
    numbers = flat.reshape(-1, rule.per_word)  # one row per word of every draw, in order
    hit = numbers[:, 0] < rule.p
    starts = np.zeros(len(parsed) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    if rule.eligible is not None and len(numbers):
        # each run's eligibility once; word j of a draw of run r reads position run_start[r] + j
        run_starts = np.cumsum(run_lengths) - run_lengths
        shift = np.repeat(np.repeat(run_starts, counts) - starts[:-1], lengths)
        shift += np.arange(len(numbers))
        hit &= np.concatenate([rule.eligible(p) for p in run_parsed])[shift]
    out: list[Edit] = [None] * len(parsed)
    rows = np.flatnonzero(hit)
    if len(rows) == 0:
        return list(zip(parsed, out))
    draw_of = np.searchsorted(starts, rows, side="right") - 1
    if rule.keep_mask:
        keep = (~hit).tolist()
        start_list = starts.tolist()
        for d in np.unique(draw_of).tolist():
            out[d] = rule.apply(parsed[d], keep[start_list[d] : start_list[d + 1]])
        return list(zip(parsed, out))
    hits = list(zip((rows - starts[draw_of]).tolist(), numbers[rows, 1:].tolist()))
    # hits are grouped by draw, words in order: each draw's hits are one slice
    first = np.flatnonzero(np.diff(draw_of, prepend=-1))
    bounds = np.append(first, len(rows)).tolist()
    apply = rule.apply
    for d, j, k in zip(draw_of[first].tolist(), bounds, bounds[1:]):
        out[d] = apply(parsed[d], hits[j:k])
    return list(zip(parsed, out))


# ---- the rules of each perturbation ---------------------------------------------------------


def delete_edit(p: float) -> EditRule:
    """Each word deleted when its number is below ``p``."""

    def apply(parsed: Parsed, keep: list) -> Edit:
        return list(compress(parsed.words, keep))

    return EditRule(1, p, apply, keep_mask=True)


def swap_edit(p: float) -> EditRule:
    """Left to right: the pair at ``i`` swapped when number ``i`` is below ``p`` (then the scan
    moves past both words, so the coin of ``i + 1`` is not used)."""

    def apply(parsed: Parsed, hits: list) -> Edit:
        words = list(parsed.words)
        last = len(words) - 1
        changed = False
        skip_to = 0
        for i, _ in hits:
            if i < skip_to or i >= last:
                continue
            words[i], words[i + 1] = words[i + 1], words[i]
            changed = True
            skip_to = i + 2
        return words if changed else None

    return EditRule(1, p, apply)


def _has_options(options: Options) -> Callable[[Parsed], np.ndarray]:
    def eligible(parsed: Parsed) -> np.ndarray:
        return (
            options.mask(parsed)
            if hasattr(options, "mask")
            else np.array([bool(o) for o in options(parsed)], dtype=bool)
        )  # type: ignore[attr-defined]

    return eligible


def synonym_edit(p: float, options: Options) -> EditRule:
    """Word ``i`` with options replaced when number ``2i`` is below ``p``, by option
    ``floor(u[2i+1] * len(options))``, in the word's case and with its affixes."""

    def apply(parsed: Parsed, hits: list) -> Edit:
        allowed = options(parsed)
        out = list(parsed.words)
        for i, (choice,) in hits:
            opts = allowed[i]
            pre, core, post = parsed.affixes[i]
            out[i] = pre + match_case(opts[int(choice * len(opts))], core) + post
        return out

    return EditRule(2, p, apply, _has_options(options))


def insert_edit(p: float, options: Options) -> EditRule:
    """For word ``i`` with options, when number ``3i`` is below ``p``, option
    ``floor(u[3i+1] * len)`` is inserted at position ``floor(u[3i+2] * (len(words) + 1))`` of
    the text as it is then (inserts in word order)."""

    def apply(parsed: Parsed, hits: list) -> Edit:
        allowed = options(parsed)
        words = list(parsed.words)
        for i, (choice, where) in hits:
            opts = allowed[i]
            words.insert(int(where * (len(words) + 1)), opts[int(choice * len(opts))])
        return words

    return EditRule(3, p, apply, _has_options(options))


def _typo(core: str, keyed: tuple[int, ...], op_u: float, pos_u: float, key_u: float) -> str:
    op = TYPO_OPERATIONS[int(op_u * 4)]
    n = len(core)
    if op == "swap" or (op != "delete" and not keyed):  # no letter on the keyboard map: a swap
        i = int(pos_u * (n - 1))
        return core[:i] + core[i + 1] + core[i] + core[i + 2 :]
    if op == "delete":
        i = int(pos_u * n)
        return core[:i] + core[i + 1 :]
    i = keyed[int(pos_u * len(keyed))]
    options = QWERTY_NEIGHBOURS[core[i].lower()]
    new = options[int(key_u * len(options))]
    new = new.upper() if core[i].isupper() else new
    if op == "substitute":
        return core[:i] + new + core[i + 1 :]
    return core[: i + 1] + new + core[i + 1 :]  # insert a neighbour key after the letter


def typo_edit(p: float) -> EditRule:
    """Word ``i`` of 3+ letters hit when number ``4i`` is below ``p`` by one keyboard edit:
    the operation from number ``4i+1``, the position from ``4i+2``, the neighbour key from ``4i+3``."""

    def apply(parsed: Parsed, hits: list) -> Edit:
        out = list(parsed.words)
        for i, (op_u, pos_u, key_u) in hits:
            pre, core, post = parsed.affixes[i]
            out[i] = pre + _typo(core, parsed.keyed[i], op_u, pos_u, key_u) + post
        return out

    return EditRule(4, p, apply, lambda parsed: parsed.typo_mask)
