"""Images as the engine sees them, without one tensor object per image.

An image is a float32 tensor ``(C, H, W)`` with values in [0, 1]. The engine passes inputs
around one by one (lists, slices, dedup bookkeeping); for images, creating a tensor view per
row and stacking the views again costs more than the tiny models it feeds. So a batched
perturbation returns :class:`ImageRows`: a sequence of light :class:`ImageRow` handles into
one batch tensor, and :func:`stack_images` gathers any mix of handles and plain tensors back
into one ``(B, C, H, W)`` batch with one ``index_select`` per source batch.
"""

from __future__ import annotations

from itertools import repeat
from operator import attrgetter
from typing import Any, Iterator, Sequence

import numpy as np
import torch

_parent = attrgetter("batch")
_row = attrgetter("index")


class ImageRow:
    """Row ``index`` of a ``(B, C, H, W)`` batch tensor, not yet materialised."""

    __slots__ = ("batch", "index")

    def __init__(self, batch: torch.Tensor, index: int) -> None:
        self.batch = batch
        self.index = index

    def tensor(self) -> torch.Tensor:
        """The image as a ``(C, H, W)`` tensor (a view into the batch)."""
        return self.batch[self.index]

    @property
    def shape(self) -> torch.Size:
        return self.batch.shape[1:]


class ImageRows(Sequence[ImageRow]):
    """Rows ``start..stop-1`` of a ``(B, C, H, W)`` tensor seen as a sequence of
    :class:`ImageRow`; a slice is again :class:`ImageRows` of the same tensor (no tensor
    slicing until :attr:`batch` is read), so the engine can cut batches and hand each job its
    inputs without an object per image."""

    __slots__ = ("parent", "start", "stop")

    def __init__(self, batch: torch.Tensor, start: int = 0, stop: int | None = None) -> None:
        self.parent = batch
        self.start = start
        self.stop = int(batch.shape[0]) if stop is None else stop

    @property
    def batch(self) -> torch.Tensor:
        """The rows as one ``(n, C, H, W)`` tensor (a view)."""
        if self.start == 0 and self.stop == self.parent.shape[0]:
            return self.parent
        return self.parent[self.start : self.stop]

    def __len__(self) -> int:
        return self.stop - self.start

    def __getitem__(self, i: int | slice) -> Any:  # type: ignore[override]
        n = self.stop - self.start
        if isinstance(i, slice):
            a, b, step = i.indices(n)
            if step != 1:
                return [self[j] for j in range(a, b, step)]
            return ImageRows(self.parent, self.start + a, self.start + max(a, b))
        if not -n <= i < n:
            raise IndexError(i)
        return ImageRow(self.parent, self.start + i % n)

    def __iter__(self) -> Iterator[ImageRow]:
        return map(ImageRow, repeat(self.parent), range(self.start, self.stop))


def as_tensor(image: Any) -> torch.Tensor:
    """A ``(C, H, W)`` tensor from an :class:`ImageRow` or a tensor."""
    return image.tensor() if type(image) is ImageRow else image


def image_shape(image: Any) -> tuple[int, ...]:
    return tuple(image.shape)


def stack_images(images: Sequence[Any]) -> torch.Tensor:
    """One ``(B, C, H, W)`` float tensor from image rows and/or ``(C, H, W)`` tensors.

    All images must have the same shape (a :class:`ValueError` says which differ). Rows of one
    batch in order (:class:`ImageRows`, or a list of such rows) are a view of that batch.
    """
    if type(images) is ImageRows:
        if len(images) == 0:
            raise ValueError("no images to stack")
        return images.batch
    items = images if type(images) is list else list(images)
    if not items:
        raise ValueError("no images to stack")
    first = items[0]
    if type(first) is ImageRow:
        parent = first.batch
        if set(map(type, items)) == {ImageRow} and all(p is parent for p in map(_parent, items)):
            rows = list(map(_row, items))
            if rows == list(range(rows[0], rows[0] + len(rows))):
                return parent[rows[0] : rows[0] + len(rows)]
            return parent.index_select(0, torch.tensor(rows, dtype=torch.long))
    shape = image_shape(first)
    if type(first) is torch.Tensor and set(map(type, items)) == {torch.Tensor}:
        try:  # plain tensors (an example's source images): one stack
            return torch.stack(items).to(torch.float32)
        except RuntimeError:
            pass  # different shapes: said below
    groups: dict[int, tuple[torch.Tensor, list[int], list[int]]] = {}
    loose: list[tuple[int, torch.Tensor]] = []
    for pos, x in enumerate(items):
        if image_shape(x) != shape:
            raise ValueError(f"images of different shapes in one batch: {shape} and {image_shape(x)}")
        if type(x) is ImageRow:
            group = groups.setdefault(id(x.batch), (x.batch, [], []))
            group[1].append(pos)
            group[2].append(x.index)
        else:
            loose.append((pos, x))
    out = torch.empty((len(items), *shape), dtype=torch.float32)
    for batch, positions, rows in groups.values():
        out[torch.tensor(positions)] = batch.index_select(0, torch.tensor(rows, dtype=torch.long)).to(torch.float32)
    if loose:
        out[torch.tensor([p for p, _ in loose])] = torch.stack([x for _, x in loose]).to(torch.float32)
    return out


def distinct_images(images: Sequence[Any]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(distinct, which)``: the images as a batch of distinct ones and, for each image, its
    row in that batch (``distinct[which]`` are the images). The engine passes an example's
    source once per draw, in runs of the same object: each run is stacked once."""
    items = images if type(images) is list else list(images)
    n = len(items)
    if n == 0:
        raise ValueError("no images to stack")
    ids = np.fromiter(map(id, items), dtype=np.uint64, count=n)
    new_run = np.empty(n, dtype=bool)
    new_run[0] = True
    np.not_equal(ids[1:], ids[:-1], out=new_run[1:])
    starts = np.flatnonzero(new_run)
    distinct = stack_images([items[i] for i in starts.tolist()] if len(starts) < n else items)
    return distinct, torch.from_numpy(np.cumsum(new_run) - 1)


def png_data_uri(image: Any) -> str:
    """A small JSON-friendly encoding of an image: ``data:image/png;base64,...`` of the image
    quantised to 8 bits (exact for the ``pixels`` perturbation; any draw can also be redrawn
    exactly from its seed, example id, spec and draw index)."""
    import base64
    import io

    from PIL import Image

    x = as_tensor(image).detach().to(torch.float32)
    a = (x.clamp(0, 1) * 255.0).round().to(torch.uint8).cpu().numpy()
    pil = Image.fromarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))
    buffer = io.BytesIO()
    pil.save(buffer, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
