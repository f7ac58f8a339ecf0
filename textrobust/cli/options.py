"""The CLI's two shared option groups, written once: "Data" (which rows) and "Run" (how to run).

A command declares ``data: DataOptions`` and/or ``run: RunOptions`` parameters and is wrapped
by :func:`with_options`, which puts the group's options in the command's signature (so typer
shows them, in their own help panel) and hands the command the validated objects.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from textrobust.core.options import DataOptions, RunOptions

DATA_PANEL = "Data options"
RUN_PANEL = "Run options"


@dataclass(frozen=True)
class DataGroup:
    """How a command shows the data options: ``column`` names the input column's option
    (``--text-column`` or ``--image-column``); ``config`` whether it takes ``--config``."""

    column: str = "text"
    config: bool = True


@dataclass(frozen=True)
class RunGroup:
    """How a command shows the run options: its default batch size and what it means, whether
    it takes ``--dtype``, and what ``--output`` receives."""

    batch_size: int = 64
    batch_help: str = "Inputs per model call."
    dtype: bool = True
    output_help: str = "Directory for report.json, report.md, figures and examples.jsonl."


def _option(name: str, annotation: Any, default: Any, *decls: str, help: str, panel: str) -> inspect.Parameter:
    info = typer.Option(*decls, help=help, rich_help_panel=panel)
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=Annotated[annotation, info]
    )


def data_parameters(group: DataGroup) -> list[inspect.Parameter]:
    """The typer parameters of the data options."""
    column = group.column
    out = []
    if group.config:
        out.append(
            _option("config", Optional[str], None, help="Dataset configuration (Hub datasets).", panel=DATA_PANEL)
        )
    out += [
        _option("split", Optional[str], None, help="Split to use (default: validation, else test).", panel=DATA_PANEL),
        _option(
            "input_column",
            Optional[str],
            None,
            f"--{column}-column",
            help=f"Column holding the {column} (default: detected).",
            panel=DATA_PANEL,
        ),
        _option(
            "label_column", Optional[str], None, help="Column holding the label (default: detected).", panel=DATA_PANEL
        ),
        _option("limit", Optional[int], None, help="Use the first N examples (after --shuffle).", panel=DATA_PANEL),
        _option("shuffle", bool, False, help="Shuffle (seeded by --seed) before --limit.", panel=DATA_PANEL),
    ]
    return out


def run_parameters(group: RunGroup) -> list[inspect.Parameter]:
    """The typer parameters of the run options."""
    out = [
        _option("batch_size", int, group.batch_size, help=group.batch_help, panel=RUN_PANEL),
        _option("device", Optional[str], None, help="cpu, cuda, cuda:N or mps (default: auto).", panel=RUN_PANEL),
    ]
    if group.dtype:
        out.append(
            _option("dtype", Optional[str], None, help="fp32, bf16 or fp16 (bf16/fp16 on GPU).", panel=RUN_PANEL)
        )
    out += [
        _option("output_dir", Optional[Path], None, "--output", help=group.output_help, panel=RUN_PANEL),
        _option("resume", bool, False, help="Continue a stopped run in --output.", panel=RUN_PANEL),
        _option("overwrite", bool, False, help="Replace earlier results in --output.", panel=RUN_PANEL),
        _option("progress", bool, True, help="Show a progress bar.", panel=RUN_PANEL),
        _option("compile", bool, False, help="Run the model through torch.compile (same results).", panel=RUN_PANEL),
        _option(
            "overlap",
            Optional[bool],
            None,
            "--overlap/--no-overlap",
            help="Prepare the next batch while the model runs one (default: on CUDA; same results).",
            panel=RUN_PANEL,
        ),
    ]
    return out


def with_options(*, data: DataGroup | None = None, run: RunGroup | None = None) -> Callable[[Callable], Callable]:
    """Give a command the data and/or run option group; it receives ``data=DataOptions(...)``
    and ``run=RunOptions(...)`` (validated: a bad value is one line and exit 2)."""

    def wrap(command: Callable) -> Callable:
        own = [
            p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name not in ("data", "run")
        ]
        data_params = data_parameters(data) if data is not None else []
        run_params = run_parameters(run) if run is not None else []
        data_names = [p.name for p in data_params]
        run_names = [p.name for p in run_params]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            if data is not None:
                kwargs["data"] = DataOptions(**{k: kwargs.pop(k) for k in data_names})
            if run is not None:
                kwargs["run"] = RunOptions(**{k: kwargs.pop(k) for k in run_names})
            return command(**kwargs)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + data_params + run_params
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer reads the signature above, not the command's own
        return wrapper

    return wrap
