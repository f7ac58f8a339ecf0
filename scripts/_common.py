"""Helpers shared by the benchmark scripts: where ../shared is, timing, CPU notes."""

from __future__ import annotations

import argparse
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """$TEXTROBUST_SHARED, else ../shared beside the repository."""
    return Path(os.environ.get("TEXTROBUST_SHARED", ROOT.parent / "shared")).resolve()


def sst2_arguments(
    ap: argparse.ArgumentParser, shared: Path, model_flag: str = "--model", synonyms: bool = True
) -> None:
    """The SST-2 benchmarks' inputs, from ``shared``: ``model_flag`` (MiniLM fine-tuned on SST-2),
    ``--dataset`` (SST-2) and, with ``synonyms``, ``--synonyms`` (Open English WordNet)."""
    ap.add_argument(model_flag, default=str(shared / "models/minilm-l6-sst2"))
    ap.add_argument("--dataset", default=str(shared / "data/sst2"))
    if synonyms:
        ap.add_argument("--synonyms", default=str(shared / "data/wordnet/oewn_synonyms.json"))


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
