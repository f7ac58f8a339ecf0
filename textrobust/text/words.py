"""Words of a text: whitespace tokens, with punctuation around a word kept apart from it."""

from __future__ import annotations

import re

_AFFIX = re.compile(r"^([^\w]*)(.*?)([^\w]*)$", re.DOTALL)


def split_affixes(token: str) -> tuple[str, str, str]:
    """``(leading punctuation, core, trailing punctuation)`` of a whitespace token.

    ``"(great!)"`` -> ``("(", "great", "!)")``; a token of punctuation only is all prefix.
    """
    match = _AFFIX.match(token)
    assert match is not None  # the pattern matches every string
    return match.group(1), match.group(2), match.group(3)


def match_case(replacement: str, original: str) -> str:
    """``replacement`` in the case pattern of ``original`` (UPPER, Title or as given)."""
    if len(original) > 1 and original.isupper():
        return replacement.upper()
    if original[:1].isupper():
        return replacement[:1].upper() + replacement[1:]
    return replacement


def letters(word: str) -> int:
    """The number of alphabetic characters in ``word``."""
    return sum(ch.isalpha() for ch in word)
