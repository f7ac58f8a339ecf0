"""Run engine jobs over a dataset: resume, distribute over processes, stream results.

The loop of :func:`textrobust.core.driver.execute` (which every entry point calls). It skips
examples already in the store, splits the rest across processes, and hands finished records
to the store as soon as they exist: per example in a single process, per chunk under a
launcher (the main process gathers and alone writes).
"""

from __future__ import annotations

from typing import Callable, Hashable, Sequence, TypeVar

from textrobust.core.distributed import ProcessGroup
from textrobust.core.engine import Engine, Job
from textrobust.core.store import ResultStore

T = TypeVar("T")


def run_examples(
    items: Sequence[T],
    make_job: Callable[[T], Job],
    engine: Engine,
    *,
    index_of: Callable[[T], Hashable],
    to_record: Callable[[Job], dict],
    store: ResultStore | None = None,
    group: ProcessGroup | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk_size: int = 256,
) -> tuple[list[dict], int]:
    """Records of every item, in item order, and how many came from an earlier run.

    ``store`` is used on the main process only (pass ``None`` elsewhere); every process
    returns the full list of records.
    """
    group = group or ProcessGroup()
    wanted = {index_of(x) for x in items}
    earlier = {k: v for k, v in (store.done.items() if store is not None else ()) if k in wanted}
    earlier = group.broadcast(earlier)
    records: dict[Hashable, dict] = dict(earlier)
    todo = [x for x in items if index_of(x) not in earlier]

    def finished(batch: list[dict]) -> None:
        for record in batch:
            records[record["index"]] = record
        if store is not None and group.is_main:
            store.append(batch)
        if on_progress is not None:
            on_progress(len(batch))

    if on_progress is not None and earlier:
        on_progress(len(earlier))
    if not group.distributed:
        engine.run((make_job(x) for x in todo), on_done=lambda job: finished([to_record(job)]))
    else:
        step = chunk_size * group.world_size
        for start in range(0, len(todo), step):
            mine = todo[start : start + step][group.rank :: group.world_size]
            local: list[dict] = []
            engine.run((make_job(x) for x in mine), on_done=lambda job, local=local: local.append(to_record(job)))
            finished([r for part in group.gather(local) for r in part])
    return [records[index_of(x)] for x in items], len(earlier)
