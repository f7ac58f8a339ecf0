"""Word senses in WordNet's order, per part of speech: where ``synonym`` constraints get
parts of speech and sense frequencies (the shared ``{lemma: [synonyms]}`` file has neither).

The bundled table ``data/wordnet30_senses.json.gz`` is derived from Princeton WordNet 3.0
(WordNet License, kept in the file's ``license`` field) by ``scripts/build_wordnet_senses.py``.
``$TEXTROBUST_SENSES`` may point to another table of the same shape.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path

from textrobust.core.fingerprint import sha256_hex, short_id
from textrobust.errors import UserError

ENV_VAR = "TEXTROBUST_SENSES"
BUNDLED = Path(__file__).parent / "data" / "wordnet30_senses.json.gz"


@dataclass(frozen=True)
class Sense:
    """One sense of a word: its SemCor tag count (0 when untagged) and the other lemmas in it."""

    count: int
    lemmas: tuple[str, ...]


class SenseTable:
    """``table.senses(word, pos)``: the senses of a lowercase word for a part of speech
    (``n``, ``v``, ``a``, ``r``; ``None`` = all), most frequent first."""

    def __init__(self, table: dict[str, dict[str, list]], source: str, digest: str | None = None) -> None:
        self._table = table
        self.source = source
        self.digest = digest if digest is not None else sha256_hex(json.dumps(table, sort_keys=True).encode())

    @property
    def identity(self) -> str:
        """The content's sha256 (first 16 hex digits; of a file's JSON text, a gzipped one
        decompressed), wherever it was loaded from: what the candidates depend on. In ``run.json``."""
        return short_id(self.digest)

    def senses(self, word: str, pos: str | None = None) -> tuple[Sense, ...]:
        entry = self._table.get(word.lower(), {})
        parts = [pos] if pos is not None else sorted(entry)
        return tuple(Sense(int(c), tuple(lemmas)) for p in parts for c, lemmas in entry.get(p, ()))

    def parts_of_speech(self, word: str) -> tuple[str, ...]:
        return tuple(sorted(self._table.get(word.lower(), {})))


def from_mapping(table: dict[str, dict[str, list]], source: str = "mapping") -> SenseTable:
    """A table from ``{word: {pos: [[count, [lemmas]], ...]}}``."""
    return SenseTable({k.lower(): v for k, v in table.items()}, source)


def load_senses(path: str | None = None) -> SenseTable:
    """The (process-wide, cached) table at ``path``, else ``$TEXTROBUST_SENSES``, else the bundled
    WordNet 3.0 table; the location is resolved on every call, so a changed variable is honoured."""
    return _load_senses_at(str(Path(path or os.environ.get(ENV_VAR) or BUNDLED).resolve()))


@functools.lru_cache(maxsize=2)
def _load_senses_at(location: str) -> SenseTable:
    chosen = Path(location)
    if not chosen.is_file():
        raise UserError(f"sense table not found: {str(chosen)!r}")
    opener = gzip.open if chosen.suffix == ".gz" else open
    with opener(chosen, "rb") as f:
        raw = f.read()
    payload = json.loads(raw.decode("utf-8"))
    return SenseTable(payload["senses"], str(chosen), sha256_hex(raw))
