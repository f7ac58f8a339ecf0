"""Soundness by brute force: exact smoothed predictions at every sentence within the certified
Levenshtein radius agree with the certificate; exact-mode probabilities equal enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from certify_helpers import certify_texts, mask_probabilities, masks, settings

VOCAB = ("good", "bad", "the")
WEIGHT = {"good": 1, "bad": -1, "the": 0}


def keyword_vote(words: list[str]) -> int:
    """A tiny deterministic classifier: more 'good' than 'bad' -> 1, fewer -> 0; a tie goes to
    1 when the last word is 'the' or there are no words, else 0 (so order matters too)."""
    score = sum(WEIGHT[w] for w in words)
    if score != 0:
        return int(score > 0)
    return int(not words or words[-1] == "the")


def classify(texts):
    return [keyword_vote(t.split()) for t in texts]


def smoothed(words: tuple[str, ...], p_del: float) -> np.ndarray:
    """Exact ``[P[f(Del(x)) = 0], P[f(Del(x)) = 1]]`` by enumerating every keep-mask (vectorised
    form of :func:`keyword_vote`)."""
    length = len(words)
    if length == 0:
        return np.array([0.0, 1.0]) if keyword_vote([]) else np.array([1.0, 0.0])
    m = masks(length)
    w = np.array([WEIGHT[x] for x in words])
    score = m.astype(int) @ w
    is_the = np.array([x == "the" for x in words])
    any_kept = m.any(axis=1)
    last = length - 1 - np.argmax(m[:, ::-1], axis=1)
    tie_class = np.where(any_kept, is_the[last], True)
    pred = np.where(score > 0, 1, np.where(score < 0, 0, tie_class.astype(int)))
    prob = mask_probabilities(length, p_del)
    p1 = float(prob[pred == 1].sum())
    return np.array([1.0 - p1, p1])


def levenshtein_ball(words: tuple[str, ...], radius: int) -> set[tuple[str, ...]]:
    """Every sequence over ``VOCAB`` within ``radius`` substitutions, insertions and deletions."""
    ball = {words}
    frontier = {words}
    for _ in range(radius):
        nxt = set()
        for s in frontier:
            for i in range(len(s) + 1):
                for v in VOCAB:
                    nxt.add(s[:i] + (v,) + s[i:])  # insertion
            for i in range(len(s)):
                nxt.add(s[:i] + s[i + 1 :])  # deletion
                for v in VOCAB:
                    if v != s[i]:
                        nxt.add(s[:i] + (v,) + s[i + 1 :])  # substitution
        frontier = nxt - ball
        ball |= nxt
    return ball


SENTENCES = [
    "good",
    "good good",
    "bad the",
    "good good good",
    "good the good the",
    "bad bad good",
    "good good good good",
    "the good bad good the",
    "good bad good good the good",
    "the the good",
    "good good the good good good good",
    "bad good bad the bad bad",
    "good the good the good the good the",
    "bad bad bad bad bad bad bad",
    "good good good good good good good good",
]


@pytest.mark.parametrize("p_del", [0.6, 0.75, 0.8])
def test_certified_radius_holds_for_every_sentence_in_the_ball(p_del):
    records = certify_texts(classify, SENTENCES, [1] * len(SENTENCES), settings(p_del))
    radii = []
    for text, record in zip(SENTENCES, records):
        words = tuple(text.split())
        mu = smoothed(words, p_del)
        assert record["exact"] is True
        # exact-mode probabilities equal the enumeration
        assert record["p_lower"] == pytest.approx(mu.max(), abs=1e-9)
        assert record["p_upper_runner_up"] == pytest.approx(mu.min(), abs=1e-9)
        if record["prediction"] is None:
            assert abs(mu[0] - mu[1]) < 1e-9
            continue
        assert record["prediction"] == int(np.argmax(mu))
        radius = record["radius"]
        radii.append(radius)
        if radius == 0 or len(words) + radius > 11:
            continue
        a = record["prediction"]
        for other in levenshtein_ball(words, radius):
            mu_other = smoothed(other, p_del)
            assert mu_other[a] > mu_other[1 - a], (text, radius, other, mu_other)
    # the check has teeth: several certificates reach beyond radius 1
    assert sum(r >= 2 for r in radii) >= (3 if p_del >= 0.75 else 0)
    assert max(radii) >= 1


def test_radius_is_tight_enough_to_matter():
    """At p_del 0.5 the cap is 0 (p^1 = 1/2 allows a tie); the certificate must not claim 1 even
    for an input whose every deletion agrees, because one substitution reaches a tie."""
    records = certify_texts(classify, ["good"], [1], settings(0.5))
    assert records[0]["p_lower"] == 1.0 and records[0]["radius"] == 0
    tie = smoothed(("bad",), 0.5)  # one substitution away: 'bad' -> 0 with 1/2, '' -> 1 with 1/2
    assert tie[0] == tie[1] == 0.5
