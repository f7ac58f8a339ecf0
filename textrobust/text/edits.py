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
from typing import Callable, Sequence

from textrobust.core.random import uniforms_ragged
from textrobust.text.words import letters, match_case, split_affixes

# Neighbouring keys on a QWERTY keyboard (same row and the rows above/below).
QWERTY_NEIGHBOURS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx",
    "f": "drtgvc", "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop",
    "z": "asx", "x": "zsdc", "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip

TYPO_OPERATIONS = ("substitute", "swap", "delete", "insert")

Edit = list[str] | None  # the words of a draw, or None: the draw is the original text


@dataclass(frozen=True, eq=False)
class Parsed:
    """A text split once: words, their ``(prefix, core, suffix)`` and typo-able cores."""

    text: str
    words: tuple[str, ...]
    affixes: tuple[tuple[str, str, str], ...]
    typo_ok: tuple[bool, ...]  # a core of 3+ letters
    keyed: tuple[tuple[int, ...], ...]  # positions of the core's letters on the keyboard map


@functools.lru_cache(maxsize=8192)
def parse(text: str) -> Parsed:
    """The parsed form of ``text`` (cached: an example's draws parse it once)."""
    words = tuple(text.split())
    affixes = tuple(split_affixes(w) for w in words)
    typo_ok = tuple(letters(core) >= 3 for _, core, _ in affixes)
    keyed = tuple(tuple(i for i, ch in enumerate(core) if ch.lower() in QWERTY_NEIGHBOURS) for _, core, _ in affixes)
    return Parsed(text, words, affixes, typo_ok, keyed)


def render(parsed: Parsed, edit: Edit) -> str:
    """The text of a draw: the original object when unchanged, else words joined by spaces."""
    return parsed.text if edit is None else " ".join(edit)


EditFn = Callable[[Parsed, list, int], Edit]


def edit_batch(texts: Sequence[str], keys: Sequence[int], per_word: int, fn: EditFn) -> list[tuple[Parsed, Edit]]:
    """``(parsed text, edit)`` of every draw: ``fn(parsed, u, offset)`` reads the draw's numbers
    ``u[offset : offset + per_word * len(words)]``, all drawn in one vectorised call."""
    parsed = [parse(t) for t in texts]
    counts = [per_word * len(p.words) for p in parsed]
    flat, offsets = uniforms_ragged(keys, counts)
    u = flat.tolist()
    return [(p, fn(p, u, off) if p.words else None) for p, off in zip(parsed, offsets.tolist())]


# ---- the edits of each perturbation (numbers per word, then the function) ----------------


def delete_edit(p: float) -> tuple[int, EditFn]:
    """Each word deleted when its number is below ``p``."""

    def fn(parsed: Parsed, u: list, off: int) -> Edit:
        words = parsed.words
        row = u[off : off + len(words)]
        kept = [w for w, x in zip(words, row) if x >= p]
        return None if len(kept) == len(words) else kept

    return 1, fn


def swap_edit(p: float) -> tuple[int, EditFn]:
    """Left to right: the pair at ``i`` swapped when number ``i`` is below ``p`` (then skip past it)."""

    def fn(parsed: Parsed, u: list, off: int) -> Edit:
        words = list(parsed.words)
        changed = False
        i = 0
        while i < len(words) - 1:
            if u[off + i] < p:
                words[i], words[i + 1] = words[i + 1], words[i]
                changed = True
                i += 2
            else:
                i += 1
        return words if changed else None

    return 1, fn


Options = Callable[[Parsed], Sequence[Sequence[str]]]  # replacement options per word


def synonym_edit(p: float, options: Options) -> tuple[int, EditFn]:
    """Word ``i`` with options replaced when number ``2i`` is below ``p``, by option
    ``floor(u[2i+1] * len(options))``, in the word's case and with its affixes."""

    def fn(parsed: Parsed, u: list, off: int) -> Edit:
        allowed = options(parsed)
        out = None
        for i, opts in enumerate(allowed):
            if opts and u[off + 2 * i] < p:
                if out is None:
                    out = list(parsed.words)
                pre, core, post = parsed.affixes[i]
                out[i] = pre + match_case(opts[int(u[off + 2 * i + 1] * len(opts))], core) + post
        return out

    return 2, fn


def insert_edit(p: float, options: Options) -> tuple[int, EditFn]:
    """For word ``i`` with options, when number ``3i`` is below ``p``, option
    ``floor(u[3i+1] * len)`` is inserted at position ``floor(u[3i+2] * (len(words) + 1))`` of
    the text as it is then (inserts in word order)."""

    def fn(parsed: Parsed, u: list, off: int) -> Edit:
        allowed = options(parsed)
        inserts = [
            (opts[int(u[off + 3 * i + 1] * len(opts))], u[off + 3 * i + 2])
            for i, opts in enumerate(allowed)
            if opts and u[off + 3 * i] < p
        ]
        if not inserts:
            return None
        words = list(parsed.words)
        for word, where in inserts:
            words.insert(int(where * (len(words) + 1)), word)
        return words

    return 3, fn


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


def typo_edit(p: float) -> tuple[int, EditFn]:
    """Word ``i`` of 3+ letters hit when number ``4i`` is below ``p`` by one keyboard edit:
    the operation from number ``4i+1``, the position from ``4i+2``, the neighbour key from ``4i+3``."""

    def fn(parsed: Parsed, u: list, off: int) -> Edit:
        out = None
        for i, ok in enumerate(parsed.typo_ok):
            j = off + 4 * i
            if ok and u[j] < p:
                if out is None:
                    out = list(parsed.words)
                pre, core, post = parsed.affixes[i]
                out[i] = pre + _typo(core, parsed.keyed[i], u[j + 1], u[j + 2], u[j + 3]) + post
        return out

    return 4, fn
