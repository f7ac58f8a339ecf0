"""Per-draw random streams: determinism, independence of the tuple's parts, distributions."""

import numpy as np
from scipy import stats

from textrobust.core.random import draw_key, generator, normals, stream_prefix, uniforms


def test_keys_depend_on_every_part_of_the_tuple():
    base = draw_key(stream_prefix(0, 5, "delete:p=0.1"), 3)
    assert base == draw_key(stream_prefix(0, 5, "delete:p=0.1"), 3)
    others = {
        draw_key(stream_prefix(1, 5, "delete:p=0.1"), 3),
        draw_key(stream_prefix(0, 6, "delete:p=0.1"), 3),
        draw_key(stream_prefix(0, "5", "delete:p=0.1"), 3),
        draw_key(stream_prefix(0, 5, "delete:p=0.2"), 3),
        draw_key(stream_prefix(0, 5, "delete:p=0.1"), 4),
    }
    assert base not in others and len(others) == 5


def test_generator_is_a_function_of_the_key():
    assert generator(123).random(4).tolist() == generator(123).random(4).tolist()
    assert generator(123).random(4).tolist() != generator(124).random(4).tolist()


def test_vectorised_uniforms_do_not_depend_on_batch_composition():
    keys = [draw_key(stream_prefix(0, i, "x"), 1) for i in range(50)]
    together = uniforms(keys, 7)
    alone = np.vstack([uniforms([k], 7) for k in keys])
    assert np.array_equal(together, alone)
    assert together.shape == (50, 7)


def test_uniforms_and_normals_have_the_right_distribution():
    keys = [draw_key(stream_prefix(0, i, "x"), 1) for i in range(2000)]
    u = uniforms(keys, 50).ravel()
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-3
    z = normals(keys, 51).ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    # different draws of the same key are not correlated
    mat = uniforms(keys, 2)
    assert abs(np.corrcoef(mat[:, 0], mat[:, 1])[0, 1]) < 0.1
