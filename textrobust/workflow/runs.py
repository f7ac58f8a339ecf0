"""A finished output directory of ``eval``, ``vision eval`` or ``certify``, read back from disk.

A run directory holds ``run.json`` (the settings that determine the results), ``examples.jsonl``
(one record per example) and ``report.json`` (the aggregates). Nothing here runs a model.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textrobust.core.store import EXAMPLES, RUN
from textrobust.errors import UserError

REPORT = "report.json"
# the run kinds the workflow commands (compare, check, card, report) read
TASKS = ("eval", "vision-eval", "certify")


@dataclass
class Run:
    """The settings, per-example records (in ``examples.jsonl`` order) and report of one run."""

    path: Path
    settings: dict[str, Any]
    records: list[dict]
    report: dict[str, Any]
    _texts: dict | None = field(default=None, repr=False)

    @property
    def task(self) -> str:
        """``eval``, ``vision-eval`` or ``certify``."""
        return str(self.settings.get("task", "eval"))

    @property
    def specs(self) -> list[str]:
        return list(self.settings.get("perturbations") or [])

    @property
    def model(self) -> str:
        return str(self.report.get("model") or self.settings.get("model"))

    def by_index(self) -> dict:
        return {r["index"]: r for r in self.records}

    def use_source_texts(self, texts: dict) -> None:
        """Take ``texts`` (index -> original text, from the process that ran it) as the run's
        original texts instead of reading its dataset again."""
        self._texts = dict(texts)

    def source_texts(self) -> dict | None:
        """The original text of every example (keyed by index), read again from the run's dataset
        (the records hold only flipped texts); ``None`` with a warning when the data cannot be
        read or are not the examples the run evaluated (its ``data_fingerprint``), or for runs
        that are not text ``eval`` runs."""
        if self._texts is not None or self.task != "eval":
            return self._texts
        from textrobust.text.data import load_text_examples

        s = self.settings
        try:
            data = load_text_examples(
                s["dataset"],
                config=s.get("config"),
                split=s.get("split"),
                text_column=s.get("text_column"),
                label_column=s.get("label_column"),
                limit=s.get("limit"),
                shuffle=bool(s.get("shuffle")),
                seed=int(s.get("seed", 0)),
            )
        except (UserError, OSError) as e:
            warnings.warn(f"original texts unavailable ({e}); showing flipped texts only", stacklevel=2)
            return None
        recorded = s.get("data_fingerprint")
        if recorded is not None and data.fingerprint != recorded:  # edited since, or another file at that path
            warnings.warn(
                f"original texts unavailable (the dataset {s['dataset']!r} is not the one the run evaluated: "
                "its examples' fingerprint differs); showing flipped texts only",
                stacklevel=2,
            )
            return None
        self._texts = dict(zip(data.ids, data.texts))
        return self._texts


def load_run(path: str | Path) -> Run:
    """Read the run in ``path``; :class:`UserError` (one line) unless it is a finished run
    directory of ``eval``, ``vision eval`` or ``certify`` (:data:`TASKS`)."""
    directory = Path(path)
    if not directory.is_dir():
        raise UserError(f"run directory not found: {str(directory)!r}")
    missing = [name for name in (RUN, EXAMPLES, REPORT) if not (directory / name).is_file()]
    if missing:
        raise UserError(
            f"{str(directory)!r} is not a finished run directory: {', '.join(missing)} missing "
            "(write one with eval/certify --output DIR and let it finish)"
        )
    try:
        settings = json.loads((directory / RUN).read_text())
        report = json.loads((directory / REPORT).read_text())
        records = [
            json.loads(line) for line in (directory / EXAMPLES).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
    except json.JSONDecodeError as e:
        raise UserError(f"cannot read the run in {str(directory)!r}: {e}") from None
    task = str(settings.get("task", "eval"))
    if task not in TASKS:
        raise UserError(
            f"{str(directory)!r} is a {task} run; compare, check, card and report read runs of "
            "eval, vision eval and certify"
        )
    if report.get("n_examples") != len(records):
        raise UserError(
            f"{str(directory)!r}: report.json counts {report.get('n_examples')} examples but examples.jsonl holds "
            f"{len(records)}; the run did not finish (rerun it with --resume)"
        )
    return Run(directory, settings, records, report)
