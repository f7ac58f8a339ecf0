"""Intervals and RPR aggregates against hand-computed values and simulated coverage."""

import numpy as np
import pytest

from textrobust.core.report import build_eval_report, rpr_stats
from textrobust.core.stats import clopper_pearson_lower, clopper_pearson_upper, paired_delta, rate


def test_clopper_pearson_two_sided_matches_closed_forms():
    # at k = 0 and k = n the exact interval has closed forms: 1 - (alpha/2)^(1/n) and (alpha/2)^(1/n)
    r = rate(0, 10)
    assert r.value == 0 and r.ci[0] == 0 and r.ci[1] == pytest.approx(1 - 0.025**0.1, abs=1e-12)
    r = rate(10, 10)
    assert r.ci[0] == pytest.approx(0.025**0.1, abs=1e-12) and r.ci[1] == 1
    r = rate(7, 10)
    assert r.ci[0] < 0.7 < r.ci[1] and (r.k, r.n) == (7, 10)
    assert rate(0, 0).value is None and rate(0, 0).ci is None


def test_one_sided_bounds_match_closed_forms_and_beta_quantiles():
    assert clopper_pearson_lower(10, 10, 0.05) == pytest.approx(0.05**0.1, abs=1e-12)
    assert clopper_pearson_upper(0, 10, 0.05) == pytest.approx(1 - 0.05**0.1, abs=1e-12)
    assert clopper_pearson_lower(0, 10, 0.05) == 0 and clopper_pearson_upper(10, 10, 0.05) == 1
    # the lower bound is the p at which P[Bin(n, p) >= k] = alpha
    from scipy import stats

    lo = clopper_pearson_lower(37, 50, 0.05)
    assert stats.binom.sf(36, 50, lo) == pytest.approx(0.05, abs=1e-9)


def test_paired_delta_counts_and_bounds():
    first = [True] * 17 + [False] * 3
    second = [True] * 12 + [False] * 5 + [True] + [False] * 2
    d = paired_delta(first, second)
    assert d.value == pytest.approx(0.2) and (d.n, d.only_first, d.only_second) == (20, 5, 1)
    assert -1 <= d.ci[0] < 0.2 < d.ci[1] <= 1
    same = paired_delta([True, False] * 10, [True, False] * 10)
    assert same.value == 0 and same.ci[0] < 0 < same.ci[1]
    sym = paired_delta([True, False, True, True], [False, True, True, True])
    assert sym.ci[0] == pytest.approx(-sym.ci[1])


def test_paired_delta_without_discordant_pairs_has_the_closed_form_width():
    # b = c = 0: Tango's bound solves n d / (1 - d) = z^2, i.e. d = z^2 / (n + z^2)
    z2 = 1.959963984540054**2
    d = paired_delta([True, False] * 10, [True, False] * 10)
    assert d.ci == pytest.approx((-z2 / (20 + z2), z2 / (20 + z2)), abs=1e-9)
    # every pair discordant one way: the interval reaches 1
    d = paired_delta([True] * 5, [False] * 5)
    assert d.value == 1 and d.ci[1] == 1 and 0 < d.ci[0] < 1


def test_paired_delta_coverage_is_about_95_percent():
    rng = np.random.default_rng(0)
    n, trials, covered = 60, 2000, 0
    # clean right w.p. 0.85; perturbed flips a right answer w.p. 0.15, fixes a wrong one w.p. 0.2
    p1 = 0.85
    true_delta = p1 - (p1 * 0.85 + (1 - p1) * 0.2)
    for _ in range(trials):
        a = rng.random(n) < p1
        b = np.where(a, rng.random(n) >= 0.15, rng.random(n) < 0.2)
        lo, hi = paired_delta(a.tolist(), b.tolist()).ci
        covered += lo <= true_delta <= hi
    assert 0.93 <= covered / trials <= 0.985


def test_rpr_aggregates_by_hand():
    # max_steps 4; first flips: clean mistake, flips at 1, 2, 2, 4, two robust
    flips = [0, 1, 2, 2, 4, None, None]
    labels = [0, 0, 1, 1, 1, 0, 1]
    s = rpr_stats(flips, labels, 4, ["neg", "pos"])
    assert (s.robust.k, s.robust.n) == (2, 7)
    assert (s.robust_clean_correct.k, s.robust_clean_correct.n) == (2, 6)
    assert s.survival == pytest.approx([5 / 7, 3 / 7, 3 / 7, 2 / 7])
    assert s.mean_first_flip == pytest.approx((1 + 2 + 2 + 4) / 4) and s.median_first_flip == 2 and s.n_flipped == 4
    assert (s.per_class["neg"].k, s.per_class["neg"].n) == (1, 3)
    assert (s.per_class["pos"].k, s.per_class["pos"].n) == (1, 4)
    assert s.robust.ci[0] < 2 / 7 < s.robust.ci[1]
    j = s.to_json()
    assert j["robust_ratio"] == pytest.approx(2 / 7) and len(j["survival"]) == 4 and j["per_class"]["pos"] == 0.25


def test_eval_report_from_records_by_hand():
    records = [
        {"index": 0, "label": 1, "clean_prediction": 1, "first_flip": {"d": None}, "draw1_prediction": {"d": 1}},
        {"index": 1, "label": 0, "clean_prediction": 0, "first_flip": {"d": 1}, "draw1_prediction": {"d": 1}},
        {"index": 2, "label": 0, "clean_prediction": 1, "first_flip": {"d": 0}, "draw1_prediction": {"d": 0}},
        {"index": 3, "label": 1, "clean_prediction": 1, "first_flip": {"d": 3}, "draw1_prediction": {"d": 1}},
    ]
    report = build_eval_report(
        records, ["d"], 5, model="m", dataset="x", split="test", seed=0, model_calls=9, seconds=1.0
    )
    j = report.to_json()
    assert j["clean_accuracy"] == 0.75 and j["n_examples"] == 4
    p = j["perturbations"][0]
    assert p["spec"] == "d" and p["accuracy"] == 0.75  # draw 1: right, wrong, right, right
    assert p["delta"] == 0.0 and p["delta_ci95"][0] < 0 < p["delta_ci95"][1]
    assert p["rpr"]["robust_ratio"] == 0.25 and p["rpr"]["max_steps"] == 5
    assert p["rpr"]["survival"] == pytest.approx([0.5, 0.5, 0.25, 0.25, 0.25])
    assert set(j) >= {
        "model",
        "dataset",
        "split",
        "seed",
        "n_examples",
        "clean_accuracy",
        "perturbations",
        "model_calls",
        "seconds",
    }
    assert set(p["rpr"]) >= {
        "max_steps",
        "robust_ratio",
        "robust_ratio_ci95",
        "robust_ratio_clean_correct",
        "mean_first_flip",
        "survival",
        "per_class",
    }


def test_survival_plot_starts_at_the_clean_accuracy_with_bands():
    """Every survival curve (eval reports and the vision reproduction) starts at step 0 at its own
    clean accuracy, is drawn in the Okabe-Ito palette, and sits inside its pointwise 95% band."""
    from textrobust.core.plots import PALETTE, _pyplot, draw_survival

    plt = _pyplot()
    fig, ax = plt.subplots()
    curves = {"M": [0.8, 0.7, 0.6], "M_R": [0.5, 0.5, 0.4]}
    colours = draw_survival(ax, curves, n=50, clean={"M": 0.9, "M_R": 0.6})
    assert list(colours.values()) == PALETTE[:2]
    for line, name, start in zip(ax.get_lines(), curves, (0.9, 0.6)):
        assert list(line.get_xdata()) == [0, 1, 2, 3] and list(line.get_ydata()) == [start, *curves[name]]
    assert len(ax.collections) == 2  # one band per curve
    for band, line in zip(ax.collections, ax.get_lines()):
        top = band.get_paths()[0].vertices[:, 1]
        assert top.min() >= 0 and top.max() <= 1
        for y in line.get_ydata():
            lo, hi = rate(round(y * 50), 50).ci
            assert lo < y < hi and lo >= top.min() - 1e-12 and hi <= top.max() + 1e-12
    assert "0 = clean input" in ax.get_xlabel() and "95% bands" in ax.get_ylabel()
    plt.close(fig)
