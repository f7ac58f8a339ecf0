"""Soundness of Gaussian smoothing certificates where the truth is known in closed form.

A linear classifier ``f(x) = [w . x + b > 0]`` under ``x + N(0, sigma^2 I)`` has
``P[f = 1] = Phi((w . x + b) / (sigma ||w||))``, and its smoothed classifier is ``f`` itself, whose
exact L2 robustness radius at ``x`` is ``|w . x + b| / ||w|| = sigma Phi^-1(p_A)``. Over many
independent trials (distinct image ids = independent noise streams) the reported lower bound may
exceed the true ``p`` of the reported class, and the certified radius the true radius, in at most
an ``alpha`` fraction of trials, up to the sampling error of the check (a one-sided binomial
test). The same check must reject a deliberately uncorrected bound (the point estimate).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from textrobust.core.engine import Engine
from vision.batch import stack_images
from vision.smoothing import cohen, job
from vision.smoothing.cohen import CohenJob
from vision.smoothing.job import SmoothingJob, class_shares, simultaneous_lower
from vision.smoothing.noise import SmoothingSettings, gaussian_draws
from vision.smoothing.theorem import bucket, default_grid, gaussian_radius, radius_cap

SIGMA = 0.5
W = np.array([1.0, -2.0, 0.5, 2.0])
X = torch.tensor([0.3, 0.1, 0.6, 0.2], dtype=torch.float32).view(1, 2, 2)
B = 1.15  # margin w.x + b = 0.3 - 0.2 + 0.3 + 0.4 + 1.15 = 1.95: P[f = 1] = Phi(1.95 / (0.5 * 3.04)) = 0.90
TRIALS = 600
ALPHA = 0.05


def linear(images):
    x = stack_images(images).reshape(len(images), -1).double().numpy()
    return (x @ W + B > 0).astype(int)


def true_p1() -> float:
    margin = float(X.reshape(-1).double().numpy() @ W + B)
    return float(stats.norm.cdf(margin / (SIGMA * np.linalg.norm(W))))


def settings(**kw) -> SmoothingSettings:
    base = {
        "sigma": SIGMA,
        "alpha": ALPHA,
        "n0": 10,
        "n": 100,
        "num_classes": 2,
        "seed": 7,
        "draw": gaussian_draws(SIGMA),
        "grid": (0.0, 0.1, 0.2, 0.3, 0.4),
    }
    return SmoothingSettings(**{**base, **kw})


def run_trials(job_type, s: SmoothingSettings, trials: int = TRIALS) -> list[dict]:
    jobs = [job_type(i, X, 1, s) for i in range(trials)]
    Engine(linear, batch_size=512, round_size=4096, max_active=64).run(jobs)
    return [j.record() for j in jobs]


def failures(records: list[dict]) -> tuple[int, int]:
    """(bound failures, radius failures): the lower bound above the true probability of its class;
    a certified radius above the true radius (a prediction of the wrong class counts too)."""
    p1 = true_p1()
    true_radius = SIGMA * stats.norm.ppf(p1)
    bound = sum(1 for r in records if r["p_lower"] > (p1 if r["top"] == 1 else 1 - p1))
    radius = sum(1 for r in records if r["radius"] is not None and (r["prediction"] != 1 or r["radius"] > true_radius))
    return bound, radius


def consistent_with_alpha(k: int, trials: int = TRIALS, alpha: float = ALPHA) -> bool:
    """A one-sided binomial test at level 0.001 of 'failure rate <= alpha'."""
    return stats.binomtest(k, trials, alpha, alternative="greater").pvalue > 1e-3


def test_the_noise_is_gaussian_with_the_right_std_and_independent_of_the_batch():
    draw = gaussian_draws(SIGMA)
    keys = [11 + 7919 * i for i in range(4000)]
    together = torch.stack([r.tensor() for r in draw.apply([X] * len(keys), keys)])
    alone = torch.stack([draw.apply([X], [k])[0].tensor() for k in keys[:50]])
    assert torch.equal(together[:50], alone)
    z = ((together - X) / SIGMA).reshape(-1).double().numpy()
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert float((together < 0).float().mean()) > 0.01  # not clipped to [0, 1]


@pytest.mark.parametrize("job_type", [CohenJob, SmoothingJob])
def test_bounds_and_radii_fail_at_most_alpha_of_the_time(job_type):
    p1 = true_p1()
    assert 0.8 < p1 < 0.95  # near enough to 1/2 that sampling error matters
    s = settings(first_look=16) if job_type is SmoothingJob else settings()
    records = run_trials(job_type, s)
    bound, radius = failures(records)
    assert consistent_with_alpha(bound), f"{bound} of {TRIALS} lower bounds above the truth"
    assert consistent_with_alpha(radius), f"{radius} of {TRIALS} radii above the true radius"
    assert sum(r["prediction"] == 1 for r in records) > TRIALS / 2  # it does certify, mostly


@pytest.mark.parametrize("module,job_type", [(cohen, CohenJob), (job, SmoothingJob)])
def test_the_same_check_rejects_an_uncorrected_bound(monkeypatch, module, job_type):
    """With the point estimate k/n in place of the Clopper-Pearson bound the check must fail."""
    monkeypatch.setattr(module, "clopper_pearson_lower", lambda k, n, a: k / n)
    s = settings(first_look=16) if job_type is SmoothingJob else settings()
    bound, radius = failures(run_trials(job_type, s))
    assert not consistent_with_alpha(bound), f"only {bound} of {TRIALS} failures: the check has no power"
    assert not consistent_with_alpha(radius)


def test_cohen_is_their_certify_on_the_same_draws():
    """Selection on draws 1..n0, the bound on draws n0+1..n0+n: recomputed by hand."""
    s = settings(n0=20, n=200)
    (record,) = run_trials(CohenJob, s, trials=1)
    from textrobust.core.random import draw_key, stream_prefix

    prefix = stream_prefix(s.seed, 0, s.draw.spec.canonical)
    keys = [draw_key(prefix, i) for i in range(1, s.n0 + s.n + 1)]
    preds = linear(s.draw.apply([X] * len(keys), keys))
    top = int(np.argmax(np.bincount(preds[: s.n0], minlength=2)))
    n_a = int((preds[s.n0 :] == top).sum())
    # Cohen's proportion_confint(n_a, n, alpha=2 * alpha, method="beta")[0], through scipy's own code path
    p_lower = stats.binomtest(n_a, s.n, alternative="greater").proportion_ci(1 - s.alpha, method="exact").low
    assert record["top"] == top and math.isclose(record["p_lower"], p_lower, rel_tol=1e-12)
    assert record["model_calls"] == 1 + s.n0 + s.n and record["samples"] == s.n0 + s.n


def test_simultaneous_lower_bounds_spend_alpha_as_shared():
    shares = class_shares(10, 3, 0.9)
    assert math.isclose(sum(shares), 1.0) and shares[3] == 0.9 and math.isclose(shares[0], 0.1 / 9)
    lower = simultaneous_lower([0, 0, 0, 90, 10, 0, 0, 0, 0, 0], 100, 0.01, shares)
    assert lower[0] == 0.0
    assert math.isclose(lower[3], stats.beta.ppf(0.009, 90, 11))


def test_radius_helpers():
    assert gaussian_radius(0.5, 1.0) is None and gaussian_radius(0.3, 1.0) is None
    assert math.isclose(gaussian_radius(stats.norm.cdf(2.0), 0.25), 0.5)
    assert math.isclose(radius_cap(0.25, 100_000, 0.001), 0.25 * stats.norm.ppf(0.001**1e-5))
    assert default_grid(0.25, 100_000, 0.001) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert default_grid(0.5, 100_000, 0.001)[-1] == 1.75
    assert bucket(None, (0, 0.5)) == -1 and bucket(0.49, (0, 0.5)) == 0 and bucket(0.5, (0, 0.5)) == 1
