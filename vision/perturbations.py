"""Image perturbations: batched torch operations, registered with the core (modality ``image``).

An image is a float32 tensor ``(C, H, W)`` in [0, 1] (C = 1 grayscale or 3 RGB). Every
perturbation maps a batch of ORIGINAL images and one stream key per draw to perturbed copies
in ONE set of tensor operations (no Python loop over images). The randomness of draw ``k`` of
an image is read from that draw's key with the counter-based
:func:`~textrobust.core.random.uniforms` / :func:`~textrobust.core.random.normals`, a fixed
number of numbers per image (it depends on the spec and the image size only), so an image
and a key give the same output alone or in any batch, in any order.

Defaults are the CIFAR-10-C constants of severity 3 (Hendrycks & Dietterich 2019), the
corruption benchmark made for 32x32 images; the weather operations take ``severity=1..5``
and use the CIFAR-10-C constants of that severity on 28x28 and 32x32 images alike.

==========  ============================================================================
pixels      the RPR paper's: ``k`` positions drawn with replacement, each set to a uniform
            random integer in 0..254 (0..255 scale; every channel independently), on a
            copy of the original. ``k=0`` (the default) means round(sqrt(H*W)): 28 for
            MNIST, 32 for CIFAR-10.
gaussian    additive N(0, sigma^2) noise per value, clipped to [0, 1]
shot        Poisson (photon) noise: Poisson(x * photons) / photons
impulse     salt and pepper: each value set to 0 or 1 (equally likely) with probability p
blur        Gaussian blur of standard deviation ``sigma`` pixels (edges replicated);
            deterministic
brightness  HSV value shifted by ``delta`` (clipped), hue and saturation kept; deterministic
contrast    (x - mean) * factor + mean, per channel; deterministic
fog         ImageNet-C/CIFAR-10-C fog: a plasma fractal (diamond-square) haze
snow        CIFAR-10-C snow: zoomed, thresholded Gaussian flakes, motion-blurred along a
            random direction, over a whitened image
frost       CIFAR-10-C frost: blend with a random crop of a frost texture; the texture is
            synthesised (ridged fractal noise), not the benchmark's photographs
rain        not in ImageNet-C: albumentations' RandomRain algorithm scaled to small images
            (slanted drops, blur, darkening)
==========  ============================================================================

The deterministic ones (blur, brightness, contrast) give the same image at every draw, so
their robust ratio is the accuracy on the transformed images; ``--max-steps 1`` measures it.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Mapping, Sequence

from textrobust.core.perturbation import Param, Perturbation, PerturbationType, Spec, register

# Registering is light (no torch): the operations live in vision.ops, imported on first build.


# operations that can write into the batch they are given, and a block size for them: the
# images of a block stay in the (last-level) cache from the copy of the sources to the writes
# of the perturbation, and blocks are large enough that the per-call cost of the operation's
# numpy steps (k assignments for ``pixels``) is spread over many images (8 MiB: a whole
# round of MNIST draws, 1.0 µs a draw against 1.1 at 2 MiB and 1.5 at 512 KiB, same process)
_IN_PLACE = {"change_pixels": "change_pixels_"}
_IN_PLACE_BYTES = 1 << 23


class _Buffers:
    """Output batches of an in-place operation, reused once nothing refers to them.

    A fresh batch of a round's draws (megabytes) costs page faults at every round. Each
    buffer is a torch-allocated tensor; a batch handed out is ``torch.from_numpy`` of a view
    of the buffer's numpy array, whose storage holds a reference to that array for as long
    as any tensor, view or :class:`~vision.batch.ImageRow` of the batch lives. A buffer whose
    array has no reference but ours is free: no one can see its old contents (a job keeping
    a flipped image keeps its batch's buffer out of use; a new one is allocated meanwhile).
    Every value of a batch handed out is written by the operation, so reuse changes no result.
    """

    SLOTS = 2

    def __init__(self) -> None:
        self._arrays: list[Any] = []  # numpy views of torch-allocated tensors (flat)

    def take(self, shape: tuple[int, ...], dtype: Any) -> Any:
        import sys

        import torch

        n = math.prod(shape)
        arrays = self._arrays
        free = [i for i in range(len(arrays)) if sys.getrefcount(arrays[i]) == 2]  # the list's and the argument's
        fits = [i for i in free if arrays[i].size >= n and arrays[i].dtype == _numpy_dtype(dtype)]
        if fits:
            i = fits[0]
        else:
            array = torch.empty(n, dtype=dtype).numpy()
            if free:
                i = free[0]
                arrays[i] = array
            elif len(arrays) < self.SLOTS:
                i = len(arrays)
                arrays.append(array)
            else:  # every buffer is still seen somewhere: rotate (the old one lives on with its holders)
                arrays.append(array)
                del arrays[0]
                i = len(arrays) - 1
        return torch.from_numpy(arrays[i][:n].reshape(shape))


@functools.lru_cache(maxsize=8)
def _numpy_dtype(dtype: Any) -> Any:
    import torch

    return torch.empty(0, dtype=dtype).numpy().dtype


def _batched(name: str, random: bool, args: dict[str, Any]) -> Callable[[Sequence[Any], Sequence[int]], Any]:
    """``perturb_batch`` that gathers the images into a new batch (each distinct source image
    stacked once), applies ``vision.ops.<name>`` and returns :class:`~vision.batch.ImageRows`.
    An operation that works in place is applied to the batch block by block, each block
    right after its images are copied in."""
    import torch

    from vision import ops
    from vision.batch import ImageRows, distinct_images

    fn = getattr(ops, name)
    fn_ = getattr(ops, _IN_PLACE[name]) if random and name in _IN_PLACE else None
    buffers = _Buffers()

    def perturb_batch(images: Sequence[Any], keys: Sequence[int]) -> ImageRows:
        distinct, which = distinct_images(images)
        if distinct.ndim != 4 or distinct.shape[1] not in (1, 3):
            raise ValueError(f"images must be (C, H, W) tensors with C = 1 or 3, got {tuple(distinct.shape[1:])}")
        keys = keys if isinstance(keys, Sequence) else list(keys)
        if fn_ is None:
            x = distinct.index_select(0, which)
            return ImageRows(fn(x, keys, **args) if random else fn(x, **args))
        out = buffers.take((len(which), *distinct.shape[1:]), distinct.dtype)
        step = max(1, _IN_PLACE_BYTES // max(1, distinct[0].nbytes))
        for start in range(0, len(which), step):
            block = out[start : start + step]
            torch.index_select(distinct, 0, which[start : start + step], out=block)
            if fn_(block, keys[start : start + step], **args) is not block:
                raise AssertionError(f"ops.{_IN_PLACE[name]} did not work in place")
        return ImageRows(out)

    return perturb_batch


def _builder(name: str, random: bool = True) -> Callable[[Spec, Mapping[str, Any]], Perturbation]:
    def build(spec: Spec, resources: Mapping[str, Any]) -> Perturbation:
        return Perturbation(spec, perturb_batch=_batched(name, random, dict(spec.params)))

    return build


def _severity() -> Param:
    return Param("severity", 3, int, 1, 5, help="1 (mild) .. 5 (strong), CIFAR-10-C constants")


IMAGE_PERTURBATIONS = (
    PerturbationType(
        "pixels",
        "image",
        (Param("k", 0, int, 0, None, help="pixels changed; 0 = round(sqrt(H*W))"),),
        _builder("change_pixels"),
        "the RPR paper's: k random pixels set to random values (k=0: sqrt(H*W))",
    ),
    PerturbationType(
        "gaussian",
        "image",
        (Param("sigma", 0.08, float, 0, 10, low_open=True),),
        _builder("gaussian_noise"),
        "additive Gaussian noise of std sigma (0..1 scale)",
    ),
    PerturbationType(
        "shot",
        "image",
        (Param("photons", 100.0, float, 0, 1e6, low_open=True),),
        _builder("shot_noise"),
        "Poisson noise: Poisson(x * photons) / photons",
    ),
    PerturbationType(
        "impulse",
        "image",
        (Param("p", 0.03, float, 0, 1),),
        _builder("impulse_noise"),
        "salt and pepper: each value set to 0 or 1 with probability p",
    ),
    PerturbationType(
        "blur",
        "image",
        (Param("sigma", 0.7, float, 0, 20, low_open=True),),
        _builder("blur_images", random=False),
        "Gaussian blur of std sigma pixels (deterministic)",
    ),
    PerturbationType(
        "brightness",
        "image",
        (Param("delta", 0.15, float, -1, 1),),
        _builder("brightness_shift", random=False),
        "HSV value shifted by delta (deterministic)",
    ),
    PerturbationType(
        "contrast",
        "image",
        (Param("factor", 0.4, float, 0, 10),),
        _builder("contrast_change", random=False),
        "contrast scaled by factor around the mean (deterministic)",
    ),
    PerturbationType("fog", "image", (_severity(),), _builder("fog"), "plasma-fractal fog (ImageNet-C)"),
    PerturbationType("snow", "image", (_severity(),), _builder("snow"), "motion-blurred snow flakes (ImageNet-C)"),
    PerturbationType(
        "frost", "image", (_severity(),), _builder("frost"), "frost texture blend (ImageNet-C, synthetic texture)"
    ),
    PerturbationType("rain", "image", (_severity(),), _builder("rain"), "slanted rain drops, blur, darkening"),
)

for _ptype in IMAGE_PERTURBATIONS:
    register(_ptype)
