"""Loading a labelled split from the Hub, a local directory or a data file, for any modality.

``name`` may be an alias (``sst2``, ``ag_news``, ``imdb``, ``mnist``, ``cifar10``), a Hub id,
a directory (``load_dataset`` data files, or ``save_to_disk`` output) or one csv/tsv/json/
jsonl/parquet file. Rows are then chosen with :func:`select_rows`, which keeps each row's
original index: the id that seeds its perturbations.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from textrobust.core.options import DataOptions
from textrobust.errors import UserError
from textrobust.hf.hub import DATASET_ALIASES, looks_like_path, unreachable

_FILE_BUILDERS = {
    ".csv": ("csv", {}),
    ".tsv": ("csv", {"delimiter": "\t"}),
    ".json": ("json", {}),
    ".jsonl": ("json", {}),
    ".parquet": ("parquet", {}),
}
DEFAULT_SPLITS = ("validation", "test")


@dataclass
class Split:
    """One split of a dataset, with where it came from."""

    dataset: Any  # datasets.Dataset
    name: str  # what the user asked for, for reports
    split: str
    alias: str | None  # the dataset alias, when one was used (selects model aliases)


def _quiet_datasets() -> None:
    import datasets

    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()


def _load_local(path: Path) -> Any:
    import datasets

    if path.is_file():
        builder = _FILE_BUILDERS.get(path.suffix.lower())
        if builder is None:
            raise UserError(f"unsupported data file {str(path)!r}; use one of {', '.join(_FILE_BUILDERS)}")
        kind, kwargs = builder
        return datasets.load_dataset(kind, data_files={"train": str(path)}, **kwargs)
    if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
        loaded = datasets.load_from_disk(str(path))
        return loaded if isinstance(loaded, datasets.DatasetDict) else datasets.DatasetDict({"train": loaded})
    return datasets.load_dataset(str(path.resolve()))


def load_split(name: str, config: str | None = None, split: str | None = None) -> Split:
    """The requested split (default: validation, else test, else the only split)."""
    import datasets

    _quiet_datasets()
    alias = name if name in DATASET_ALIASES else None
    local = Path(os.path.expanduser(name))
    try:
        if local.exists():
            loaded = _load_local(local)
        elif looks_like_path(name):
            raise UserError(f"dataset path not found: {name!r}")
        else:
            hub_id, hub_config = DATASET_ALIASES.get(name, (name, None))
            try:
                loaded = datasets.load_dataset(hub_id, config or hub_config)
            except Exception as e:  # noqa: BLE001 - the Hub's errors vary by version
                if isinstance(e, ValueError) and "config" in str(e).lower() and "offline" not in str(e).lower():
                    raise UserError(f"dataset {hub_id!r}: {str(e).splitlines()[0]}") from None
                raise UserError(
                    unreachable("dataset", hub_id, "pass a local directory or data file with --dataset")
                ) from None
    except UserError:
        raise
    except Exception as e:  # noqa: BLE001 - malformed local data
        if "corresponds to no data" in str(e):  # datasets' words for a file with no rows
            raise UserError(f"dataset {name!r} is empty") from None
        raise UserError(
            f"cannot read dataset {name!r}: {str(e).splitlines()[0] if str(e) else type(e).__name__}"
        ) from None
    if not isinstance(loaded, datasets.DatasetDict):
        loaded = datasets.DatasetDict({split or "train": loaded})
    available = list(loaded.keys())
    if split is None:
        split = next((s for s in DEFAULT_SPLITS if s in loaded), available[0] if len(available) == 1 else None)
        if split is None:
            raise UserError(
                f"dataset {name!r} has no validation or test split; choose one with --split: {', '.join(available)}"
            )
    elif split not in loaded:
        raise UserError(f"dataset {name!r} has no split {split!r}; available: {', '.join(available)}")
    return Split(loaded[split], name, split, alias)


def pick_column(dataset: Any, given: str | None, candidates: Sequence[str], what: str, option: str) -> str:
    """The column to read ``what`` from: ``given``, else the first present candidate."""
    columns = list(dataset.column_names)
    if given is not None:
        if given not in columns:
            raise UserError(f"no {what} column {given!r}; columns are: {', '.join(columns)}")
        return given
    for c in candidates:
        if c in columns:
            return c
    raise UserError(f"cannot tell which column holds the {what}; name it with {option} (columns: {', '.join(columns)})")


def select_rows(n_rows: int, *, limit: int | None = None, shuffle: bool = False, seed: int = 0) -> list[int]:
    """Original row indices to evaluate: all, or the first ``limit`` after an optional seeded shuffle."""
    if limit is not None and limit < 1:
        raise UserError(f"--limit must be at least 1, got {limit}")
    if n_rows == 0:
        raise UserError("the dataset split is empty")
    order = np.random.default_rng(seed).permutation(n_rows) if shuffle else np.arange(n_rows)
    return [int(i) for i in order[: limit if limit is not None else n_rows]]


@dataclass
class Labels:
    """Integer label ids of the chosen rows and, where the data has them, label names."""

    ids: list[int]
    names: list[str] | None
    from_strings: bool = False  # names were read from a string column, in sorted order


def read_labels(dataset: Any, column: str) -> Labels:
    """Label ids from a ClassLabel, integer or string column (strings become sorted names)."""
    import datasets

    feature = dataset.features[column]
    values = dataset[column]
    if isinstance(feature, datasets.ClassLabel):
        names = list(feature.names)
    elif all(isinstance(v, str) for v in values):
        names = sorted(set(values))
        index = {n: i for i, n in enumerate(names)}
        return Labels([index[v] for v in values], names, from_strings=True)
    else:
        names = None
    try:
        ids = [int(v) for v in values]
    except (TypeError, ValueError):
        raise UserError(f"label column {column!r} must hold class ids or names") from None
    if any(v < 0 for v in ids):
        raise UserError(
            f"label column {column!r} has negative labels (an unlabelled split?); choose a labelled --split"
        )
    return Labels(ids, names)


def resolve_split(dataset: Any, config: str | None = None, split: str | None = None) -> Split:
    """The split to evaluate from a name or path (:func:`load_split`), a ``DatasetDict``
    (``split``, else validation, else test) or a ``Dataset``."""
    import datasets

    if isinstance(dataset, (str, os.PathLike)):
        return load_split(str(dataset), config, split)
    if isinstance(dataset, datasets.DatasetDict):
        name = split or next((s for s in DEFAULT_SPLITS if s in dataset), None)
        if name is None or name not in dataset:
            raise UserError(f"choose a split: {', '.join(dataset.keys())}")
        return Split(dataset[name], "DatasetDict", name, None)
    if isinstance(dataset, datasets.Dataset):
        return Split(
            dataset,
            dataset.info.dataset_name or "Dataset",
            split or (str(dataset.split) if dataset.split else None),
            None,
        )
    raise UserError(f"dataset must be a name, a path or a datasets.Dataset, got {type(dataset).__name__}")


def read_chosen_labels(split_rows: Any, chosen_rows: Any, column: str) -> Labels:
    """Labels of the chosen rows; names read from a string column cover the whole split,
    not just the chosen rows."""
    labels = read_labels(chosen_rows, column)
    if labels.from_strings:
        every = read_labels(split_rows, column)
        index = {n: i for i, n in enumerate(every.names or [])}
        labels.ids = [index[labels.names[i]] for i in labels.ids]
        labels.names = every.names
    return labels


@dataclass
class ChosenRows:
    """The rows of a split that a run uses, and the columns that hold their inputs and labels."""

    split: Split
    input_column: str
    label_column: str
    ids: list[int]  # original row indices (they seed the draws)
    rows: Any  # datasets.Dataset of those rows, in that order

    def labels(self) -> Labels:
        """The chosen rows' labels (:func:`read_chosen_labels`)."""
        return read_chosen_labels(self.split.dataset, self.rows, self.label_column)


def choose_rows(
    dataset: Any, data: DataOptions, seed: int, what: str, inputs: Sequence[str], labels: Sequence[str]
) -> ChosenRows:
    """The split of ``dataset`` that ``data`` names, its ``what`` column (``data.input_column``,
    else the first of ``inputs`` present; ``--{what}-column`` names it) and label column (else
    the first of ``labels``), and the rows ``data`` selects (:func:`select_rows`, shuffled by ``seed``)."""
    chosen = resolve_split(dataset, data.config, data.split)
    ds = chosen.dataset
    input_column = pick_column(ds, data.input_column, inputs, what, f"--{what}-column")
    label_column = pick_column(ds, data.label_column, labels, "label", "--label-column")
    ids = select_rows(len(ds), limit=data.limit, shuffle=data.shuffle, seed=seed)
    rows = ds.select(ids) if len(ids) != len(ds) or data.shuffle else ds
    return ChosenRows(chosen, input_column, label_column, ids, rows)
