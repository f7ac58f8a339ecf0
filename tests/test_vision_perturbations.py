"""Image perturbations: invariants, statistics, determinism, batch independence."""

from __future__ import annotations

import colorsys
import math

import numpy as np
import pytest
import torch

import vision  # noqa: F401  (registers the image perturbations)
from textrobust.core.perturbation import available, build, parse_spec
from textrobust.core.random import draw_key, stream_prefix
from textrobust.errors import UserError
from vision import ops
from vision.batch import ImageRow, ImageRows, stack_images

SHAPES = [(1, 28, 28), (3, 32, 32)]
ALL_SPECS = [t.name for t in available("image")] + [
    f"{w}:severity={s}" for w in ("fog", "snow", "frost", "rain") for s in (1, 5)
]

pytestmark = pytest.mark.usefixtures("torch_single_thread")


def keys_for(spec: str, n: int, draw: int = 1, seed: int = 0) -> list[int]:
    canonical = parse_spec(spec, "image").canonical
    return [draw_key(stream_prefix(seed, i, canonical), draw) for i in range(n)]


def images(shape: tuple[int, int, int], n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.randint(0, 256, (n, *shape), generator=g).to(torch.float32) / 255).contiguous()


def apply(spec: str, x: torch.Tensor, keys: list[int]) -> torch.Tensor:
    return stack_images(build(spec, "image").apply(list(x), keys))


def test_every_named_perturbation_is_registered():
    names = {t.name for t in available("image")}
    assert names == {
        "pixels",
        "gaussian",
        "shot",
        "impulse",
        "blur",
        "brightness",
        "contrast",
        "fog",
        "snow",
        "rain",
        "frost",
    }


@pytest.mark.parametrize("spec", ALL_SPECS)
@pytest.mark.parametrize("shape", SHAPES)
def test_shape_range_batch_independence_and_determinism(spec, shape):
    x = images(shape, 5)
    keys = keys_for(spec, 5)
    out = apply(spec, x, keys)
    assert out.shape == x.shape and out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    assert not torch.equal(out, x), "the perturbation changed nothing"
    # the same image and key give the same output alone, in another batch, in another order
    for i in range(5):
        assert torch.equal(apply(spec, x[i : i + 1], keys[i : i + 1])[0], out[i])
    reversed_out = apply(spec, x.flip(0), keys[::-1])
    assert torch.equal(reversed_out.flip(0), out)
    assert torch.equal(apply(spec, x, keys), out)
    # inputs are never modified
    assert torch.equal(x, images(shape, 5))


@pytest.mark.parametrize("spec", ["pixels", "gaussian", "shot", "impulse", "fog", "snow", "frost", "rain"])
def test_random_perturbations_differ_between_draws_and_seeds(spec):
    x = images((1, 28, 28), 1).expand(3, -1, -1, -1)
    canonical = parse_spec(spec, "image").canonical
    keys = [
        draw_key(stream_prefix(0, 7, canonical), 1),
        draw_key(stream_prefix(0, 7, canonical), 2),
        draw_key(stream_prefix(1, 7, canonical), 1),
    ]
    out = apply(spec, x, keys)
    assert not torch.equal(out[0], out[1]) and not torch.equal(out[0], out[2])


@pytest.mark.parametrize("shape", SHAPES)
def test_pixels_changes_at_most_k_pixels_with_values_0_to_254(shape):
    c, h, w = shape
    k = round(math.sqrt(h * w))
    x = images(shape, 400)
    out = apply("pixels", x, keys_for("pixels", 400))
    changed = (out != x).any(dim=1)  # (N, H, W): a pixel changed in any channel
    assert int(changed.sum(dim=(1, 2)).max()) <= k
    levels = out[(out != x)] * 255
    assert torch.allclose(levels, levels.round(), atol=1e-4) and float(levels.max()) <= 254 + 1e-4
    # explicit k
    out5 = apply("pixels:k=5", x, keys_for("pixels:k=5", 400))
    assert int((out5 != x).any(dim=1).sum(dim=(1, 2)).max()) <= 5


def test_pixels_statistics_match_draws_with_replacement():
    # on a white image (255) every drawn position changes, since new values are 0..254
    n, k, hw = 3000, 28, 784
    x = torch.ones(n, 1, 28, 28)
    out = apply("pixels", x, keys_for("pixels", n))
    distinct = (out != x).sum(dim=(1, 2, 3)).double()
    expected = hw * (1 - (1 - 1 / hw) ** k)  # distinct positions among k drawn with replacement
    assert abs(float(distinct.mean()) - expected) < 0.05
    assert float(distinct.min()) < k  # repeats happen
    values = (out[out != x] * 255).round()
    assert abs(float(values.mean()) - 127.0) < 1.5  # uniform on 0..254
    assert float(values.min()) == 0 and float(values.max()) == 254


def test_pixels_auto_k_follows_the_image_size():
    assert ops.auto_k(28, 28) == 28 and ops.auto_k(32, 32) == 32
    x = torch.ones(300, 3, 32, 32)
    out = apply("pixels", x, keys_for("pixels", 300))
    changed = (out != x).any(dim=1).sum(dim=(1, 2))
    assert int(changed.max()) <= 32 and float(changed.double().mean()) > 30  # 32 draws over 1024 positions


def test_pixels_repeated_position_keeps_the_later_value():
    # find a draw whose positions repeat and check the image holds the last value drawn there
    from textrobust.core.random import uniforms

    keys = keys_for("pixels:k=200", 50)
    u = uniforms(keys, 200 * 2)
    x = torch.ones(50, 1, 28, 28)
    out = apply("pixels:k=200", x, keys).view(50, -1)
    pos = np.minimum((u[:, :200] * 784).astype(np.int64), 783)
    vals = np.floor(u[:, 200:] * 255)
    for b in range(50):
        expect = {}
        for p, v in zip(pos[b], vals[b]):
            expect[int(p)] = v
        assert all(abs(float(out[b, p]) * 255 - v) < 1e-3 for p, v in expect.items())


def test_gaussian_noise_has_the_requested_std():
    x = torch.full((200, 1, 28, 28), 0.5)
    out = apply("gaussian:sigma=0.08", x, keys_for("gaussian:sigma=0.08", 200))
    noise = out - x
    assert abs(float(noise.mean())) < 0.002 and abs(float(noise.std()) - 0.08) < 0.002


def test_shot_noise_is_poisson():
    x = torch.full((200, 1, 28, 28), 0.5)
    out = apply("shot:photons=20", x, keys_for("shot:photons=20", 200))
    counts = (out * 20).round()
    assert torch.allclose(out * 20, counts, atol=1e-4)
    assert abs(float(counts.mean()) - 10) < 0.05 and abs(float(counts.var()) - 10) < 0.3  # Poisson(10)


def test_poisson_quantile_is_exact_for_small_rates_and_close_for_large():
    from scipy.stats import poisson

    rng = np.random.default_rng(0)
    u = rng.random(20000)
    lam = rng.uniform(0, 50, 20000)
    assert np.array_equal(ops.poisson_quantile(u, lam), poisson.ppf(u, lam))
    big = np.full(20000, 400.0)
    q = ops.poisson_quantile(u, big)
    assert np.mean(np.abs(q - poisson.ppf(u, big)) <= 1) > 0.999


def test_impulse_noise_sets_p_of_values_to_0_or_1():
    x = torch.full((100, 3, 32, 32), 0.5)
    out = apply("impulse:p=0.1", x, keys_for("impulse:p=0.1", 100))
    n = out.numel()
    assert abs(float((out == 0).sum()) / n - 0.05) < 0.003 and abs(float((out == 1).sum()) / n - 0.05) < 0.003
    assert float(((out != 0) & (out != 1) & (out != 0.5)).sum()) == 0


def test_blur_matches_scipy_gaussian_filter():
    from scipy.ndimage import gaussian_filter

    x = images((3, 32, 32), 2)
    out = apply("blur:sigma=1.3", x, [0, 0])
    expect = np.stack(
        [
            [gaussian_filter(x[b, c].double().numpy(), 1.3, mode="nearest", truncate=4.0) for c in range(3)]
            for b in range(2)
        ]
    )
    assert np.allclose(out.numpy(), expect, atol=1e-5)


def test_brightness_shifts_hsv_value_only():
    x = images((3, 32, 32), 1)
    out = apply("brightness:delta=0.2", x, [0])
    for i, j in [(0, 0), (5, 9), (31, 31), (17, 3)]:
        h, s, v = colorsys.rgb_to_hsv(*x[0, :, i, j].tolist())
        expect = colorsys.hsv_to_rgb(h, s, min(1.0, v + 0.2))
        assert np.allclose(out[0, :, i, j].numpy(), expect, atol=1e-5)
    gray = images((1, 28, 28), 1)
    assert torch.allclose(apply("brightness:delta=-0.3", gray, [0]), (gray - 0.3).clamp(0, 1), atol=1e-6)


def test_contrast_scales_deviations_around_the_channel_mean():
    x = 0.4 + 0.2 * images((3, 32, 32), 1)
    out = apply("contrast:factor=0.5", x, [0])
    assert torch.allclose(out.mean(dim=(2, 3)), x.mean(dim=(2, 3)), atol=1e-6)
    assert torch.allclose(
        out - out.mean(dim=(2, 3), keepdim=True), 0.5 * (x - x.mean(dim=(2, 3), keepdim=True)), atol=1e-6
    )


def test_plasma_fractal_is_a_normalised_map_per_key():
    maps = ops.plasma_fractal([1, 2, 3], 32, 2.0)
    assert maps.shape == (3, 32, 32)
    assert np.allclose(maps.min(axis=(1, 2)), 0) and np.allclose(maps.max(axis=(1, 2)), 1)
    assert np.array_equal(ops.plasma_fractal([2], 32, 2.0)[0], maps[1])


def test_weather_gets_stronger_with_severity():
    x = images((3, 32, 32), 40)
    for name in ("fog", "snow", "frost", "rain"):
        change = [
            float((apply(f"{name}:severity={s}", x, keys_for(f"{name}:severity={s}", 40)) - x).abs().mean())
            for s in (1, 5)
        ]
        assert change[1] > change[0], name


def test_frost_texture_is_deterministic_and_bright_enough():
    t = ops.frost_texture()
    assert t.shape == (192, 192, 3) and abs(float(t.mean()) - 0.45) < 0.05
    ops.frost_texture.cache_clear()
    assert torch.equal(ops.frost_texture(), t)


@pytest.mark.parametrize(
    "bad",
    [
        "pixels:k=-1",
        "pixels:k=1.5",
        "gaussian:sigma=0",
        "impulse:p=1.5",
        "fog:severity=6",
        "snow:severity=0",
        "rain:drops=3",
        "sparkle",
    ],
)
def test_bad_specs_are_user_errors(bad):
    with pytest.raises(UserError):
        parse_spec(bad, "image")


def test_image_rows_and_stack_images():
    batch = torch.arange(24, dtype=torch.float32).view(4, 1, 2, 3)
    rows = ImageRows(batch)
    assert len(rows) == 4 and isinstance(rows[1], ImageRow) and torch.equal(rows[-1].tensor(), batch[3])
    mixed = [rows[2], batch[0].clone(), rows[1]]
    assert torch.equal(stack_images(mixed), batch[[2, 0, 1]])
    assert torch.equal(stack_images(list(rows)[1:3]), batch[1:3])
    with pytest.raises(ValueError):
        stack_images([batch[0], torch.zeros(1, 3, 3)])


def test_a_kept_output_survives_later_rounds_of_the_same_perturbation():
    """`pixels` reuses its output buffers only when nothing refers to them: an image a job keeps
    (a flipped draw, say) is never overwritten by the next rounds."""
    spec = "pixels:k=10"
    p = build(spec, "image")
    x = images((1, 28, 28), 16)
    first = p.apply(list(x), keys_for(spec, 16, draw=1))
    kept = first[3]
    copy = stack_images([kept])[0].clone()
    del first
    for draw in range(2, 8):  # later rounds, the earlier outputs released each time
        p.apply(list(x), keys_for(spec, 16, draw=draw))
    assert torch.equal(stack_images([kept])[0], copy)
    assert torch.equal(copy, apply(spec, x[3:4], keys_for(spec, 16)[3:4])[0])
