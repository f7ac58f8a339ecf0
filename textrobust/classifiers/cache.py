"""A persistent response cache for remote classifiers: every answer is paid for once.

Answers are keyed by a SHA-256 of what decides them (kind, endpoint, model, prompt, input; for
chat also the answer length) and appended, one JSON line each and flushed, to ``responses.jsonl``
in the run's output directory (under a launcher, process ``r > 0`` writes
``responses.rank<r>.jsonl``; every file is read back). A killed run loses at most the answer
being written; ``--resume`` and reruns into the same directory look every input up before
sending it. Without a directory the cache lives in memory for the run. Delete the file to ask
the endpoint again (e.g. after the remote model changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

FILE = "responses.jsonl"


def cache_key(*parts: Any) -> str:
    """A stable key for ``parts`` (JSON values)."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()


class ResponseCache:
    """``key -> JSON value``, persisted in ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | os.PathLike | None) -> None:
        self.directory = Path(directory) if directory is not None else None
        self._data: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._file = None
        rank = int(os.environ.get("RANK", "0") or 0)
        self.path = (
            None if self.directory is None else self.directory / (FILE if rank == 0 else f"responses.rank{rank}.jsonl")
        )
        if self.directory is not None and self.directory.is_dir():
            for path in sorted(self.directory.glob("responses*.jsonl")):
                self._load(path)

    def _load(self, path: Path) -> None:
        for line in path.read_bytes().splitlines():
            try:
                entry = json.loads(line)
                self._data[entry["key"]] = entry["value"]
            except (json.JSONDecodeError, KeyError, TypeError):
                continue  # a torn last line of a killed run

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: str) -> Any:
        """The stored value, or ``None``."""
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: Any, text: str | None = None) -> None:
        """Store ``value`` (and persist it now when the cache has a directory)."""
        line = json.dumps({"key": key, "input": text, "value": value}, ensure_ascii=False) + "\n"
        with self._lock:
            self._data[key] = value
            if self.path is None:
                return
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if self.path.exists():  # drop a torn last line before appending
                    data = self.path.read_bytes()
                    end = data.rfind(b"\n") + 1
                    if end < len(data):
                        with open(self.path, "r+b") as f:
                            f.truncate(end)
                self._file = open(self.path, "a", encoding="utf-8")
            self._file.write(line)
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
