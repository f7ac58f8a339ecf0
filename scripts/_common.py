"""Helpers shared by the benchmark scripts: where ../shared is, timing, CPU notes."""

from __future__ import annotations

import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """$TEXTROBUST_SHARED, else ../shared beside the repository."""
    return Path(os.environ.get("TEXTROBUST_SHARED", ROOT.parent / "shared")).resolve()


@contextmanager
def timer(result: dict, key: str):
    """Store the wall time of the block in ``result[key]`` and this process's CPU time in
    ``result[key + "_cpu"]`` (seconds). CPU time is what other jobs on a shared machine disturb least."""
    start, cpu = time.perf_counter(), time.process_time()
    yield
    result[key] = time.perf_counter() - start
    result[key + "_cpu"] = time.process_time() - cpu


def machine() -> str:
    """A one-line description of where a benchmark ran."""
    import torch

    where = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"
    )
    return f"{platform.machine()} {where}, torch {torch.__version__}"
