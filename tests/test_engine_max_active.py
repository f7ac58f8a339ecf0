"""Core additions for cheap models: ``Engine(max_active=...)`` and the one-call ``draw_key``."""

from __future__ import annotations

import struct

import pytest

from textrobust.core.engine import Engine
from textrobust.core.perturbation import Perturbation, Spec
from textrobust.core.random import _digest, draw_key, stream_prefix
from textrobust.core.rpr import RPRJob


def test_draw_key_equals_the_two_part_digest():
    prefix = stream_prefix(3, "example-7", "pixels:k=28")
    for k in (1, 2, 250, 2**40 + 1):
        assert draw_key(prefix, k) == int.from_bytes(_digest(prefix, struct.pack("<Q", k)), "little")


def _flip_after(x, rng):  # a "perturbation" whose draws are random integers
    return int(rng.integers(0, 100))


def test_max_active_changes_scheduling_not_results():
    perturbation = Perturbation(Spec("noise"), perturb=_flip_after)
    classify = lambda xs: [0 if x < 97 else 1 for x in xs]  # noqa: E731 - draws >= 97 flip label 0
    results = {}
    for max_active in (1, 4, None):
        engine = Engine(classify, batch_size=16, round_size=64, max_active=max_active)
        done = []
        engine.run((RPRJob(i, 0, 0, [perturbation], 60, seed=1) for i in range(40)), on_done=done.append)
        results[max_active] = ({j.example_id: j.first_flip for j in done}, engine.stats)
    flips = [r[0] for r in results.values()]
    assert flips[0] == flips[1] == flips[2]
    assert any(f[0] is None for f in flips[0].values()) and any(f[0] is not None for f in flips[0].values())
    # one job in flight gets the whole round (64 >= 60 draws): after the first round (clean input and
    # draw 1) every remaining draw is asked for at once, exits save nothing
    everything = sum(2 if f[0] == 1 else 61 for f in flips[0].values())
    assert results[1][1].model_calls == everything
    # more jobs in flight, smaller shares per round: early exit saves draws
    assert results[None][1].model_calls < results[4][1].model_calls < everything


def test_max_active_must_be_positive():
    with pytest.raises(ValueError):
        Engine(lambda xs: [0] * len(xs), max_active=0)
