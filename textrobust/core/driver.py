"""The run sequence, written once: every entry point (text ``eval``, ``certify``, ``vision
eval``, the paper reproduction's RPR steps, the Trainer callback) calls :func:`execute`.

An entry point supplies only what differs, as a :class:`Plan` made by its ``prepare`` function
(the examples, how to make each one's engine job and record, the engine, the run's settings)
and a report builder. :func:`execute` owns the rest, in this order:

1. ``prepare`` on every process under :meth:`~textrobust.core.distributed.ProcessGroup.first_error`
   (bad input stops every process with the same one-line error);
2. the result store, opened by the main process (``run.json`` + ``examples.jsonl``; resume);
3. :func:`~textrobust.core.runner.run_examples`: the engine over the examples not yet done,
   spread over the processes, records streamed to the store; the store is finished (sorted)
   and closed;
4. the model calls of every process summed, the report built from the records;
5. the report's files written by the main process.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Hashable, Iterator, Sequence, TypeVar

from textrobust.core.distributed import ProcessGroup, process_group
from textrobust.core.engine import Engine, EngineStats, Job
from textrobust.core.heap import frozen_setup
from textrobust.core.options import RunOptions
from textrobust.core.progress import progress_bar
from textrobust.core.runner import run_examples
from textrobust.core.speed import compile_classifier
from textrobust.core.store import ResultStore

Item = TypeVar("Item")
Report = TypeVar("Report")


@dataclass
class Plan(Generic[Item]):
    """One prepared run: what :func:`execute` needs once the inputs, model and settings are loaded.

    ``settings`` are what determine the results (``run.json``; a resumed run must match them);
    ``index_of`` gives an item's example id, ``make_job`` its engine job and ``to_record`` the
    finished job's JSON record. ``context`` carries whatever the report builder needs
    (the loaded data, the classifier, ...).
    """

    settings: dict[str, Any]
    items: Sequence[Item]
    index_of: Callable[[Item], Hashable]
    make_job: Callable[[Item], Job]
    to_record: Callable[[Job], dict]
    engine: Engine
    description: str = "RPR"
    context: Any = None


@dataclass
class RunResult:
    """What a run produced: the records in item order and what they cost, on every process."""

    plan: Plan
    records: list[dict]
    resumed: int  # records that came from an earlier run (``resume``)
    model_calls: int  # summed over processes
    stats: EngineStats  # this process's engine counters (``model_calls`` summed)
    seconds: float  # since :func:`execute` began (set-up included)
    processes: int
    group: ProcessGroup  # for report builders that gather more than the records

    def report_fields(self) -> dict[str, Any]:
        """What a certification report takes from the run itself: ``seconds``,
        ``resumed_examples`` and ``processes``."""
        return {"seconds": self.seconds, "resumed_examples": self.resumed, "processes": self.processes}


@contextlib.contextmanager
def open_store(group: ProcessGroup, settings: dict, run: RunOptions) -> Iterator[ResultStore | None]:
    """The run's store, opened by the main process only (``None`` elsewhere, and without
    ``run.output_dir``), closed on the way out. If opening fails, every process raises."""

    def open_on_main() -> ResultStore | None:
        if not (run.output_dir and group.is_main):
            return None
        return ResultStore(run.output_dir, settings, resume=run.resume, overwrite=run.overwrite)

    store = group.first_error(open_on_main)
    try:
        yield store
    finally:
        if store is not None:
            store.close()


def execute(
    prepare: Callable[[ProcessGroup], Plan],
    build_report: Callable[[RunResult], Report],
    run: RunOptions,
    *,
    write_outputs: Callable[[Report, Path], Any] | None = None,
    group: ProcessGroup | None = None,
) -> Report:
    """Prepare, run and report; the same report on every process (see the module docstring).

    With ``run.output_dir``, records stream to its ``examples.jsonl`` as examples finish, and
    ``write_outputs(report, output_dir)`` writes the report's files on the main process.
    """
    started = time.perf_counter()
    group = group or process_group()
    plan = group.first_error(lambda: prepare(group))
    plan.engine.overlap = run.overlap
    if run.compile:
        compile_classifier(plan.engine.classify)
    with open_store(group, plan.settings, run) as store:
        with (
            progress_bar(len(plan.items), plan.description, enabled=run.progress and group.is_main) as advance,
            frozen_setup(),  # full collections during the run skip the set-up's objects
        ):
            records, resumed = run_examples(
                plan.items,
                plan.make_job,
                plan.engine,
                index_of=plan.index_of,
                to_record=plan.to_record,
                store=store,
                group=group,
                on_progress=advance,
            )
        if store is not None:
            store.finish()
    stats = plan.engine.stats
    stats.model_calls = sum(group.gather(stats.model_calls))
    result = RunResult(
        plan=plan,
        records=records,
        resumed=resumed,
        model_calls=stats.model_calls,
        stats=stats,
        seconds=time.perf_counter() - started,
        processes=group.world_size,
        group=group,
    )
    report = build_report(result)
    if run.output_dir and group.is_main and write_outputs is not None:
        write_outputs(report, Path(run.output_dir))
    return report
