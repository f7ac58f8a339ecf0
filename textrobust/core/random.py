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

import functools
import hashlib
import struct
from typing import Any, Hashable, Iterator, Sequence

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


def draw_keys(prefix: bytes, start: int, stop: int) -> DrawKeys:
    """``[draw_key(prefix, k) for k in range(start, stop)]`` as :class:`DrawKeys`: the common
    bytes are hashed once and each key continues a copy of that hash state (the same digests)."""
    copy, pack = _hashed_head(prefix).copy, _pack_draw_index
    digests = []
    for k in range(start, stop):
        h = copy()
        h.update(pack(k))
        digests.append(h.digest())
    return DrawKeys(b"".join(digests))


@functools.lru_cache(maxsize=4096)
def _hashed_head(prefix: bytes) -> Any:
    """The hash state after the bytes every draw key of ``prefix`` starts with (only copied)."""
    return hashlib.blake2b(struct.pack("<I", len(prefix)) + prefix + _DRAW_INDEX_HEADER, digest_size=16)


class DrawKeys(Sequence[int]):
    """Stream keys held as their 16-byte digests (each key is its digest read as a
    little-endian integer): a sequence of the same ints as :func:`draw_key` gives, whose
    streams are started by :func:`uniforms` and friends without an int per key."""

    __slots__ = ("digests",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, digests: bytes) -> None:
        if len(digests) % 16:
            raise ValueError("DrawKeys holds 16-byte digests")
        self.digests = digests

    @classmethod
    def join(cls, blocks: Sequence[Sequence[int]]) -> Sequence[int]:
        """The keys of every block in order: :class:`DrawKeys` when every block is, else a list."""
        if all(type(b) is DrawKeys for b in blocks):
            return cls(b"".join([b.digests for b in blocks]))  # type: ignore[attr-defined]
        return [k for b in blocks for k in b]

    def __len__(self) -> int:
        return len(self.digests) >> 4

    def __getitem__(self, i: int | slice) -> Any:  # type: ignore[override]
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                return DrawKeys(self.digests[16 * start : 16 * max(start, stop)])
            return [self[j] for j in range(start, stop, step)]
        n = len(self)
        if not -n <= i < n:
            raise IndexError(i)
        i %= n
        return int.from_bytes(self.digests[16 * i : 16 * i + 16], "little")

    def __iter__(self) -> Iterator[int]:
        d = self.digests
        return (int.from_bytes(d[i : i + 16], "little") for i in range(0, len(d), 16))

    def __eq__(self, other: object) -> bool:
        if type(other) is DrawKeys:
            return self.digests == other.digests
        return isinstance(other, Sequence) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"DrawKeys({list(self)!r})"

    def folded(self) -> np.ndarray:
        """Each key's high 64 bits xor its low 64 bits, as uint64."""
        words = np.frombuffer(self.digests, dtype="<u8").reshape(-1, 2)
        return np.bitwise_xor(words[:, 0], words[:, 1], dtype=np.uint64)


def generator(key: int) -> np.random.Generator:
    """A numpy Generator seeded by a stream key; equal keys give equal streams."""
    return np.random.Generator(np.random.PCG64(key))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_COUNTER_STEP = np.uint64(0xD1B54A32D192ED03)
_SHIFTS = (np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11))
_TO_UNIT = 1.0 / (1 << 53)
_CHUNK = 1 << 14  # numbers per block: the temporaries stay in the cache


def _splitmix64_(x: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """SplitMix64's output function of ``x``, in place (``tmp``: scratch of the same shape)."""
    s30, s27, s31, _ = _SHIFTS
    with np.errstate(over="ignore"):
        x += _GOLDEN
        np.right_shift(x, s30, out=tmp)
        x ^= tmp
        x *= _MIX1
        np.right_shift(x, s27, out=tmp)
        x ^= tmp
        x *= _MIX2
        np.right_shift(x, s31, out=tmp)
        x ^= tmp
    return x


def _folded(keys: Sequence[int]) -> np.ndarray:
    """Each 128-bit key folded to 64 bits (high half xor low half) and mixed: its stream's base."""
    if type(keys) is DrawKeys:
        folded = keys.folded()
    else:
        folded = np.array([((k >> 64) ^ k) & _MASK64 for k in keys], dtype=np.uint64)
    return _splitmix64_(folded, np.empty_like(folded))


def _unit(bits: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = (bits >> 11) / 2**53`` (uniforms in [0, 1)); ``bits`` is overwritten."""
    bits >>= _SHIFTS[3]
    np.multiply(bits, _TO_UNIT, out=out)


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
    bits = np.repeat(_folded(keys), counts_)
    counter = (np.arange(total, dtype=np.int64) - np.repeat(offsets, counts_) + 1).astype(np.uint64)
    with np.errstate(over="ignore"):
        counter *= _COUNTER_STEP
    bits ^= counter
    _splitmix64_(bits, counter)
    out = np.empty(total, dtype=np.float64)
    _unit(bits, out)
    return out, offsets


def uniforms(keys: Sequence[int], count: int) -> np.ndarray:
    """``count`` uniform floats in [0, 1) per key: shape (len(keys), count), float64."""
    base = _folded(keys)
    out = np.empty((len(base), count), dtype=np.float64)
    if count == 0 or len(base) == 0:
        return out
    with np.errstate(over="ignore"):
        counters = np.arange(1, count + 1, dtype=np.uint64) * _COUNTER_STEP
    rows = max(1, _CHUNK // count)  # computed in blocks of rows: same numbers, fewer cache misses
    bits = np.empty((min(rows, len(base)), count), dtype=np.uint64)
    tmp = np.empty_like(bits)
    for start in range(0, len(base), rows):
        block = base[start : start + rows]
        n = len(block)
        np.bitwise_xor(block[:, None], counters[None, :], out=bits[:n])
        _splitmix64_(bits[:n], tmp[:n])
        _unit(bits[:n], out[start : start + n])
    return out


def normals(keys: Sequence[int], count: int) -> np.ndarray:
    """``count`` standard normal floats per key (Box-Muller on :func:`uniforms`)."""
    half = (count + 1) // 2
    u = uniforms(keys, 2 * half)
    u1 = 1.0 - u[:, :half]  # in (0, 1], safe for log
    u2 = u[:, half:]
    r = np.sqrt(-2.0 * np.log(u1))
    z = np.concatenate([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], axis=1)
    return z[:, :count]
