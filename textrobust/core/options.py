"""The options every run shares, as two small dataclasses validated once, when they are made.

* :class:`DataOptions` — which rows of a dataset: configuration, split, columns, limit, shuffle;
* :class:`RunOptions` — how to run: batch size, device, dtype, output directory, resume, progress.

The Python API, the CLI (one option group each, :mod:`textrobust.cli.options`) and the Trainer
callback all take these. The public functions also accept their fields as plain keyword
arguments (``textrobust.evaluate(model, dataset=..., limit=100, batch_size=32)``):
:func:`split_options` sorts such keywords into the two objects.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, Mapping

from textrobust.errors import UserError


class OptionError(UserError):
    """An option value out of range (every process of a launched run parses the same options)."""


@dataclass(frozen=True)
class DataOptions:
    """Which labelled rows to use.

    ``input_column`` holds the inputs (texts, or images) and ``label_column`` the labels; both
    are detected when ``None``. ``split`` defaults to validation, else test. ``limit`` keeps
    the first N rows after an optional ``shuffle`` (seeded by the run's seed).
    """

    config: str | None = None
    split: str | None = None
    input_column: str | None = None
    label_column: str | None = None
    limit: int | None = None
    shuffle: bool = False

    def __post_init__(self) -> None:
        if self.limit is not None and (isinstance(self.limit, bool) or int(self.limit) != self.limit or self.limit < 1):
            raise OptionError(f"--limit must be at least 1, got {self.limit}")


@dataclass(frozen=True)
class RunOptions:
    """How to run: none of these change the results.

    ``batch_size`` inputs per model call; ``device`` (cpu, cuda, cuda:N, mps; default: auto, or
    the launcher's) and ``dtype`` (fp32, bf16, fp16); with ``output_dir``, per-example results
    stream to ``examples.jsonl`` (``resume`` continues a stopped run, ``overwrite`` replaces an
    earlier one) and the report files are written at the end; ``progress`` shows a bar.
    ``compile`` runs the model through ``torch.compile``; ``overlap`` prepares the next batch
    on the host while the device runs one (``None``: on CUDA only; docs/host-pipeline.md).
    """

    batch_size: int = 64
    device: str | None = None
    dtype: str | None = None
    output_dir: str | Path | None = None
    resume: bool = False
    overwrite: bool = False
    progress: bool = False
    compile: bool = False
    overlap: bool | None = None

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise OptionError(f"--batch-size must be at least 1, got {self.batch_size}")


DATA_FIELDS = tuple(f.name for f in fields(DataOptions))
RUN_FIELDS = tuple(f.name for f in fields(RunOptions))


def split_options(
    keywords: Mapping[str, Any],
    data: DataOptions | None = None,
    run: RunOptions | None = None,
    *,
    aliases: Mapping[str, str] | None = None,
    run_defaults: Mapping[str, Any] | None = None,
    function: str = "this function",
) -> tuple[DataOptions, RunOptions]:
    """``data`` and ``run`` (or their defaults) with ``keywords`` laid over them.

    ``aliases`` renames a modality's keyword to a field (``{"text_column": "input_column"}``);
    ``run_defaults`` are the entry point's own defaults for :class:`RunOptions` fields (vision
    runs 256 images a call). A keyword that is no field is a ``TypeError``, as Python's own.
    """
    aliases = aliases or {}
    data_kw: dict[str, Any] = {}
    run_kw: dict[str, Any] = {} if run is not None else dict(run_defaults or {})
    for name, value in keywords.items():
        field = aliases.get(name, name)
        if field in DATA_FIELDS:
            data_kw[field] = value
        elif field in RUN_FIELDS:
            run_kw[field] = value
        else:
            raise TypeError(f"{function} got an unexpected keyword argument {name!r}")
    data = replace(data, **data_kw) if data is not None else DataOptions(**data_kw)
    run = replace(run, **run_kw) if run is not None else RunOptions(**run_kw)
    return data, run
