"""The fingerprint of the examples a run evaluates, recorded in ``run.json``.

Guarantee: the same rows (ids, in the run's order), inputs, labels and label names give the same
fingerprint wherever and however the data were loaded (a path spelled another way, a copy, a
``Dataset`` object); a change to any of them (an edited text, a relabelled row, another limit or
shuffle) gives another, except with the negligible chance of a sha256 collision on 64 bits.
``--resume`` and ``compare`` use it to refuse mixing or pairing results of different data.
"""

from __future__ import annotations

import hashlib
import json
from typing import Hashable, Iterable, Sequence


def sha256_hex(data: bytes) -> str:
    """The sha256 of ``data``, in hex."""
    return hashlib.sha256(data).hexdigest()


def short_id(hexdigest: str) -> str:
    """How ``run.json`` names content by its sha256: ``sha256:`` and the first 16 hex digits."""
    return f"sha256:{hexdigest[:16]}"


def examples_fingerprint(
    ids: Sequence[Hashable], labels: Sequence[int], label_names: Sequence[str] | None, inputs: Iterable[bytes]
) -> str:
    """``sha256:`` and 16 hex digits over the rows' ids, labels, label names and inputs (each
    input's bytes, length-prefixed, so no two different sequences of inputs hash alike)."""
    digest = hashlib.sha256()
    header = {"ids": list(ids), "labels": [int(y) for y in labels], "label_names": label_names}
    plain = json.dumps(header, ensure_ascii=False, separators=(",", ":"), default=_scalar)
    digest.update(plain.encode("utf-8"))
    for data in inputs:
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return short_id(digest.hexdigest())


def _scalar(value: object) -> object:
    """A numpy scalar id as the Python value it holds (as in the records)."""
    item = getattr(value, "item", None)
    if item is None:
        raise TypeError(f"an example id must be JSON, got {type(value).__name__}")
    return item()
