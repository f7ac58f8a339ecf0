"""Where synonyms come from: a JSON file ``{lemma: [synonym, ...]}``, or NLTK's WordNet.

Resolution order: an explicit path, then ``$TEXTROBUST_SYNONYMS``, then NLTK's WordNet when
``nltk`` and its ``wordnet`` corpus are installed (nothing is ever downloaded).
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

from textrobust.core.fingerprint import sha256_hex, short_id
from textrobust.errors import UserError

ENV_VAR = "TEXTROBUST_SYNONYMS"
MISSING_HELP = (
    "no synonym source: pass --synonyms PATH (a JSON file {lemma: [synonyms]}), "
    f"set {ENV_VAR}, or install nltk and its wordnet corpus (python -m nltk.downloader wordnet)"
)

# Function words never count as having synonyms (after the EDA recipe, Wei & Zou 2019):
# WordNet gives "a" -> "adenine" and "it" -> "information technology".
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom this
    that these those am is are was were be been being have has had having do does did doing a an
    the and but if or because as until while of at by for with about against between into through
    during before after above below to from up down in out on off over under again further then
    once here there when where why how all any both each few more most other some such no nor not
    only own same so than too very s t can will just don should now 's 't n't 're 've 'd 'll 'm""".split()
)


class Synonyms:
    """Synonyms of a lowercase word, excluding the word itself and stop words."""

    def __init__(self, lookup: Callable[[str], Sequence[str]], source: str, digest: str | None = None) -> None:
        self._lookup = lookup
        self.source = source
        self.digest = digest  # sha256 of the content, where there is one

    @property
    def identity(self) -> str:
        """What the draws depend on: the content's sha256 (first 16 hex digits) where there is
        content to hash (a file or mapping, wherever it lies), else the source. In ``run.json``."""
        return self.source if self.digest is None else short_id(self.digest)

    @functools.lru_cache(maxsize=200_000)  # noqa: B019 - a source lives as long as the run that loads it
    def __call__(self, word: str) -> tuple[str, ...]:
        key = word.lower()
        if key in STOPWORDS:
            return ()
        return tuple(s for s in self._lookup(key) if s.lower() != key)


def from_mapping(mapping: Mapping[str, Sequence[str]], source: str = "mapping", digest: str | None = None) -> Synonyms:
    """Synonyms from an in-memory ``{lemma: [synonyms]}`` mapping. ``digest``: the sha256 of the
    content it was read from (default: of the normalised table as sorted JSON)."""
    table = {str(k).lower(): [str(s).replace("_", " ") for s in v] for k, v in mapping.items()}
    if digest is None:
        digest = sha256_hex(json.dumps(table, sort_keys=True).encode())
    return Synonyms(lambda w: table.get(w, ()), source, digest)


def from_file(path: str | os.PathLike) -> Synonyms:
    """Synonyms from a JSON file ``{lemma: [synonyms]}``. A file is parsed once per process while
    its content is unchanged (the same path and sha256 of its bytes): repeated runs in one process
    (a ``Trainer`` callback's evaluations, a notebook) share its table and its lookup cache, and a
    rewritten file is always parsed again, however soon and at whatever size."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"synonyms file not found: {str(p)!r}")
    raw = p.read_bytes()
    key = (str(p.resolve()), sha256_hex(raw))  # hashing the shared table: 7 ms; parsing it: 0.33 s
    table = _TABLES.get(key)
    if table is None:
        table = _parse_file(raw, key[0], key[1])
        while len(_TABLES) >= _TABLES_KEPT:
            del _TABLES[next(iter(_TABLES))]  # the oldest
        _TABLES[key] = table
    return table


_TABLES: dict[tuple[str, str], Synonyms] = {}
_TABLES_KEPT = 4


def _parse_file(raw: bytes, path: str, digest: str) -> Synonyms:
    """The table held by ``raw``, the bytes of the file at ``path`` whose sha256 is ``digest``."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UserError(f"synonyms file {path!r} is not valid JSON: {e}") from None
    if not isinstance(data, dict) or not all(isinstance(v, list) for v in list(data.values())[:1000]):
        raise UserError(f"synonyms file {path!r} must hold a JSON object {{lemma: [synonyms]}}")
    return from_mapping(data, source=path, digest=digest)  # the file's bytes: no second serialisation


def from_nltk() -> Synonyms | None:
    """WordNet synonyms through NLTK, or ``None`` when nltk or its corpus is missing."""
    try:
        import nltk
        from nltk.corpus import wordnet
    except ImportError:
        return None
    try:
        nltk.data.find("corpora/wordnet")
    except LookupError:
        try:
            nltk.data.find("corpora/wordnet.zip")
        except LookupError:
            return None

    def lookup(word: str) -> list[str]:
        names = {l.name().replace("_", " ") for s in wordnet.synsets(word) for l in s.lemmas()}
        return sorted(names)

    return Synonyms(lookup, "nltk:wordnet")


def resolve(path: str | os.PathLike | None = None) -> Synonyms | None:
    """The synonym source to use (see module docstring), or ``None`` when there is none."""
    chosen = path or os.environ.get(ENV_VAR)
    if chosen:
        return from_file(chosen)
    return from_nltk()
