"""Text perturbations: their statistics, invariants and determinism."""

import json

import numpy as np
import pytest
from scipy import stats

from textrobust.core.perturbation import build
from textrobust.core.random import draw_key, stream_prefix
from textrobust.text.perturbations import (
    QWERTY_NEIGHBOURS,
    delete_words,
    insert_synonyms,
    substitute_synonyms,
    swap_words,
    typos,
)
from textrobust.text.synonyms import STOPWORDS, from_file, from_mapping, resolve
from textrobust.text.words import split_affixes

SENTENCE = "the quick brown fox jumps over the lazy dog while seven happy children watch"
SYN = from_mapping({"quick": ["fast", "speedy"], "happy": ["glad"], "dog": ["hound", "canine"], "the": ["x"]})


def rngs(n, spec="t"):
    """Stream keys of draws 1..n (the perturbation functions take a draw's stream key)."""
    prefix = stream_prefix(0, 0, spec)
    return [draw_key(prefix, k) for k in range(1, n + 1)]


def binomial_ok(successes, trials, p, alpha=1e-4):
    return stats.binomtest(successes, trials, p).pvalue > alpha


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_deletion_rate_is_p(p):
    words = SENTENCE.split()
    deleted = 0
    for rng in rngs(2000):
        out = delete_words(SENTENCE, rng, p)
        deleted += len(words) - len(out.split())
    assert binomial_ok(deleted, 2000 * len(words), p)


def test_deletion_keeps_order_and_returns_the_original_when_nothing_changes():
    out = delete_words(SENTENCE, rngs(1)[0], 0.3)
    kept = out.split()
    it = iter(SENTENCE.split())
    assert all(any(w == x for x in it) for w in kept)  # a subsequence
    assert delete_words(SENTENCE, rngs(1)[0], 0.0) is SENTENCE
    assert delete_words(SENTENCE, rngs(1)[0], 1.0) == ""
    assert delete_words("", rngs(1)[0], 0.5) == ""
    assert delete_words("   ", rngs(1)[0], 0.5) == "   "


def test_synonym_rate_is_p_over_words_that_have_synonyms():
    text = "quick happy dog and the cat"  # 3 words with synonyms ("the" is a stop word)
    replaced = 0
    for rng in rngs(3000):
        out = substitute_synonyms(text, rng, 0.3, SYN).split()
        assert out[3:] == ["and", "the", "cat"]
        replaced += (out[0] != "quick") + (out[1] != "happy") + (out[2] != "dog")
        assert out[0] in ("quick", "fast", "speedy") and out[2] in ("dog", "hound", "canine")
    assert binomial_ok(replaced, 9000, 0.3)


def test_synonym_choice_is_uniform():
    picks = [substitute_synonyms("dog", rng, 1.0, SYN) for rng in rngs(2000)]
    counts = [picks.count("hound"), picks.count("canine")]
    assert sum(counts) == 2000
    assert stats.chisquare(counts).pvalue > 1e-4


def test_synonyms_keep_case_and_punctuation():
    out = substitute_synonyms('"Quick," DOG!', rngs(1)[0], 1.0, SYN)
    first, second = out.split()
    assert first.startswith('"') and first.endswith(',"') and first[1:-2] in ("Fast", "Speedy")
    assert second in ("HOUND!", "CANINE!")
    assert split_affixes("(great!)") == ("(", "great", "!)")
    assert split_affixes("...") == ("...", "", "")


def test_stop_words_have_no_synonyms():
    assert SYN("the") == () and "the" in STOPWORDS
    assert SYN("Quick") == ("fast", "speedy")


def test_typo_hits_words_of_three_or_more_letters_at_rate_p():
    text = "an apple is on my keyboard today"  # eligible: apple keyboard today
    hit = 0
    for rng in rngs(3000):
        out = typos(text, rng, 0.2).split()
        assert [out[0], out[2], out[3], out[4]] == ["an", "is", "on", "my"]
        changed = [a != b for a, b in zip(["apple", "keyboard", "today"], [out[1], out[5], out[6]])]
        hit += sum(changed)
    # a swap of two equal letters ("pp") leaves the word unchanged, so allow a little below p
    assert 0.17 * 9000 < hit <= 0.2 * 9000 + 4 * np.sqrt(9000 * 0.16)


def test_each_typo_is_one_edit():
    for rng in rngs(500):
        word = typos("Keyboard", rng, 1.0)
        assert word != "" and abs(len(word) - 8) <= 1
        if len(word) == 8:
            diffs = [i for i, (a, b) in enumerate(zip(word, "Keyboard")) if a != b]
            assert len(diffs) in (0, 1, 2)
            if len(diffs) == 1:  # a substitution: a keyboard neighbour, same case
                i = diffs[0]
                assert word[i].lower() in QWERTY_NEIGHBOURS["keyboard"[i]]
            if len(diffs) == 2:  # a swap of adjacent letters
                i, j = diffs
                assert j == i + 1 and word[i] == "Keyboard"[j] and word[j] == "Keyboard"[i]


def test_swap_swaps_adjacent_pairs_at_rate_p():
    words = [f"w{i}" for i in range(11)]
    text = " ".join(words)
    swaps = 0
    for rng in rngs(1000):
        out = swap_words(text, rng, 0.2).split()
        assert sorted(out) == sorted(words)
        assert all(abs(out.index(w) - i) <= 1 for i, w in enumerate(words))
        swaps += sum(1 for i, w in enumerate(words) if out.index(w) == i + 1)
    # expected swaps in n words, by the left-to-right scan: e[n] = p (1 + e[n-2]) + (1 - p) e[n-1]
    e = np.zeros(12)
    for n in range(2, 12):
        e[n] = 0.2 * (1 + e[n - 2]) + 0.8 * e[n - 1]
    assert abs(swaps / 1000 - e[11]) < 0.15  # about 4 standard errors


def test_insert_adds_synonyms_of_words_in_the_text():
    for rng in rngs(300):
        out = insert_synonyms("quick dog runs", rng, 0.5, SYN).split()
        extra = list(out)
        for w in ["quick", "dog", "runs"]:
            extra.remove(w)
        assert all(w in ("fast", "speedy", "hound", "canine") for w in extra)
        assert len(extra) <= 2
    n_inserted = sum(len(insert_synonyms("quick dog runs", rng, 0.5, SYN).split()) - 3 for rng in rngs(2000))
    assert binomial_ok(n_inserted, 4000, 0.5)


def test_every_perturbation_is_deterministic_per_stream_and_handles_empty_text(shared):
    syn = from_file(shared / "data/wordnet/oewn_synonyms.json")
    for spec in ["delete:p=0.3", "synonym:p=0.5", "typo:p=0.5", "swap:p=0.5", "insert:p=0.5"]:
        p = build(spec, "text", {"synonyms": syn})
        keys = [draw_key(stream_prefix(7, i, spec), 1) for i in range(20)]
        texts = [SENTENCE] * 20
        assert p.apply(texts, keys) == p.apply(texts, keys)
        assert len(set(p.apply(texts, keys))) > 1
        assert p.apply(["", "  "], keys[:2]) == ["", "  "]


def test_synonym_sources(tmp_path, monkeypatch, shared):
    from textrobust.errors import UserError

    monkeypatch.setenv("TEXTROBUST_SYNONYMS", str(shared / "data/wordnet/oewn_synonyms.json"))
    syn = resolve()
    assert "film" in syn("movie")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(UserError, match="must hold a JSON object"):
        resolve(bad)
    with pytest.raises(UserError, match="not found"):
        resolve(tmp_path / "missing.json")


def test_a_synonyms_file_is_parsed_once_per_process_until_its_content_changes(tmp_path):
    import os

    from textrobust.text.synonyms import from_file

    path = tmp_path / "syn.json"
    path.write_text(json.dumps({"movie": ["film"]}))
    first = from_file(path)
    assert from_file(str(path)) is first  # the same table (and lookup cache), however the path is spelled
    assert from_file(tmp_path / "." / "syn.json") is first
    stat = path.stat()
    path.write_text(json.dumps({"movie": ["show"]}))  # the same size, rewritten within the same clock tick
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    changed = from_file(path)
    assert changed is not first and changed("movie") == ("show",)
    assert changed.identity != first.identity
    path.write_text(json.dumps({"movie": ["film"]}))  # back to the first content: its table again
    assert from_file(path) is first
