"""Process groups for distributed evaluation, through ``accelerate``.

Under ``accelerate launch`` or ``torchrun`` (``WORLD_SIZE`` > 1) every process runs the same
command; :func:`process_group` joins them (NCCL on GPUs, gloo on CPUs), each process takes its
share of the examples, and the main process gathers the records and alone writes outputs.
A plain single process gets a trivial group and never touches ``torch.distributed``.
"""

from __future__ import annotations

import atexit
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable


@dataclass
class ProcessGroup:
    """This process's place among the processes of a run."""

    rank: int = 0
    world_size: int = 1
    device: Any = None  # torch.device chosen by accelerate under a launcher, else None
    _state: Any = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def device_for(self, requested: str | None) -> str | None:
        """The device to run a model on in this process: ``requested``, else the launcher's
        device for it (``None`` outside a launcher: choose automatically)."""
        return requested or (str(self.device) if self.distributed else None)

    def gather(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order (a one-element list in a single process)."""
        if not self.distributed:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def broadcast(self, obj: Any) -> Any:
        """The main process's ``obj``, on every process."""
        if not self.distributed:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def first_error(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on every process; if it raised anywhere, raise an error on every process.

        Keeps processes in step when bad input makes one of them stop early (for instance the
        output directory, which only the main process opens): no process is left waiting in a
        collective for one that has gone. A process re-raises its own error; the others raise
        the first one (by rank), as a :class:`~textrobust.errors.UserError` when it was one.
        Under a launcher every error raised here is marked ``reported_on_main``: the main
        process raises one too, so the CLI prints the message there only.
        """
        try:
            value, error = fn(), None
        except Exception as e:  # noqa: BLE001 - re-raised below, on every process
            value, error = None, e
        if not self.distributed:
            if error is not None:
                raise error
            return value
        from textrobust.errors import UserError

        errors = self.gather(None if error is None else (isinstance(error, UserError), str(error)))
        failed = [(rank, item) for rank, item in enumerate(errors) if item is not None]
        if not failed:
            return value
        if error is None:
            rank, (is_user_error, message) = failed[0]
            error = UserError(message) if is_user_error else RuntimeError(f"process {rank} failed: {message}")
        error.reported_on_main = True  # type: ignore[attr-defined]
        raise error


def launcher_rank() -> int:
    """This process's global rank as the launcher set it (``RANK``), 0 outside a launcher.

    Cheap (no ``torch.distributed``): the CLI uses it to print warnings and errors once.
    """
    try:
        return int(os.environ.get("RANK", "0"))
    except ValueError:
        return 0


def _destroy_at_exit() -> None:
    """Tear the process group down before the interpreter exits.

    Without it a gloo process sometimes aborts at exit ("terminate called without an active
    exception", SIGABRT), which a launcher reports as a failed run.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


_GROUP: ProcessGroup | None = None


def end_distributed_process(code: int) -> None:
    """End this process now with exit status ``code`` if it is one of several processes of a run;
    otherwise return.

    Output is flushed, and nothing of torch's is torn down: a gloo process whose peer has already
    left (as after an error) can abort in its C++ destructors, turning exit 2 into SIGABRT.
    """
    if _GROUP is None or _GROUP.world_size <= 1:
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def process_group() -> ProcessGroup:
    """The process group of this run, created once (launchers set ``WORLD_SIZE``)."""
    global _GROUP
    if _GROUP is None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch
            from accelerate import PartialState

            has_accelerator = torch.cuda.is_available()
            state = PartialState(cpu=not has_accelerator)
            atexit.register(_destroy_at_exit)
            _GROUP = ProcessGroup(state.process_index, state.num_processes, state.device, state)
        else:
            _GROUP = ProcessGroup()
    return _GROUP
