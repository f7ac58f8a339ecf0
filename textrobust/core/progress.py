"""A rich progress bar with items/s and ETA, shown on the main process only."""

from __future__ import annotations

import contextlib
from typing import Callable, Iterator

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.console import Console
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("?" if speed is None else f"{speed:.2f} {self.unit}/s", style="progress.data.speed")


@contextlib.contextmanager
def progress_bar(
    total: int, description: str, *, enabled: bool = True, unit: str = "ex"
) -> Iterator[Callable[[int], None]]:
    """A context giving ``advance(n)``; a no-op when ``enabled`` is false."""
    if not enabled:
        yield lambda n: None
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(unit),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
