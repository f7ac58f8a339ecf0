"""The certification jobs on synthetic classifiers: coverage of the bounds, determinism, model-call
accounting, and the deletion sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
from certify_helpers import certify_texts, mask_probabilities, masks, settings
from scipy import stats

from textrobust.certification.deletion import enumeration_depth, sample_kept, stratum_weights
from textrobust.certification.job import CertifyJob
from textrobust.certification.reference import CertEdJob
from textrobust.core.engine import Engine
from textrobust.core.random import generator

L = 16
WORDS = [f"w{i}" for i in range(L)]
TEXT = " ".join(WORDS)


def residue_classifier(classes_of_residue: dict[int, int], modulus: int):
    """f(kept words) = class of (sum of (index + 1) of the kept words) mod ``modulus``."""

    def classify(texts):
        out = []
        for t in texts:
            s = sum(int(w[1:]) + 1 for w in t.split())
            out.append(classes_of_residue[s % modulus])
        return out

    return classify


def exact_probabilities(classes_of_residue: dict[int, int], modulus: int, p_del: float, k: int) -> np.ndarray:
    m = masks(L)
    residue = (m.astype(int) @ np.arange(1, L + 1)) % modulus
    cls = np.array([classes_of_residue[int(r)] for r in residue])
    prob = mask_probabilities(L, p_del)
    return np.array([prob[cls == y].sum() for y in range(k)])


def failures(records_or_jobs, mu: np.ndarray) -> int:
    """How many certificates state a bound that does not hold."""
    bad = 0
    for job in records_or_jobs:
        c = job.certificate
        others = [mu[y] for y in range(len(mu)) if y != c.top]
        runner = max(others) if isinstance(job, CertifyJob) else mu[1 - c.top]
        bad += c.p_lower > mu[c.top] + 1e-12 or c.p_upper < runner - 1e-12
    return bad


def run_trials(job_type, trials: int, classify, cfg, label: int) -> list:
    done = []
    engine = Engine(classify, batch_size=256, size=len, key=None if job_type is CertEdJob else (lambda x: x))
    engine.run((job_type(i, TEXT, WORDS, label, cfg) for i in range(trials)), on_done=done.append)
    return done


def tolerance(alpha: float, trials: int) -> float:
    """A one-sided binomial tolerance: more failures than this has probability < 0.1%."""
    return float(stats.binom.ppf(0.999, trials, alpha))


@pytest.mark.parametrize("job_type", [CertifyJob, CertEdJob], ids=["fast", "cert-ed"])
def test_binary_bounds_cover_the_true_probability(job_type):
    residues = {r: int(r < 5) for r in range(7)}  # P[f = 1] about 5/7
    p_del, alpha, trials = 0.5, 0.2, 300
    mu = exact_probabilities(residues, 7, p_del, 2)
    assert 0.6 < mu[1] < 0.8
    cfg = settings(p_del, alpha=alpha, n0=100, n=400)
    jobs = run_trials(job_type, trials, residue_classifier(residues, 7), cfg, label=1)
    failed = failures(jobs, mu)
    assert failed <= tolerance(alpha, trials)
    # and the bounds are informative: most certificates predict the right class
    assert sum(j.certificate.prediction == 1 for j in jobs) > 0.8 * trials
    if job_type is CertifyJob:  # the stratified path ran: enumerated strata plus sampled tail
        assert all(0 < float(j.enumerated_mass) < 1 and j.samples > 0 for j in jobs)


def test_multiclass_bounds_cover_the_true_probabilities():
    residues = {r: 0 if r < 6 else 1 if r < 9 else 2 for r in range(10)}
    p_del, alpha, trials = 0.5, 0.2, 150
    mu = exact_probabilities(residues, 10, p_del, 3)
    cfg = settings(p_del, alpha=alpha, n0=100, n=400, num_classes=3)
    jobs = run_trials(CertifyJob, trials, residue_classifier(residues, 10), cfg, label=0)
    assert failures(jobs, mu) <= tolerance(alpha, trials)
    assert sum(j.certificate.prediction == 0 for j in jobs) > 0.8 * trials


def parity(texts):
    """f = number of kept words mod 2: at p_del 0.5 both classes have probability exactly 1/2,
    the case where choosing the class on the same draws that bound it is most dangerous."""
    return [len(t.split()) % 2 for t in texts]


@pytest.mark.parametrize("corrected", [True, False])
def test_choosing_the_class_on_the_bounding_draws_is_corrected_for(corrected, monkeypatch):
    """At an exact tie the certificates keep their coverage; without the corrections (whole alpha
    for each class at every look) the same check fails, so it has teeth."""
    import textrobust.certification.job as job_module
    from textrobust.core.stats import clopper_pearson_lower

    alpha, trials = 0.2, 300
    mu = np.array([0.5, 0.5])
    if not corrected:

        def uncorrected(counts, alpha_j, **kw):
            n = sum(counts)
            lo = [clopper_pearson_lower(c, n, alpha) for c in counts]
            return lo, [1 - lo[1], 1 - lo[0]]

        monkeypatch.setattr(job_module, "simultaneous_bounds", uncorrected)
    cfg = settings(0.5, alpha=alpha, n0=100, n=400)
    jobs = run_trials(CertifyJob, trials, parity, cfg, label=1)
    failed = failures(jobs, mu)
    if corrected:
        assert failed <= tolerance(alpha, trials)
    else:
        assert failed > tolerance(alpha, trials)


def keyword(texts):
    return [int(sum((w == "good") - (w == "bad") for w in t.split()) >= 0) for t in texts]


TEXTS = [
    "good bad good the movie was good and not bad at all really good",
    "bad bad bad good the plot",
    "good",
    "",
    "the the the the the the the the the the the the the the the the the the bad good good",
    "bad movie bad actors bad plot good music bad ending bad everything bad bad bad bad bad bad good",
]


def test_results_do_not_depend_on_batch_size():
    cfg = settings(0.9, n0=200, n=800)
    runs = [certify_texts(keyword, TEXTS, [1, 0, 1, 1, 0, 0], cfg, batch_size=b) for b in (1, 7, 256)]
    assert runs[0] == runs[1] == runs[2]
    assert {r["exact"] for r in runs[0]} == {True, False}


def test_model_calls_are_distinct_inputs_per_example():
    cfg = settings(0.9, n0=200, n=800)
    for text in TEXTS:
        seen: list[str] = []

        def counting(texts, seen=seen):
            seen.extend(texts)
            return keyword(texts)

        (record,) = certify_texts(counting, [text], [1], cfg)
        assert record["model_calls"] == len(seen) == len(set(seen))
    (ref,) = certify_texts(keyword, [TEXTS[0]], [1], cfg, reference=True)
    assert ref["model_calls"] == 1 + 200 + 800


def test_exact_mode_needs_no_draws_and_stratified_mass_adds_up():
    cfg = settings(0.9)  # max_enumerate 256: 8 words are enumerated, 9 are not
    (short,) = certify_texts(keyword, [" ".join(["good"] * 8)], [1], cfg)
    assert short["exact"] and short["samples"] == 0 and short["exact_mass"] == 1.0
    assert short["model_calls"] == 1 + 8  # identical words: one input per number kept (+ clean)
    job = CertifyJob(0, TEXT, WORDS, 1, cfg)
    depth = enumeration_depth(L, 256)
    assert depth == 2 and job.source.min_kept == 3
    weights = stratum_weights(L, 0.9)
    assert sum(weights) == 1
    assert float(job.enumerated_mass) == pytest.approx(sum(stats.binom.pmf(k, L, 0.1) for k in range(3)), abs=1e-12)
    assert job.enumerated_mass + job.tail_mass == 1


def test_conditioned_sampler_has_the_truncated_binomial_law():
    rng = generator(12345)
    draws = [sample_kept(10, 3, 0.8, rng) for _ in range(20000)]
    sizes = np.array([len(d) for d in draws])
    assert sizes.min() >= 3
    pmf = stats.binom.pmf(np.arange(3, 11), 10, 0.2)
    pmf /= pmf.sum()
    observed = np.bincount(sizes, minlength=11)[3:]
    expected = pmf * len(draws)
    keep = expected > 5
    chi2 = (((observed - expected) ** 2 / expected)[keep]).sum()
    assert chi2 < stats.chi2.ppf(0.999, keep.sum() - 1)
    per_position = np.bincount(np.concatenate(draws), minlength=10) / sizes.sum()
    assert np.allclose(per_position, 0.1, atol=0.01)  # given the size, positions are uniform
    assert all(np.all(np.diff(d) > 0) for d in draws[:100])  # sorted, no repeats


def test_unconditioned_sampler_keeps_each_element_with_one_minus_p():
    rng = generator(7)
    kept = np.zeros(12)
    for _ in range(20000):
        kept[sample_kept(12, 0, 0.9, rng)] += 1
    assert np.allclose(kept / 20000, 0.1, atol=0.01)


def test_enumeration_depth():
    assert enumeration_depth(8, 256) == 8  # 2^8 subsets: exact
    assert enumeration_depth(9, 256) == 4  # 1 + 9 + 36 + 84 + 126 = 256
    assert enumeration_depth(9, 255) == 3
    assert enumeration_depth(30, 256) == 1
    assert enumeration_depth(5, 0) == -1
    assert sum(math.comb(19, k) for k in range(enumeration_depth(19, 256) + 1)) <= 256
