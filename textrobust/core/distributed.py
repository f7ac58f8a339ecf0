"""Process groups for distributed evaluation, through ``accelerate``.

Under ``accelerate launch`` or ``torchrun`` (``WORLD_SIZE`` > 1) every process runs the same
command; :func:`process_group` joins them (NCCL on GPUs, gloo on CPUs), each process takes its
share of the examples, and the main process gathers the records and alone writes outputs.
A plain single process gets a trivial group and never touches ``torch.distributed``.
"""

from __future__ import annotations

import os
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
        """Run ``fn`` on every process; if it raised anywhere, raise the first error everywhere.

        Keeps processes in step when bad input makes one of them stop early.
        """
        try:
            value, error = fn(), None
        except Exception as e:  # noqa: BLE001 - re-raised below, on every process
            value, error = None, e
        if not self.distributed:
            if error is not None:
                raise error
            return value
        errors = self.gather(None if error is None else (type(error).__name__, str(error)))
        if error is not None:
            raise error
        for item in errors:
            if item is not None:
                from textrobust.errors import UserError

                raise UserError(item[1])
        return value


_GROUP: ProcessGroup | None = None


def process_group() -> ProcessGroup:
    """The process group of this run, created once (launchers set ``WORLD_SIZE``)."""
    global _GROUP
    if _GROUP is None:
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch
            from accelerate import PartialState

            has_accelerator = torch.cuda.is_available()
            state = PartialState(cpu=not has_accelerator)
            _GROUP = ProcessGroup(state.process_index, state.num_processes, state.device, state)
        else:
            _GROUP = ProcessGroup()
    return _GROUP
