"""The engine's per-job model-call accounting (the optional ``model_calls`` job attribute)."""

from __future__ import annotations

from dataclasses import dataclass, field

from textrobust.core.engine import Engine, Given


@dataclass
class ListJob:
    """Asks for its inputs a few at a time; counts calls when it has ``model_calls``."""

    inputs: list
    chunk: int
    source: object = None
    got: list = field(default_factory=list)
    model_calls: int = 0

    @property
    def done(self) -> bool:
        return len(self.got) == len(self.inputs)

    def queries(self, budget):
        start = len(self.got)
        return [Given(x) for x in self.inputs[start : start + self.chunk]]

    def receive(self, inputs, predictions):
        self.got.extend(predictions)


class PlainJob:
    """A job without the attribute, like the RPR job."""

    source = None

    def __init__(self, inputs):
        self.inputs, self.got = inputs, []

    done = ListJob.done
    receive = ListJob.receive

    def queries(self, budget):
        return [Given(x) for x in self.inputs[len(self.got) :]]


def test_per_job_model_calls_count_distinct_inputs_across_rounds():
    jobs = [
        ListJob(["a", "b", "a", "c", "b", "a", "d"], chunk=3),
        ListJob(["a", "a", "a"], chunk=1),
        ListJob(["x", "y"], chunk=5),
    ]
    for batch_size in (1, 2, 64):
        fresh = [ListJob(j.inputs, j.chunk) for j in jobs]
        engine = Engine(lambda xs: [ord(x[0]) % 2 for x in xs], batch_size=batch_size, key=lambda x: x)
        engine.run(fresh)
        assert [j.model_calls for j in fresh] == [4, 1, 2]
        assert sum(j.model_calls for j in fresh) == engine.stats.model_calls
        assert fresh[0].got == [1, 0, 1, 1, 0, 1, 0]


def test_without_dedup_every_input_is_a_call_and_jobs_without_the_attribute_are_untouched():
    job = ListJob(["a", "a", "b"], chunk=2)
    Engine(lambda xs: [0] * len(xs), batch_size=4, key=None).run([job])
    assert job.model_calls == 3
    plain = PlainJob(["a", "b"])
    Engine(lambda xs: [0] * len(xs), batch_size=4, key=lambda x: x).run([plain])
    assert not hasattr(plain, "model_calls") and plain.got == [0, 0]
