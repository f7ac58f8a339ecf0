"""Streaming, resumable per-example results: ``run.json`` + ``examples.jsonl``.

Each finished example is appended to ``examples.jsonl`` as one JSON line and flushed, so a
killed run loses at most the example being written (a torn last line is dropped on resume).
``run.json`` holds the settings that determine the results; ``--resume`` refuses to continue
a directory written with different settings. :meth:`ResultStore.finish` rewrites the file
sorted by example index, so a finished run's file does not depend on the order in which
examples happened to finish.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping

from textrobust.errors import UserError

EXAMPLES = "examples.jsonl"
RUN = "run.json"


def _sort_key(index: Hashable) -> tuple:
    return (0, index, "") if isinstance(index, int) else (1, 0, str(index))


class ResultStore:
    """Per-example records of one run in ``directory``; see the module docstring."""

    def __init__(
        self,
        directory: str | os.PathLike,
        settings: Mapping[str, Any],
        *,
        resume: bool = False,
        overwrite: bool = False,
        key: str = "index",
    ) -> None:
        self.directory = Path(directory)
        self.key = key
        self.settings = json.loads(json.dumps(dict(settings)))
        self.done: dict[Hashable, dict] = {}
        if self.directory.exists() and not self.directory.is_dir():
            raise UserError(f"output path {str(self.directory)!r} exists and is not a directory")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot create output directory {str(self.directory)!r}: {e.strerror}") from None
        examples, run = self.directory / EXAMPLES, self.directory / RUN
        has_results = examples.exists() and examples.stat().st_size > 0
        if resume and has_results and not run.exists():
            raise UserError(f"cannot resume {str(self.directory)!r}: {RUN} is missing")
        if resume and run.exists():
            self._check_settings(json.loads(run.read_text()))
            if examples.exists():
                self.done = self._load(examples)
        elif has_results and not overwrite:
            raise UserError(
                f"{examples} already holds results; pass --resume to continue that run or --overwrite to replace it"
            )
        else:
            examples.unlink(missing_ok=True)
        run.write_text(json.dumps(self.settings, indent=2) + "\n")
        self._file = open(examples, "a", encoding="utf-8")

    def _check_settings(self, previous: Mapping[str, Any]) -> None:
        changed = sorted(k for k in set(previous) | set(self.settings) if previous.get(k) != self.settings.get(k))
        if changed:
            detail = "; ".join(f"{k}: {previous.get(k)!r} -> {self.settings.get(k)!r}" for k in changed[:3])
            raise UserError(
                f"cannot resume {str(self.directory)!r}: settings differ from the earlier run ({detail}); "
                "rerun with the same settings or use another --output"
            )

    def _load(self, path: Path) -> dict[Hashable, dict]:
        data = path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line from a killed run
            with open(path, "r+b") as f:
                f.truncate(end)
        done: dict[Hashable, dict] = {}
        for number, line in enumerate(data[:end].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                done[record[self.key]] = record
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(f"cannot resume: line {number} of {path} is not a result record") from None
        return done

    def append(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Write finished records now (one line each, flushed)."""
        lines = []
        for record in records:
            self.done[record[self.key]] = dict(record)
            lines.append(json.dumps(record, ensure_ascii=False) + "\n")
        if lines:
            self._file.write("".join(lines))
            self._file.flush()

    def finish(self) -> None:
        """Close the file, rewritten in index order (atomically)."""
        self._file.close()
        path = self.directory / EXAMPLES
        tmp = path.with_suffix(".jsonl.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            for index in sorted(self.done, key=_sort_key):
                f.write(json.dumps(self.done[index], ensure_ascii=False) + "\n")
        os.replace(tmp, path)

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
