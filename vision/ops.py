"""The image operations behind the ``image`` perturbations (see :mod:`vision.perturbations`).

Each takes a float32 batch ``(B, C, H, W)`` in [0, 1] of ORIGINAL images and, for random
ones, one stream key per image, and returns the perturbed batch in one set of tensor
operations (loops only over small fixed things such as kernel taps, never over images).
Random numbers come from :func:`~textrobust.core.random.uniforms` /
:func:`~textrobust.core.random.normals`: a fixed count per image, read from the image's own
key, so an image and a key give the same output alone or in any batch.
"""

from __future__ import annotations

import functools
import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from scipy.special import ndtr, ndtri

from textrobust.core.random import normals, uniforms

# CIFAR-10-C constants (hendrycks/robustness, make_cifar_c.py), severities 1..5
FOG = [(0.2, 3.0), (0.5, 3.0), (0.75, 2.5), (1.0, 2.0), (1.5, 1.75)]
SNOW = [
    (0.1, 0.2, 1.0, 0.6, 8, 3, 0.95),
    (0.1, 0.2, 1.0, 0.5, 10, 4, 0.9),
    (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
    (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
    (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
]
FROST = [(1.0, 0.2), (1.0, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)]
# rain (ours): drops per pixel, drop length / image side, brightness factor, blur sigma
RAIN = [
    (0.005, 0.10, 0.95, 0.0),
    (0.01, 0.12, 0.9, 0.3),
    (0.015, 0.15, 0.85, 0.4),
    (0.02, 0.18, 0.8, 0.5),
    (0.03, 0.2, 0.75, 0.6),
]
RAIN_COLOUR = 200 / 255  # albumentations' default drop colour (200, 200, 200)
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as cv2's RGB2GRAY


# ---------------------------------------------------------------------------- helpers


def _floats(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32))


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Luminance ``(B, 1, H, W)`` of grayscale or RGB images."""
    if x.shape[1] == 1:
        return x
    w = torch.tensor(LUMA, dtype=x.dtype).view(1, 3, 1, 1)
    return (x * w).sum(dim=1, keepdim=True)


def gaussian_kernel(sigma: float, truncate: float = 4.0) -> torch.Tensor:
    """Normalised 1-D Gaussian weights of radius ceil(truncate * sigma) (scipy's convention)."""
    radius = max(1, int(math.ceil(truncate * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    w = torch.exp(-0.5 * (t / sigma) ** 2)
    return (w / w.sum()).to(torch.float32)


def blur_images(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur with replicated edges, as explicit shifted sums (so every
    image's result is exactly the same in any batch)."""
    w = gaussian_kernel(sigma)
    r = (len(w) - 1) // 2
    H, W = x.shape[-2:]
    rows = torch.arange(H)
    cols = torch.arange(W)
    out = torch.zeros_like(x)
    for i, wi in enumerate(w.tolist()):
        out += wi * x.index_select(-2, (rows + i - r).clamp(0, H - 1))
    tmp, out = out, torch.zeros_like(x)
    for i, wi in enumerate(w.tolist()):
        out += wi * tmp.index_select(-1, (cols + i - r).clamp(0, W - 1))
    return out


def _map_size(h: int, w: int) -> int:
    return 1 << max(1, math.ceil(math.log2(max(h, w))))


def plasma_fractal(keys: Sequence[int], mapsize: int, wibbledecay: float) -> np.ndarray:
    """Diamond-square heightmaps ``(B, mapsize, mapsize)`` in [0, 1], one per key
    (ImageNet-C's ``plasma_fractal``, batched; its random numbers come from the keys)."""
    if mapsize & (mapsize - 1):
        raise ValueError("mapsize must be a power of two")
    n = mapsize
    cells = sum((n // s) ** 2 for s in (1 << e for e in range(1, int(math.log2(n)) + 1)))
    noise = uniforms(keys, 3 * cells) * 2.0 - 1.0
    used = 0

    def wibbled(total: np.ndarray) -> np.ndarray:
        nonlocal used
        count = total.shape[1] * total.shape[2]
        u = noise[:, used : used + count].reshape(total.shape)
        used += count
        return total / 4 + wibble * wibble * u

    grid = np.zeros((len(keys), n, n))
    step, wibble = n, 100.0
    while step >= 2:
        half = step // 2
        corners = grid[:, 0:n:step, 0:n:step]
        squares = corners + np.roll(corners, -1, axis=1)
        squares = squares + np.roll(squares, -1, axis=2)
        grid[:, half:n:step, half:n:step] = wibbled(squares)
        centres = grid[:, half:n:step, half:n:step]
        corners = grid[:, 0:n:step, 0:n:step]
        left = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        grid[:, 0:n:step, half:n:step] = wibbled(left)
        top = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        grid[:, half:n:step, 0:n:step] = wibbled(top)
        step //= 2
        wibble /= wibbledecay
    grid -= grid.min(axis=(1, 2), keepdims=True)
    return grid / grid.max(axis=(1, 2), keepdims=True)


def clipped_zoom(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Zoom into the centre of ``(B, C, H, W)`` by ``factor`` >= 1 (bilinear), keeping the size."""
    if factor == 1:
        return x
    H, W = x.shape[-2:]
    ch, cw = math.ceil(H / factor), math.ceil(W / factor)
    top, left = (H - ch) // 2, (W - cw) // 2
    crop = x[..., top : top + ch, left : left + cw]
    zh, zw = max(H, round(ch * factor)), max(W, round(cw * factor))
    zoomed = F.interpolate(crop, size=(zh, zw), mode="bilinear", align_corners=False)
    th, tw = (zh - H) // 2, (zw - W) // 2
    return zoomed[..., th : th + H, tw : tw + W]


def motion_blur(layer: torch.Tensor, radius: int, sigma: float, angles: np.ndarray) -> torch.Tensor:
    """ImageMagick's one-sided motion blur of ``(B, H, W)`` layers, each along its own
    angle (degrees): taps ``i = 0..2*radius`` weighted exp(-i^2 / 2 sigma^2), offset
    ``i`` pixels in direction ``angle + 90``, edges replicated."""
    B, H, W = layer.shape
    taps = np.arange(2 * radius + 1)
    weights = np.exp(-(taps**2) / (2.0 * sigma * sigma))
    weights /= weights.sum()
    theta = np.deg2rad(np.asarray(angles, dtype=np.float64) + 90.0)
    dx = torch.from_numpy(np.ceil(np.outer(np.sin(theta), taps) - 0.5).astype(np.int64))  # (B, taps)
    dy = torch.from_numpy(np.ceil(np.outer(np.cos(theta), taps) - 0.5).astype(np.int64))
    b = torch.arange(B).view(B, 1, 1)
    rows = torch.arange(H).view(1, H, 1)
    cols = torch.arange(W).view(1, 1, W)
    out = torch.zeros_like(layer)
    for i, w in enumerate(weights.tolist()):
        ys = (rows + dy[:, i].view(B, 1, 1)).clamp(0, H - 1)
        xs = (cols + dx[:, i].view(B, 1, 1)).clamp(0, W - 1)
        out += w * layer[b, ys, xs]
    return out


def poisson_quantile(u: np.ndarray, lam: np.ndarray, exact_below: float = 50.0) -> np.ndarray:
    """The ``u``-quantile of Poisson(``lam``), elementwise: exact (inverse CDF) where
    ``lam <= exact_below``, the Cornish-Fisher normal approximation above."""
    out = np.zeros(u.shape, dtype=np.float64)
    big = lam > exact_below
    if big.any():
        z = ndtri(u[big])
        lb = lam[big]
        out[big] = np.maximum(0.0, np.floor(lb + np.sqrt(lb) * z + (z * z - 1.0) / 6.0 + 0.5))
    small = ~big & (lam > 0)
    if small.any():
        us, ls = u[small], lam[small]
        pmf = np.exp(-ls)
        cdf = pmf.copy()
        count = np.zeros_like(ls)
        active = us > cdf
        k = 0
        limit = exact_below + 12 * math.sqrt(exact_below) + 20
        while active.any() and k < limit:
            k += 1
            count += active
            pmf = pmf * ls / k
            cdf = cdf + pmf
            active &= us > cdf
        out[small] = count
    return out


@functools.lru_cache(maxsize=2)
def frost_texture(size: int = 192, seed: int = 2020) -> torch.Tensor:
    """A synthetic frost texture ``(size, size, 3)`` in [0, 1] (deterministic).

    Ridged multi-octave value noise gives thin, branching bright veins like ice crystals on
    glass, over a pale haze, tinted slightly blue; mean brightness about 0.45 like the
    photographs CIFAR-10-C blends in.
    """
    rng = np.random.default_rng(seed)
    field = torch.zeros(1, 1, size, size)
    haze = torch.zeros(1, 1, size, size)
    for octave in range(6):
        cells = 3 * 2**octave
        grid = torch.from_numpy(rng.random((1, 1, cells + 1, cells + 1)).astype(np.float32))
        up = F.interpolate(grid, size=(size, size), mode="bicubic", align_corners=True).clamp(0, 1)
        ridge = 1.0 - (2.0 * up - 1.0).abs()
        field += ridge**6 * 0.6**octave
        haze += up * 0.5**octave
    field = (field - field.min()) / (field.max() - field.min())
    haze = (haze - haze.min()) / (haze.max() - haze.min())
    grain = torch.from_numpy(rng.random((1, 1, size, size)).astype(np.float32))
    value = (0.62 * field + 0.3 * haze + 0.08 * grain).clamp(0, 1)[0, 0]
    value = value / value.mean() * 0.45
    tint = torch.tensor([0.86, 0.93, 1.0])
    return (value[..., None] * tint / tint.mean()).clamp(0, 1)


# ---------------------------------------------------------------------------- operations


def auto_k(height: int, width: int) -> int:
    """The paper's default number of changed pixels: round(sqrt(H * W))."""
    return int(round(math.sqrt(height * width)))


def change_pixels(x: torch.Tensor, keys: Sequence[int], k: int) -> torch.Tensor:
    """The paper's perturbation: ``k`` positions with replacement, each set (every channel
    independently) to a uniform integer in 0..254 / 255. Where a position is drawn twice,
    the later draw wins, as in the authors' sequential loop."""
    return change_pixels_(x.clone(), keys, k)


def change_pixels_(x: torch.Tensor, keys: Sequence[int], k: int) -> torch.Tensor:
    """:func:`change_pixels` written into ``x`` (a batch the caller owns), which it returns."""
    B, C, H, W = x.shape
    HW = H * W
    k = k or auto_k(H, W)
    if not x.is_contiguous():
        x = x.contiguous()
    u = uniforms(keys, k * (1 + C))
    # Draw j of every image is written by one assignment, j = 0..k-1 in order: where a
    # position is drawn twice the later draw overwrites it, and the writes of one assignment
    # go to distinct cells (one per image).
    cells = (u[:, :k].T * HW).astype(np.int64)  # (k, B)
    np.minimum(cells, HW - 1, out=cells)
    cells += np.arange(0, B * C * HW, C * HW)  # position in the whole batch
    values = u[:, k:].reshape(B, k, C).transpose(1, 0, 2) * 255.0  # (k, B, C)
    np.floor(values, out=values)
    values /= 255.0
    values = values.astype(np.float32)
    flat = x.numpy().reshape(-1)
    if C == 1:
        values = values.reshape(k, B)
        for j in range(k):
            flat[cells[j]] = values[j]
    else:
        channels = np.arange(0, C * HW, HW)
        for j in range(k):
            flat[cells[j][:, None] + channels] = values[j]
    return x


def gaussian_noise(x: torch.Tensor, keys: Sequence[int], sigma: float) -> torch.Tensor:
    z = _floats(normals(keys, x[0].numel())).view_as(x)
    return (x + sigma * z).clamp_(0, 1)


def shot_noise(x: torch.Tensor, keys: Sequence[int], photons: float) -> torch.Tensor:
    u = uniforms(keys, x[0].numel()).reshape(x.shape)
    counts = poisson_quantile(u, x.numpy().astype(np.float64) * photons)
    return _floats(counts / photons).clamp_(0, 1)


def impulse_noise(x: torch.Tensor, keys: Sequence[int], p: float) -> torch.Tensor:
    u = _floats(uniforms(keys, x[0].numel())).view_as(x)
    out = x.clone()
    out[u < p / 2] = 0.0
    out[(u >= p / 2) & (u < p)] = 1.0
    return out


def brightness_shift(x: torch.Tensor, delta: float) -> torch.Tensor:
    """HSV value + delta (clipped), hue and saturation kept: RGB scales by V'/V."""
    v = x.amax(dim=1, keepdim=True)
    v2 = (v + delta).clamp(0, 1)
    scaled = x * (v2 / v.clamp_min(1e-12))
    return torch.where(v > 0, scaled, v2.expand_as(x)).clamp_(0, 1)


def contrast_change(x: torch.Tensor, factor: float) -> torch.Tensor:
    means = x.mean(dim=(2, 3), keepdim=True)
    return ((x - means) * factor + means).clamp_(0, 1)


def fog(x: torch.Tensor, keys: Sequence[int], severity: int) -> torch.Tensor:
    strength, decay = FOG[severity - 1]
    B, C, H, W = x.shape
    plasma = _floats(plasma_fractal(keys, _map_size(H, W), decay)[:, :H, :W]).unsqueeze(1)
    top = x.amax(dim=(1, 2, 3), keepdim=True)
    return ((x + strength * plasma) * top / (top + strength)).clamp_(0, 1)


def snow(x: torch.Tensor, keys: Sequence[int], severity: int) -> torch.Tensor:
    loc, scale, zoom, threshold, radius, sigma, keep = SNOW[severity - 1]
    B, C, H, W = x.shape
    z = normals(keys, H * W + 1)  # H*W flakes, and one more normal for the direction
    angle_u = ndtr(z[:, H * W])  # Phi(z) of a standard normal is uniform on (0, 1)
    layer = _floats(loc + scale * z[:, : H * W]).view(B, 1, H, W)
    layer = clipped_zoom(layer, zoom)
    layer = torch.where(layer < threshold, torch.zeros_like(layer), layer).clamp_(0, 1)
    layer = motion_blur(layer[:, 0], int(radius), float(sigma), -135.0 + 90.0 * angle_u).unsqueeze(1)
    x = keep * x + (1 - keep) * torch.maximum(x, _gray(x) * 1.5 + 0.5)
    return (x + layer + layer.flip(-1, -2)).clamp_(0, 1)


def frost(x: torch.Tensor, keys: Sequence[int], severity: int) -> torch.Tensor:
    image_w, frost_w = FROST[severity - 1]
    B, C, H, W = x.shape
    texture = frost_texture()
    if C == 1:
        texture = (texture * torch.tensor(LUMA)).sum(-1, keepdim=True)
    variants = torch.stack([texture, texture.flip(1), texture.flip(0), texture.flip(0, 1)])  # (4, T, T, C)
    T = texture.shape[0]
    u = uniforms(keys, 3)
    top = torch.from_numpy(np.minimum((u[:, 0] * (T - H + 1)).astype(np.int64), T - H))
    left = torch.from_numpy(np.minimum((u[:, 1] * (T - W + 1)).astype(np.int64), T - W))
    which = torch.from_numpy(np.minimum((u[:, 2] * 4).astype(np.int64), 3))
    ys = top.view(B, 1, 1) + torch.arange(H).view(1, H, 1)
    xs = left.view(B, 1, 1) + torch.arange(W).view(1, 1, W)
    crop = variants[which.view(B, 1, 1), ys, xs].permute(0, 3, 1, 2)  # (B, C, H, W)
    return (image_w * x + frost_w * crop).clamp_(0, 1)


def rain(x: torch.Tensor, keys: Sequence[int], severity: int) -> torch.Tensor:
    density, length_frac, darken, sigma = RAIN[severity - 1]
    B, C, H, W = x.shape
    drops = max(1, round(density * H * W))
    length = max(2, round(length_frac * max(H, W)))
    u = uniforms(keys, 1 + 2 * drops)
    slant = (u[:, 0] - 0.5)[:, None, None]  # horizontal pixels per row, in [-0.5, 0.5)
    x0 = u[:, 1 : 1 + drops, None] * W
    y0 = np.floor(u[:, 1 + drops :, None] * (H - length + 1))
    t = np.arange(length)[None, None, :]
    px = np.floor(x0 + slant * t).astype(np.int64)
    py = (y0 + t).astype(np.int64)
    inside = (px >= 0) & (px < W) & (py < H)
    flat = (np.arange(B)[:, None, None] * (H * W) + py * W + px)[inside]
    mask = torch.zeros(B * H * W, dtype=torch.bool)
    mask[torch.from_numpy(flat)] = True
    wet = torch.where(mask.view(B, 1, H, W), torch.full_like(x, RAIN_COLOUR), x)
    return ((blur_images(wet, sigma) if sigma > 0 else wet) * darken).clamp_(0, 1)
