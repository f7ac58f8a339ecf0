"""The CLI's shared option groups, written once: "Data" (which rows), "Run" (how to run) and
"Model" (how to reach and read a classifier that is not a Hugging Face model).

A command declares ``data: DataOptions``, ``run: RunOptions`` and/or ``model_options: ModelOptions``
parameters and is wrapped by :func:`with_options`, which puts the group's options in the command's
signature (so typer shows them, in their own help panel) and hands the command the validated objects.
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
MODEL_PANEL = "Model options"


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


def model_parameters() -> list[inspect.Parameter]:
    """The typer parameters of :class:`~textrobust.classifiers.ModelOptions` (see docs/models.md)."""
    return [
        _option(
            "labels",
            Optional[str],
            None,
            help="The model's label names in its order, a,b,... (name=verbalizer for prompted models).",
            panel=MODEL_PANEL,
        ),
        _option(
            "prompt",
            Optional[str],
            None,
            help="Prompt template with {text} (or a file holding it): a causal LM or openai: model.",
            panel=MODEL_PANEL,
        ),
        _option(
            "base_url",
            Optional[str],
            None,
            help="OpenAI-compatible API base URL for openai:<model>, e.g. http://localhost:8000/v1.",
            panel=MODEL_PANEL,
        ),
        _option(
            "api_key_env",
            Optional[str],
            None,
            help="NAME of the environment variable holding the endpoint's API key.",
            panel=MODEL_PANEL,
        ),
        _option("concurrency", int, 8, help="Endpoints: requests in flight at once.", panel=MODEL_PANEL),
        _option(
            "timeout", float, 30.0, help="Endpoints: seconds to wait for an answer before retrying.", panel=MODEL_PANEL
        ),
        _option(
            "max_retries",
            int,
            4,
            help="Endpoints: retries of a request (429, 5xx, timeouts), with exponential backoff.",
            panel=MODEL_PANEL,
        ),
        _option(
            "trust_pickle",
            bool,
            False,
            help="Allow sklearn: pickle/joblib files (loading one runs code).",
            panel=MODEL_PANEL,
        ),
    ]


def _model_options(values: dict[str, Any]) -> Any:
    from textrobust.classifiers import ModelOptions
    from textrobust.classifiers.options import parse_prompt

    return ModelOptions(**{**values, "prompt": parse_prompt(values["prompt"])})


def with_options(
    *, data: DataGroup | None = None, run: RunGroup | None = None, model: bool = False
) -> Callable[[Callable], Callable]:
    """Give a command the data, run and/or model option groups; it receives ``data=DataOptions(...)``,
    ``run=RunOptions(...)`` and ``model_options=ModelOptions(...)`` (validated: a bad value is one
    line and exit 2)."""
    groups = {"data", "run", "model_options"}

    def wrap(command: Callable) -> Callable:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name not in groups]
        data_params = data_parameters(data) if data is not None else []
        run_params = run_parameters(run) if run is not None else []
        model_params = model_parameters() if model else []

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            if data is not None:
                kwargs["data"] = DataOptions(**{p.name: kwargs.pop(p.name) for p in data_params})
            if run is not None:
                kwargs["run"] = RunOptions(**{p.name: kwargs.pop(p.name) for p in run_params})
            if model:
                kwargs["model_options"] = _model_options({p.name: kwargs.pop(p.name) for p in model_params})
            return command(**kwargs)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + data_params + run_params
        parameters += model_params
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer reads the signature above, not the command's own
        return wrapper

    return wrap
