"""The engine and RPR jobs against a brute-force reference, with counted model calls."""

from __future__ import annotations

import numpy as np
import pytest

from textrobust.core.engine import Engine, Given
from textrobust.core.perturbation import Perturbation, Spec
from textrobust.core.random import draw_key, generator, stream_prefix
from textrobust.core.rpr import RPRJob

# Example i is the input ("x", i); a draw is ("x", i, u) with u uniform. The model is right on
# a draw unless u < fragility[i]; it is right on the clean input unless i is in WRONG.
N = 60
FRAGILITY = np.linspace(0.0, 0.5, N)
WRONG = {3, 17}
LABELS = [i % 3 for i in range(N)]


def uniform_draw(x, rng):
    return (x[0], x[1], float(rng.random()))


def coarse_draw(x, rng):  # only 4 distinct outcomes: deduplication must collapse them
    return (x[0], x[1], int(rng.integers(4)) / 8)


UNIFORM = Perturbation(Spec("u", (("p", 1.0),)), uniform_draw)
COARSE = Perturbation(Spec("c", ()), coarse_draw)


class CountingModel:
    def __init__(self, batch_size):
        self.calls = 0
        self.batches = []
        self.batch_size = batch_size

    def __call__(self, inputs):
        assert 1 <= len(inputs) <= self.batch_size
        self.calls += len(inputs)
        self.batches.append(list(inputs))
        out = []
        for x in inputs:
            i = x[1]
            right = LABELS[i]
            if len(x) == 2:
                out.append(right if i not in WRONG else (right + 1) % 3)
            else:
                out.append(right if x[2] >= FRAGILITY[i] else (right + 1) % 3)
        return out


def reference_first_flip(i, perturbation, max_steps, seed):
    """The paper's procedure, one example at a time: every step, no engine."""
    if i in WRONG:
        return 0
    prefix = stream_prefix(seed, i, perturbation.spec.canonical)
    for k in range(1, max_steps + 1):
        x = perturbation.perturb(("x", i), generator(draw_key(prefix, k)))
        if x[2] < FRAGILITY[i]:
            return k
    return None


def run(batch_size, max_steps=40, seed=0, perts=(UNIFORM,), round_size=None, order=None):
    model = CountingModel(batch_size)
    engine = Engine(model, batch_size=batch_size, size=lambda x: x[1], key=lambda x: x, round_size=round_size)
    done = []
    ids = order or list(range(N))
    jobs = (RPRJob(i, ("x", i), LABELS[i], list(perts), max_steps, seed) for i in ids)
    engine.run(jobs, on_done=done.append)
    return {job.example_id: job for job in done}, model, engine


@pytest.mark.parametrize("batch_size, round_size", [(1, None), (7, None), (64, None), (256, None), (5, 3)])
def test_engine_matches_the_brute_force_reference(batch_size, round_size):
    jobs, model, engine = run(batch_size, round_size=round_size)
    assert sorted(jobs) == list(range(N))
    for i, job in jobs.items():
        assert job.first_flip[0] == reference_first_flip(i, UNIFORM, 40, 0), i
        assert job.clean_prediction == CountingModel(1)([("x", i)])[0]
    assert engine.stats.model_calls == model.calls


def test_results_do_not_depend_on_example_order_or_batch_size():
    a, _, _ = run(3)
    b, _, _ = run(100, order=list(reversed(range(N))))
    assert {i: j.record() for i, j in a.items()} == {i: j.record() for i, j in b.items()}


def needed_calls(jobs, max_steps=40):
    """Clean input + draws up to the first flip (draw 1 only for clean mistakes)."""
    total = 0
    for job in jobs.values():
        ff = job.first_flip[0]
        total += 1 + (1 if ff == 0 else (max_steps if ff is None else ff))
    return total


def test_early_exit_classifies_only_what_is_needed():
    # one job at a time, one draw per round: no speculative draws at all
    jobs, model, _ = run(8, round_size=1)
    assert model.calls == needed_calls(jobs)
    assert model.calls < N * 41  # the paper's procedure: every step for every example
    # with full rounds, the tail speculates (draws past a flip) only to fill batches
    jobs, model, _ = run(8, round_size=16)
    assert needed_calls(jobs) <= model.calls <= needed_calls(jobs) + 16 * 40


def test_clean_mistakes_get_first_flip_zero_and_a_draw_one_prediction():
    jobs, model, _ = run(16)
    for i in WRONG:
        assert jobs[i].first_flip == [0]
        assert jobs[i].draw1_prediction[0] is not None
        assert jobs[i].flipped_input == [None]


def test_identical_inputs_reach_the_model_once_per_example():
    jobs, model, engine = run(32, max_steps=50, perts=(COARSE,))
    robust = [i for i, j in jobs.items() if j.first_flip[0] is None]
    assert robust  # fragility 0 examples never flip
    per_example = {}
    for batch in model.batches:
        for x in batch:
            per_example.setdefault(x[1], []).append(x)
    for i in robust:
        inputs = per_example[i]
        assert len(inputs) == len(set(inputs)) <= 1 + 4
    assert engine.stats.cache_hits > 0


def test_several_perturbations_finish_independently():
    jobs, _, _ = run(16, perts=(UNIFORM, COARSE))
    for i, job in jobs.items():
        assert job.first_flip[0] == reference_first_flip(i, UNIFORM, 40, 0)
        assert job.first_flip[1] == reference_first_flip(i, COARSE, 40, 0)
        rec = job.record()
        assert set(rec["first_flip"]) == {"u:p=1", "c"}


def test_batches_are_sorted_by_size_within_a_round():
    _, model, _ = run(4, round_size=64)
    sizes = [[x[1] for x in b] for b in model.batches]
    assert all(s == sorted(s, reverse=True) for s in sizes)


def test_flipped_input_is_the_first_misclassified_draw():
    jobs, _, _ = run(16)
    for i, job in jobs.items():
        ff = job.first_flip[0]
        if ff:
            prefix = stream_prefix(0, i, UNIFORM.spec.canonical)
            expected = UNIFORM.perturb(("x", i), generator(draw_key(prefix, ff)))
            assert job.flipped_input[0] == expected


def test_given_queries_and_engine_without_dedup():
    class TwoShot:
        source = None

        def __init__(self):
            self.got = []
            self._done = False

        @property
        def done(self):
            return self._done

        def queries(self, budget):
            return [Given(("x", 1)), Given(("x", 1))]

        def receive(self, inputs, predictions):
            self.got = list(predictions)
            self._done = True

    model = CountingModel(8)
    job = TwoShot()
    Engine(model, batch_size=8).run([job])
    assert model.calls == 2 and job.got == [LABELS[1], LABELS[1]]
    model = CountingModel(8)
    Engine(model, batch_size=8, key=lambda x: x).run([TwoShot()])
    assert model.calls == 1


@pytest.mark.parametrize(
    "settings",
    [{}, {"key": lambda x: x}, {"size": len}, {"overlap": True}],
    ids=["in order", "deduplicated", "sorted", "overlapped"],
)
def test_a_classifier_answering_another_number_of_labels_is_an_error_on_every_path(settings):
    """One label per input, or ValueError: never a silent truncation (zip) of a batch's labels."""

    class Short(CountingModel):
        def __call__(self, inputs):
            return super().__call__(inputs)[:-1]

        prepare = staticmethod(lambda batch: batch)  # staged, for the overlapped path

        def run(self, batch):
            return self(batch)

        collect = staticmethod(lambda handle: handle)

    jobs = [RPRJob(i, ("x", i), LABELS[i], [UNIFORM], 20, 0) for i in range(N)]
    engine = Engine(Short(8), batch_size=8, **settings)
    with pytest.raises(ValueError, match=r"returned 7 labels for 8 inputs"):
        engine.run(jobs)
