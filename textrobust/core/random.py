"""Per-draw random streams.

Reproducibility rule: draw ``k`` of example ``i`` under perturbation ``spec`` depends only on
``(seed, example id, canonical spec, k)``. Every draw gets its own 128-bit stream key derived
from that tuple by a cryptographic hash, so results do not depend on batch size, example
order, process count or device.

Two ways to consume a key:

* :func:`generator` gives a full ``numpy.random.Generator`` (PCG64) for per-item code;
* :func:`uniforms` / :func:`normals` draw many numbers for many keys at once, vectorised,
  from a counter-based SplitMix64 stream, for batched perturbations (images);
  :func:`uniforms_ragged` the same stream with a different count per key (text draws, whose
  count depends on the length of the text).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Hashable, Sequence

import numpy as np

_MASK64 = (1 << 64) - 1


def _digest(*parts: bytes, size: int = 16) -> bytes:
    h = hashlib.blake2b(digest_size=size)
    for part in parts:
        h.update(struct.pack("<I", len(part)))
        h.update(part)
    return h.digest()


def _id_bytes(example_id: Hashable) -> bytes:
    # Type-tagged so that example id 3 and example id "3" are different streams.
    return f"{type(example_id).__name__}:{example_id}".encode()


def stream_prefix(seed: int, example_id: Hashable, spec: str) -> bytes:
    """A digest of (seed, example id, spec); combine with a draw index via :func:`draw_key`."""
    return _digest(str(int(seed)).encode(), _id_bytes(example_id), spec.encode())


_DRAW_INDEX_HEADER = struct.pack("<I", 8)
_pack_draw_index = struct.Struct("<Q").pack


def draw_key(prefix: bytes, k: int) -> int:
    """The 128-bit stream key of draw ``k`` (1-based) under a :func:`stream_prefix`.

    Equal to ``_digest(prefix, pack("<Q", k))``, hashed in one call: this runs once per draw.
    """
    data = struct.pack("<I", len(prefix)) + prefix + _DRAW_INDEX_HEADER + _pack_draw_index(k)
    return int.from_bytes(hashlib.blake2b(data, digest_size=16).digest(), "little")


def draw_keys(prefix: bytes, start: int, stop: int) -> list[int]:
    """``[draw_key(prefix, k) for k in range(start, stop)]``, with the common bytes packed once."""
    head = struct.pack("<I", len(prefix)) + prefix + _DRAW_INDEX_HEADER
    blake, pack, from_bytes = hashlib.blake2b, _pack_draw_index, int.from_bytes
    return [from_bytes(blake(head + pack(k), digest_size=16).digest(), "little") for k in range(start, stop)]


def generator(key: int) -> np.random.Generator:
    """A numpy Generator seeded by a stream key; equal keys give equal streams."""
    return np.random.Generator(np.random.PCG64(key))


def _splitmix64(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _bits(keys: Sequence[int], count: int) -> np.ndarray:
    """``count`` 64-bit words for each key, as a (len(keys), count) uint64 array."""
    folded = np.array([((k >> 64) ^ k) & _MASK64 for k in keys], dtype=np.uint64)
    base = _splitmix64(folded)
    with np.errstate(over="ignore"):
        counters = np.arange(1, count + 1, dtype=np.uint64) * np.uint64(0xD1B54A32D192ED03)
        return _splitmix64(base[:, None] ^ counters[None, :])


def uniforms_ragged(keys: Sequence[int], counts: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """``counts[i]`` uniforms in [0, 1) for each key, all in one flat float64 array, and each
    key's offset into it: ``flat[offsets[i] : offsets[i] + counts[i]]`` equals
    ``uniforms([keys[i]], counts[i])[0]`` (the same stream), so a draw's numbers do not
    depend on the other keys computed with it."""
    counts_ = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(len(counts_), dtype=np.int64)
    if len(counts_) > 1:
        np.cumsum(counts_[:-1], out=offsets[1:])
    total = int(counts_.sum()) if len(counts_) else 0
    if total == 0:
        return np.zeros(0, dtype=np.float64), offsets
    folded = np.array([((k >> 64) ^ k) & _MASK64 for k in keys], dtype=np.uint64)
    base = np.repeat(_splitmix64(folded), counts_)
    counter = (np.arange(total, dtype=np.int64) - np.repeat(offsets, counts_) + 1).astype(np.uint64)
    with np.errstate(over="ignore"):
        bits = _splitmix64(base ^ (counter * np.uint64(0xD1B54A32D192ED03)))
    return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53)), offsets


def uniforms(keys: Sequence[int], count: int) -> np.ndarray:
    """``count`` uniform floats in [0, 1) per key: shape (len(keys), count), float64."""
    return (_bits(keys, count) >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def normals(keys: Sequence[int], count: int) -> np.ndarray:
    """``count`` standard normal floats per key (Box-Muller on :func:`uniforms`)."""
    half = (count + 1) // 2
    u = uniforms(keys, 2 * half)
    u1 = 1.0 - u[:, :half]  # in (0, 1], safe for log
    u2 = u[:, half:]
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], axis=1)
    return z[:, :count]
