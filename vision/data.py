"""Labelled images: Hub names and aliases, local directories and data files, raw MNIST IDX.

``mnist`` -> ``ylecun/mnist`` and ``cifar10`` -> ``uoft-cs/cifar10`` on the Hub (through
:func:`textrobust.hf.data.load_split`); a local directory in the same layout (the offline twins
in ``../shared/data``); a directory of IDX files (``train-images-idx3-ubyte[.gz]``,
``t10k-...``) read by :func:`read_idx`; or a ``datasets.Dataset``.

Images are kept as one uint8 tensor ``(N, C, H, W)`` (all images must share one size);
:meth:`ImageExamples.image` gives the float32 ``(C, H, W)`` in [0, 1] the engine works on.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from textrobust.core.options import DataOptions
from textrobust.errors import UserError
from textrobust.hf.data import choose_rows, select_rows

IMAGE_COLUMNS = ("image", "img", "pixel_values", "pixels", "picture", "photo")
LABEL_COLUMNS = ("label", "labels", "fine_label", "coarse_label", "class", "target", "category")
MNIST_LABELS = [str(d) for d in range(10)]

# IDX element types: code -> numpy big-endian dtype
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array in an IDX file (the raw MNIST format), gzipped or not.

    Header: two zero bytes, the element type (0x08 unsigned byte ... 0x0E double), the number
    of dimensions, then each dimension as a big-endian int32; the data follow, big-endian.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise UserError(f"{str(path)!r} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">i4"))
    dtype = np.dtype(_IDX_TYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise UserError(
            f"{str(path)!r}: IDX header says {shape} ({expected} bytes) but the file holds {len(raw) - header}"
        )
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.type)  # native byte order


def _idx_file(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def idx_splits(directory: str | os.PathLike) -> dict[str, tuple[Path, Path]]:
    """The MNIST-style IDX (images, labels) file pairs in a directory, by split name."""
    d = Path(directory)
    found = {}
    for split, (images, labels) in _IDX_FILES.items():
        pair = (_idx_file(d, images), _idx_file(d, labels))
        if pair[0] is not None and pair[1] is not None:
            found[split] = pair
    return found


@dataclass
class ImageExamples:
    """The rows to evaluate: original row ids, uint8 images ``(N, C, H, W)``, labels, names."""

    ids: list[int]
    images: torch.Tensor
    labels: list[int]
    label_names: list[str] | None
    name: str
    split: str | None
    alias: str | None = None
    image_column: str | None = None
    label_column: str | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def image(self, i: int) -> torch.Tensor:
        """Row ``i`` (a position, not an id) as float32 ``(C, H, W)`` in [0, 1]."""
        return images_to_float(self.images[i])

    @property
    def fingerprint(self) -> str:
        """What the run's examples are (:func:`~textrobust.core.fingerprint.examples_fingerprint`;
        the images as one array: their dtype, shape and bytes)."""
        from textrobust.core.fingerprint import examples_fingerprint

        images = self.images.detach().cpu().contiguous()
        header = f"{images.dtype} {tuple(images.shape)}".encode()
        names = None if self.label_names is None else list(self.label_names)
        return examples_fingerprint(self.ids, self.labels, names, (header, images.numpy().tobytes()))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.images.shape[1:])  # type: ignore[return-value]

    def subset(self, positions: Sequence[int]) -> ImageExamples:
        """The examples at ``positions`` (ids are kept)."""
        index = torch.as_tensor(list(positions), dtype=torch.long)
        return ImageExamples(
            [self.ids[p] for p in positions],
            self.images.index_select(0, index),
            [self.labels[p] for p in positions],
            self.label_names,
            self.name,
            self.split,
            self.alias,
            self.image_column,
            self.label_column,
        )


def images_to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) images as float32 in [0, 1]; float images are returned as float32."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255.0)
    return images.to(torch.float32)


def _decode(values: Sequence[Any], column: str) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` from a column of images (PIL, {'bytes', 'path'} or arrays)."""
    from PIL import Image

    arrays = []
    for v in values:
        if isinstance(v, dict) and (v.get("bytes") or v.get("path")):
            v = Image.open(io.BytesIO(v["bytes"]) if v.get("bytes") else v["path"])
        if isinstance(v, Image.Image):
            if v.mode not in ("L", "RGB"):
                v = v.convert("RGB" if v.mode in ("RGBA", "P", "CMYK", "YCbCr", "LA") else "L")
            a = np.asarray(v)
        else:
            a = np.asarray(v)
            if a.dtype != np.uint8:
                if np.issubdtype(a.dtype, np.floating) and a.size and a.max() <= 1.0:
                    a = np.round(a * 255)
                a = np.clip(a, 0, 255).astype(np.uint8)
        if a.ndim == 2:
            a = a[None]
        elif a.ndim == 3 and a.shape[-1] in (1, 3) and a.shape[0] not in (1, 3):
            a = a.transpose(2, 0, 1)
        if a.ndim != 3 or a.shape[0] not in (1, 3):
            raise UserError(f"column {column!r} does not hold images (got an array of shape {a.shape})")
        arrays.append(a)
    if not arrays:
        raise UserError("the dataset split is empty")
    if len({a.shape[0] for a in arrays}) > 1:  # a mix of grayscale and colour: make all colour
        arrays = [np.repeat(a, 3, axis=0) if a.shape[0] == 1 else a for a in arrays]
    shapes = {a.shape for a in arrays}
    if len(shapes) > 1:
        some = ", ".join(f"{s[1]}x{s[2]}" for s in sorted(shapes)[:3])
        raise UserError(
            f"images in column {column!r} have different sizes ({some}, ...); resize them to one size first"
        )
    return torch.from_numpy(np.ascontiguousarray(np.stack(arrays)))


def _from_idx(directory: Path, split: str | None, name: str) -> tuple[torch.Tensor, list[int], str]:
    splits = idx_splits(directory)
    split = split or ("test" if "test" in splits else next(iter(splits)))
    if split not in splits:
        raise UserError(f"IDX directory {name!r} has no split {split!r}; available: {', '.join(splits)}")
    images_path, labels_path = splits[split]
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"IDX files in {name!r} do not hold (N, H, W) images and N labels")
    return torch.from_numpy(images.astype(np.uint8)[:, None].copy()), [int(v) for v in labels], split


def image_examples(dataset: Any, data: DataOptions, seed: int) -> ImageExamples:
    """Labelled images from a name, alias, path, IDX directory or ``datasets.Dataset``: the rows
    ``data`` chooses (``input_column`` is the image column; no ``config``), shuffled by ``seed``.

    ``split`` defaults to validation, else test. ``limit`` takes the first N rows after an
    optional seeded ``shuffle``; row ids are the original row indices (they seed draws).
    """
    import datasets

    if data.config is not None:
        raise UserError("image datasets take no --config")
    local = Path(os.path.expanduser(str(dataset))) if isinstance(dataset, (str, os.PathLike)) else None
    if local is not None and local.is_dir() and idx_splits(local):
        name = str(dataset)
        images, labels, split = _from_idx(local, data.split, name)
        rows = select_rows(len(labels), limit=data.limit, shuffle=data.shuffle, seed=seed)
        index = torch.as_tensor(rows, dtype=torch.long)
        names = MNIST_LABELS if max(labels) < 10 else None
        return ImageExamples(rows, images.index_select(0, index), [labels[r] for r in rows], names, name, split)
    chosen = choose_rows(dataset, data, seed, "image", IMAGE_COLUMNS, LABEL_COLUMNS)
    picked, image_col = chosen.rows, chosen.input_column
    if isinstance(picked.features[image_col], datasets.Image):
        picked = picked.cast_column(image_col, datasets.Image(decode=False))
    images = _decode(picked[image_col], image_col)
    split, labels = chosen.split, chosen.labels()
    columns = (image_col, chosen.label_column)
    return ImageExamples(chosen.ids, images, labels.ids, labels.names, split.name, split.split, split.alias, *columns)


def load_image_examples(dataset: Any, *, seed: int = 0, image_column: str | None = None, **data: Any) -> ImageExamples:
    """:func:`image_examples` with the :class:`~textrobust.core.options.DataOptions` fields as
    keywords (``split``, ``label_column``, ``limit``, ``shuffle``; ``image_column`` for
    ``input_column``)."""
    return image_examples(dataset, DataOptions(input_column=image_column, **data), seed)
