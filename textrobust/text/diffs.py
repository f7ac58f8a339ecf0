"""Word-level differences between an original text and a perturbed one."""

from __future__ import annotations

import difflib


def _opcodes(a: str, b: str):
    x, y = a.split(), b.split()
    return x, y, difflib.SequenceMatcher(a=x, b=y, autojunk=False).get_opcodes()


def word_edits(original: str, perturbed: str) -> int:
    """Words changed between the texts (difflib's word alignment; a replaced run counts its
    longer side, so a synonym substitution is 1, a deletion 1, a swap of two words 2)."""
    _, _, ops = _opcodes(original, perturbed)
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in ops if tag != "equal")


def word_diff(original: str, perturbed: str) -> str:
    """Markdown diff: removed words ``~~struck~~``, added words ``**bold**``:
    ``the plot is ~~solid~~ **strong**``."""
    x, y, ops = _opcodes(original, perturbed)
    out: list[str] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal":
            out += x[i1:i2]
            continue
        if i2 > i1:
            out.append("~~" + " ".join(x[i1:i2]) + "~~")
        if j2 > j1:
            out.append("**" + " ".join(y[j1:j2]) + "**")
    return " ".join(out)
