"""The radius formula against hand-computed values, the caps, and the bound helpers."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

from textrobust.certification.bounds import look_schedule, pair_bounds, simultaneous_bounds
from textrobust.certification.theorem import binary_radius, certified_radius, radius_cap
from textrobust.core.stats import clopper_pearson_lower, clopper_pearson_upper


@pytest.mark.parametrize(
    "p_lower, p_upper, p_del, expected",
    [
        # (2 + 0.1 - 0.9) / 2 = 0.6; ln 0.6 / ln 0.9 = 4.848 -> 4
        (0.9, 0.1, 0.9, 4),
        # (2 + 0.3 - 0.6) / 2 = 0.85; ln 0.85 / ln 0.95 = 3.168 -> 3
        (0.6, 0.3, 0.95, 3),
        # (2 + 0.05 - 0.9) / 2 = 0.575; ln 0.575 / ln 0.99 = 55.06 -> 55
        (0.9, 0.05, 0.99, 55),
        # gap 0.1: 0.95; ln 0.95 / ln 0.9 = 0.487 -> 0
        (0.55, 0.45, 0.9, 0),
    ],
)
def test_radius_matches_hand_computed_values(p_lower, p_upper, p_del, expected):
    assert certified_radius(p_lower, p_upper, p_del) == expected


@pytest.mark.parametrize(
    "p_a, p_del, expected",
    [
        (0.99, 0.9, 6),  # ln 0.51 / ln 0.9 = 6.39
        (0.95, 0.9, 5),  # ln 0.55 / ln 0.9 = 5.67
        (0.75, 0.9, 2),  # ln 0.75 / ln 0.9 = 2.73
        (0.65, 0.9, 1),  # ln 0.85 / ln 0.9 = 1.54
        (0.9, 0.95, 9),  # ln 0.6 / ln 0.95 = 9.96
        (0.999, 0.99, 68),  # ln 0.501 / ln 0.99 = 68.8
        (0.8, 0.99, 35),  # ln 0.7 / ln 0.99 = 35.5
    ],
)
def test_binary_radius(p_a, p_del, expected):
    assert binary_radius(p_a, p_del) == expected
    assert binary_radius(p_a, p_del) == math.floor(math.log(1.5 - p_a) / math.log(p_del))


@pytest.mark.parametrize("p_del, cap", [(0.9, 6), (0.95, 13), (0.99, 68), (0.8, 3), (0.5, 0)])
def test_caps(p_del, cap):
    assert radius_cap(p_del) == cap
    assert binary_radius(1.0, p_del) == cap
    assert certified_radius(1.0, 0.0, p_del) == cap
    if p_del != 0.5:  # away from equality the closed form agrees
        assert cap == math.floor(math.log(0.5) / math.log(p_del))


def test_abstain_when_the_top_class_is_not_ahead():
    assert certified_radius(0.4, 0.4, 0.9) is None
    assert certified_radius(0.3, 0.5, 0.9) is None
    assert binary_radius(0.5, 0.9) is None
    assert binary_radius(0.5000001, 0.9) == 0


def test_equality_is_not_certified():
    """p_A - p_B = 2 (1 - p^r) exactly allows a tie at radius r: only r - 1 is certified."""
    half = Fraction(1, 2)
    assert certified_radius(Fraction(1), Fraction(0), half) == 0  # 1 = 2 (1 - 1/2)
    p = Fraction(9, 10)
    gap = 2 * (1 - p**3)  # exactly the radius-3 threshold
    assert certified_radius(gap, Fraction(0), p) == 2
    assert certified_radius(gap + Fraction(1, 10**12), Fraction(0), p) == 3


def test_closed_form_agrees_with_the_definition_on_a_grid():
    for p_del in (0.5, 0.7, 0.9, 0.95, 0.99):
        for i in range(1, 200):
            p_a = 0.5 + i / 400
            for p_b in (0.0, (1 - p_a) / 3, 1 - p_a):
                r = certified_radius(p_a, p_b, p_del)
                assert p_a - p_b > 2 * (1 - p_del**r)
                assert not p_a - p_b > 2 * (1 - p_del ** (r + 1))


def test_bad_p_del_is_rejected():
    with pytest.raises(ValueError):
        certified_radius(0.9, 0.1, 1.0)


def test_simultaneous_bounds_binary_are_clopper_pearson_at_half_alpha():
    lower, upper = simultaneous_bounds([37, 13], 0.1)
    assert lower == [clopper_pearson_lower(37, 50, 0.05), clopper_pearson_lower(13, 50, 0.05)]
    assert upper[0] == pytest.approx(clopper_pearson_upper(37, 50, 0.05), abs=1e-12)
    assert upper[1] == pytest.approx(1 - lower[0])
    favoured, _ = simultaneous_bounds([37, 13], 0.1, favour=0, share=0.9)
    assert favoured[0] == clopper_pearson_lower(37, 50, 0.09) > lower[0]
    assert favoured[1] == clopper_pearson_lower(13, 50, 0.01) < lower[1]


def test_simultaneous_bounds_multiclass_split_alpha_over_2k():
    lower, upper = simultaneous_bounds([10, 30, 60], 0.06)
    assert lower == [clopper_pearson_lower(c, 100, 0.01) for c in (10, 30, 60)]
    assert upper == [clopper_pearson_upper(c, 100, 0.01) for c in (10, 30, 60)]


def test_pair_bounds_are_cert_ed_bonferroni():
    assert pair_bounds(3900, 100, 4000, 0.05) == (
        clopper_pearson_lower(3900, 4000, 0.025),
        clopper_pearson_upper(100, 4000, 0.025),
    )


def test_look_schedule_spends_alpha_once():
    s = look_schedule(5000, 0.05, first=64, growth=2, spend=1.5)
    assert s.sizes == (64, 128, 256, 512, 1024, 2048, 5000)
    assert sum(s.alphas) == pytest.approx(0.05)
    assert all(b == pytest.approx(1.5 * a) for a, b in zip(s.alphas, s.alphas[1:]))
    assert look_schedule(10, 0.05).sizes == (10,)
