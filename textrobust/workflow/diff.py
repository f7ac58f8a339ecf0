"""Word-level diff of an original text and a perturbed one, for showing what flipped a prediction."""

from __future__ import annotations

import difflib
import html
from typing import Callable


def word_ops(old: str, new: str) -> list[tuple[str, str, str]]:
    """``(tag, old_words, new_words)`` runs from :class:`difflib.SequenceMatcher` over
    whitespace-separated words; ``tag`` is ``equal``, ``replace``, ``delete`` or ``insert``."""
    a, b = old.split(), new.split()
    ops = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    return [(tag, " ".join(a[i1:i2]), " ".join(b[j1:j2])) for tag, i1, i2, j1, j2 in ops]


def _render(
    old: str, new: str, equal: Callable[[str], str], removed: Callable[[str], str], added: Callable[[str], str]
) -> str:
    parts = []
    for tag, a, b in word_ops(old, new):
        if tag == "equal":
            parts.append(equal(a))
            continue
        if a:
            parts.append(removed(a))
        if b:
            parts.append(added(b))
    return " ".join(parts)


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("*", "\\*").replace("~", "\\~").replace("_", "\\_")


def markdown_diff(old: str, new: str) -> str:
    """The new text with removed words as ``~~old~~`` and added words as ``**new**`` (markdown,
    table-safe: ``|`` and markup characters in the words are escaped)."""
    return _render(old, new, _md_escape, lambda a: f"~~{_md_escape(a)}~~", lambda b: f"**{_md_escape(b)}**")


def html_diff(old: str, new: str) -> str:
    """The same diff as HTML: ``<del>`` for removed words, ``<ins>`` for added ones (escaped)."""
    e = html.escape
    return _render(old, new, e, lambda a: f"<del>{e(a)}</del>", lambda b: f"<ins>{e(b)}</ins>")
