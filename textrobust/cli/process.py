"""Settings of the ``textrobust`` process itself (the command line owns its process; the library
never changes process-wide state).

glibc's ``malloc`` returns large freed blocks to the operating system (``munmap``, heap trimming)
and adapts that threshold to the program's pattern of allocations. Between two forward passes of a
run, the host's own allocations (drawing, tokenizing, bookkeeping) keep resetting it, so each
forward pass page-faults fresh memory for its activations: on a CPU, the forward passes inside a
run cost 4-5% more CPU than the same batches replayed back to back (``scripts/bench_eval.py``,
``(a)``'s forward against ``(c)``); with the thresholds below, 1-2%. Peak memory grows by at
most the trim threshold. On a GPU the activations live on the device and nothing changes.
"""

from __future__ import annotations

import ctypes
import os

M_TRIM_THRESHOLD = -1  # mallopt parameters (glibc malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest (64-bit): blocks below it are reused, not mapped afresh
TRIM_THRESHOLD = 64 * 1024 * 1024  # free memory kept at the heap's top before it goes back to the system
OPT_OUT = "TEXTROBUST_MALLOC"


def tune_malloc() -> bool:
    """Keep freed activation memory for the next batch (see the module docstring); ``True`` when
    the settings were applied. Nothing is done where the C library is not glibc, where the user
    set glibc's own ``MALLOC_*`` variables (theirs win), or with ``TEXTROBUST_MALLOC=0``."""
    if os.environ.get(OPT_OUT, "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    if any(name.startswith("MALLOC_") or name == "GLIBC_TUNABLES" for name in os.environ):
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
        libc.gnu_get_libc_version  # noqa: B018 - raises AttributeError where the C library is not glibc
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):  # TypeError: no CDLL(None) (Windows)
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
