"""The batching engine: every model call of every entry point goes through :class:`Engine`.

The engine runs *jobs*. A job owns one example and decides which inputs it needs classified
next (random draws of a perturbation, or given inputs); the engine, round after round:

1. admits new jobs while there is room (continuous batching: a job retires as soon as it is
   done and a new example takes its place, so there is no per-example loop and no padding of
   the schedule to the slowest example);
2. asks each active job for its next queries, spreading a round budget over the jobs;
3. materialises draws, batched per perturbation (``Perturbation.apply``);
4. looks each input up in a per-example cache and collapses duplicates, so identical
   inputs of an example reach the model once;
5. sorts what is left by size and cuts it into batches of ``batch_size``, so each batch is
   padded only to its own longest item;
6. hands the predictions back to the jobs, and reports finished jobs through ``on_done``.

Results never depend on the round budget or the batch size: a job's draws are seeded by
their index, not by when they are run (see :mod:`textrobust.core.random`).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Hashable, Iterable, Iterator, Protocol, Sequence

import numpy as np

from textrobust.core.perturbation import Perturbation
from textrobust.core.random import DrawKeys


@dataclass(frozen=True, slots=True)
class Draw:
    """Query: classify ``perturbation`` applied to the job's source input, from stream ``key``."""

    perturbation: Perturbation
    key: int


@dataclass(frozen=True, slots=True)
class Given:
    """Query: classify ``value`` as it is (the clean input, an enumerated deletion, ...)."""

    value: Any


@dataclass(frozen=True, slots=True)
class Draws:
    """Query: the draws of ``perturbation`` from streams ``keys``, in order (one input per key).

    The same inputs as ``[Draw(perturbation, k) for k in keys]``, without an object per draw."""

    perturbation: Perturbation
    keys: Sequence[int]


Query = Draw | Given | Draws


def _width(query: Query) -> int:
    return len(query.keys) if type(query) is Draws else 1


class Job(Protocol):
    """One example's work. The engine calls ``queries`` then ``receive`` until ``done``.

    Optional: a job with an integer attribute ``model_calls`` has it increased by the number of
    its inputs the engine sent to the model (after deduplication), so per-example costs can be
    reported; with deduplication on, that is the number of distinct keys the job asked for.
    """

    source: Any  # the clean input that Draw queries perturb

    @property
    def done(self) -> bool: ...

    def queries(self, budget: int) -> Sequence[Query]:
        """The inputs to classify this round; ``budget`` is a hint of how many would fit."""

    def receive(self, inputs: Sequence[Any], predictions: Sequence[int]) -> None:
        """The materialised inputs of the last ``queries`` and their predicted labels."""


class Classifier(Protocol):
    """Anything that maps a batch of inputs to predicted labels (one int per input)."""

    def __call__(self, inputs: Sequence[Any]) -> Sequence[int] | np.ndarray: ...


@dataclass
class EngineStats:
    """What the engine did: model calls are inputs actually sent to the model."""

    queries: int = 0
    model_calls: int = 0
    batches: int = 0
    rounds: int = 0

    @property
    def cache_hits(self) -> int:
        return self.queries - self.model_calls


@dataclass
class Engine:
    """Runs jobs with batched, sorted, deduplicated model calls.

    ``classify`` maps a list of inputs to labels. ``size`` (optional) orders inputs so that
    batches hold items of similar size; ``key`` (optional) gives a hashable identity used to
    classify identical inputs once per example (``None`` disables deduplication).
    ``round_size`` is the number of queries gathered per round (default ``8 * batch_size``,
    at least 256); larger rounds sort better, smaller ones retire jobs sooner.
    ``max_active`` caps the jobs in flight (default ``round_size``): with fewer jobs each
    gets a larger share of the round (``budget``), which means fewer Python calls per query
    for cheap models (images), at the cost of at most ``budget - 1`` queries a job asks for
    past its early exit. Results never depend on it. ``overlap`` prepares the next batch on
    the host while the model runs one (for classifiers with ``prepare``/``run``/``collect``;
    ``None``: when the classifier is ``asynchronous``, i.e. runs on CUDA).
    """

    classify: Classifier
    batch_size: int = 64
    size: Callable[[Any], int] | None = None
    key: Callable[[Any], Hashable] | None = None
    round_size: int | None = None
    max_active: int | None = None
    stats: EngineStats = field(default_factory=EngineStats)
    overlap: bool | None = None  # prepare batch t+1 while batch t runs; None: where the device is asynchronous

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.round_size is None:
            self.round_size = max(8 * self.batch_size, 256)
        if self.max_active is None:
            self.max_active = self.round_size
        if self.max_active < 1:
            raise ValueError("max_active must be at least 1")

    def run(self, jobs: Iterable[Job], on_done: Callable[[Job], None] | None = None) -> None:
        """Run every job to completion; ``on_done(job)`` is called as each one finishes."""
        pending: Iterator[Job] = iter(jobs)
        active: list[Job] = []
        caches: dict[int, dict[Hashable, int]] = {}
        exhausted = False
        while True:
            while not exhausted and len(active) < self.max_active:
                job = next(pending, None)
                if job is None:
                    exhausted = True
                elif job.done:
                    self._retire(job, on_done)
                else:
                    active.append(job)
                    caches[id(job)] = {}
            if not active:
                return
            budget = max(1, math.ceil(self.round_size / len(active)))
            self._round(active, budget, caches)
            still = []
            for job in active:
                if job.done:
                    del caches[id(job)]
                    self._retire(job, on_done)
                else:
                    still.append(job)
            active = still

    @staticmethod
    def _retire(job: Job, on_done: Callable[[Job], None] | None) -> None:
        if on_done is not None:
            on_done(job)

    def _round(self, active: list[Job], budget: int, caches: dict[int, dict[Hashable, int]]) -> None:
        self.stats.rounds += 1
        asked = [(job, list(job.queries(budget))) for job in active]
        widths = [sum(map(_width, queries)) for _, queries in asked]
        round_inputs = self._materialise(asked)
        if self.key is None and self.size is None:
            self._round_in_order(asked, widths, round_inputs)
            return
        inputs = round_inputs.flat()
        keys = [self.key(x) for x in inputs] if self.key is not None else None
        predictions: list[int | None] = [None] * len(inputs)
        to_run: list[int] = []  # positions whose input goes to the model
        waiting: list[tuple[int, int]] = []  # (position, position it copies)
        pos = 0
        for (job, _), width in zip(asked, widths):
            fresh = len(to_run)
            if keys is None:
                to_run.extend(range(pos, pos + width))
                pos += width
            else:
                cache = caches[id(job)]
                first_seen: dict[Hashable, int] = {}
                for i in range(pos, pos + width):
                    k = keys[i]
                    if k in cache:
                        predictions[i] = cache[k]
                    elif k in first_seen:
                        waiting.append((i, first_seen[k]))
                    else:
                        first_seen[k] = i
                        to_run.append(i)
                pos += width
            _count_calls(job, len(to_run) - fresh)
        self.stats.queries += len(inputs)
        self.stats.model_calls += len(to_run)
        if self.size is not None:
            to_run.sort(key=lambda i: self.size(inputs[i]), reverse=True)
        chunks = [to_run[start : start + self.batch_size] for start in range(0, len(to_run), self.batch_size)]
        batches = [[inputs[i] for i in chunk] for chunk in chunks]
        for chunk, labels in zip(chunks, self._classify_all(batches)):
            self.stats.batches += 1
            for i, label in zip(chunk, labels):
                predictions[i] = label
        for i, source in waiting:
            predictions[i] = predictions[source]
        pos = 0
        for (job, _), n in zip(asked, widths):
            preds = predictions[pos : pos + n]
            if keys is not None:
                caches[id(job)].update(zip(keys[pos : pos + n], preds))
            job.receive(inputs[pos : pos + n], preds)
            pos += n

    def _round_in_order(self, asked: list[tuple[Job, list[Query]]], widths: list[int], inputs: _RoundInputs) -> None:
        """A round without deduplication or sorting: every input goes to the model in query
        order, so batches (and each job's inputs) are slices of the perturbations' outputs,
        with no bookkeeping per input. The same batches and labels as the general path."""
        n = len(inputs)
        for (job, _), width in zip(asked, widths):
            _count_calls(job, width)
        self.stats.queries += n
        self.stats.model_calls += n
        batches = [inputs.take(start, min(start + self.batch_size, n)) for start in range(0, n, self.batch_size)]
        predictions: list[int] = []
        for labels in self._classify_all(batches):
            self.stats.batches += 1
            predictions.extend(labels)
        pos = 0
        for (job, _), width in zip(asked, widths):
            job.receive(inputs.take(pos, pos + width), predictions[pos : pos + width])
            pos += width

    def _classify_all(self, batches: list[Sequence[Any]]) -> list[list[int]]:
        """The labels of every batch, as Python ints, one per input (else ``ValueError``). With
        ``overlap`` and a staged classifier (``prepare``, ``run``, ``collect``), a background
        thread prepares batch t+1 while batch t runs, and results are collected after every
        batch was started; the same calls in the same order per batch, so the same labels."""
        return [_checked(labels, len(batch)) for batch, labels in zip(batches, self._labels_of(batches))]

    def _labels_of(self, batches: list[Sequence[Any]]) -> list[Sequence[int] | np.ndarray]:
        staged = all(hasattr(self.classify, name) for name in ("prepare", "run", "collect"))
        overlap = self.overlap if self.overlap is not None else bool(getattr(self.classify, "asynchronous", False))
        if not (overlap and staged and len(batches) > 1):
            return [self.classify(batch) for batch in batches]
        from concurrent.futures import ThreadPoolExecutor

        c: Any = self.classify
        handles = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="textrobust-host") as pool:
            ahead = [pool.submit(c.prepare, batch) for batch in batches[:2]]  # a bounded queue of 2
            for t in range(len(batches)):
                host = ahead[t].result()
                if t + 2 < len(batches):
                    ahead.append(pool.submit(c.prepare, batches[t + 2]))
                ahead[t] = None  # type: ignore[call-overload]
                handles.append(c.run(host))
        return [c.collect(h) for h in handles]

    @staticmethod
    def _materialise(asked: list[tuple[Job, list[Query]]]) -> _RoundInputs:
        """The input of every query, in order; draws are applied in one batch per perturbation."""
        inputs = _RoundInputs()
        groups: dict[int, tuple[Perturbation, list[tuple[int, int]], list[Any], list[Sequence[int]]]] = {}
        for job, queries in asked:
            for q in queries:
                kind = type(q)
                if kind is Given or isinstance(q, Given):
                    inputs.given(q.value)
                    continue
                group = groups.get(id(q.perturbation))
                if group is None:
                    group = groups[id(q.perturbation)] = (q.perturbation, [], [], [])
                if kind is Draws:
                    n = len(q.keys)
                    group[3].append(q.keys)
                else:
                    n = 1
                    group[3].append((q.key,))
                group[1].append((inputs.reserve(n), n))
                group[2].extend([job.source] * n)
        for perturbation, slots, sources, blocks in groups.values():
            keys = DrawKeys.join(blocks)
            out = perturbation.apply(sources, keys)
            if not isinstance(out, Sequence):
                out = list(out)
            if len(out) != len(keys):
                raise ValueError(f"{perturbation.name} returned {len(out)} inputs for {len(keys)} draws")
            start = 0
            for slot, n in slots:
                inputs.fill(slot, out, start, start + n)
                start += n
        return inputs


def _count_calls(job: Job, n: int) -> None:
    """Add ``n`` to the job's ``model_calls`` counter, for jobs that keep one."""
    if isinstance(getattr(job, "model_calls", None), int):
        job.model_calls += n


def _checked(labels: Sequence[int] | np.ndarray, n: int) -> list[int]:
    """The ``n`` labels of a batch of ``n`` inputs as Python ints; ``ValueError`` for any other count."""
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu":
        ints = labels.tolist()
    else:
        ints = [int(label) for label in labels]
    if len(ints) != n:
        raise ValueError(f"the classifier returned {len(ints)} labels for {n} inputs")
    return ints


class _RoundInputs:
    """The inputs of one round, in query order, as slices of the sequences that hold them (each
    perturbation's output, and a list of the given inputs): no object or list entry per input
    until someone asks for one. Adjacent slices of one sequence are joined, so the inputs of a
    round of one perturbation are one slice."""

    def __init__(self) -> None:
        self._given: list[Any] = []
        self._pieces: list[list[Any]] = []  # [sequence, start, stop]; sequence None: not filled yet
        self._starts: list[int] | None = None  # each piece's first position, once filled

    def given(self, value: Any) -> None:
        i = len(self._given)
        self._given.append(value)
        last = self._pieces[-1] if self._pieces else None
        if last is not None and last[0] is self._given and last[2] == i:
            last[2] = i + 1
        else:
            self._pieces.append([self._given, i, i + 1])

    def reserve(self, n: int) -> int:
        """A slot for ``n`` inputs computed later (:meth:`fill`)."""
        self._pieces.append([None, 0, n])
        return len(self._pieces) - 1

    def fill(self, slot: int, sequence: Sequence[Any], start: int, stop: int) -> None:
        self._pieces[slot] = [sequence, start, stop]

    def _joined(self) -> tuple[list[list[Any]], list[int]]:
        if self._starts is None:
            pieces: list[list[Any]] = []
            for piece in self._pieces:
                if pieces and pieces[-1][0] is piece[0] and pieces[-1][2] == piece[1]:
                    pieces[-1][2] = piece[2]
                elif piece[2] > piece[1]:
                    pieces.append(list(piece))
            starts, pos = [], 0
            for _, a, b in pieces:
                starts.append(pos)
                pos += b - a
            self._pieces, self._starts, self._total = pieces, starts, pos
        return self._pieces, self._starts

    def __len__(self) -> int:
        self._joined()
        return self._total

    def take(self, start: int, stop: int) -> Sequence[Any]:
        """Inputs ``start..stop-1``: a slice of the sequence that holds them, or a list."""
        pieces, starts = self._joined()
        if stop <= start:
            return []
        i = bisect_right(starts, start) - 1
        seq, a, b = pieces[i]
        offset = start - starts[i] + a
        if offset + (stop - start) <= b:
            return seq[offset : offset + (stop - start)]
        out: list[Any] = list(seq[offset:b])
        for seq, a, b in pieces[i + 1 :]:
            if len(out) >= stop - start:
                break
            out.extend(seq[a : a + min(b - a, stop - start - len(out))])
        return out

    def flat(self) -> list[Any]:
        """Every input, as one list."""
        pieces, _ = self._joined()
        return list(chain.from_iterable(seq[a:b] for seq, a, b in pieces))
