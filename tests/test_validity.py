"""Constrained synonym candidates, and the validity evidence in reports and `textrobust inspect`."""

from __future__ import annotations

import json

import numpy as np
from conftest import SHARED_ENCODER, keyword_vote  # noqa: F401  (documents the model used below)

from textrobust.cli import main
from textrobust.core.perturbation import build, parse_spec
from textrobust.core.random import draw_key, stream_prefix
from textrobust.text.candidates import CandidateSource, Constraints
from textrobust.text.diffs import word_diff, word_edits
from textrobust.text.encoder import load_encoder
from textrobust.text.perturbations import insert_synonyms, substitute_synonyms
from textrobust.text.senses import from_mapping as senses_from_mapping
from textrobust.text.senses import load_senses
from textrobust.text.synonyms import from_file, from_mapping
from textrobust.text.tagger import load_tagger

SYN = from_mapping(
    {
        "light": ["bright", "lamp"],
        "great": ["outstanding", "swell", "expectant", "with child", "enceinte"],
        "awful": ["dreadful", "amazing"],
        "movie": ["film"],
    }
)
SENSES = senses_from_mapping(
    {
        "light": {"a": [[5, ["bright"]]], "n": [[9, ["lamp"]]]},
        "great": {
            "a": [[114, []], [38, ["outstanding"]], [7, ["swell"]], [0, ["expectant", "with child", "enceinte"]]]
        },
        "awful": {"a": [[10, ["dreadful"]], [0, ["amazing"]]]},
        "movie": {"n": [[20, ["film"]]]},
    }
)


def fixed_tagger(tags):
    """A tagger giving each whitespace word the tag of its lowercase core in ``tags`` (else None)."""
    return lambda text: tuple(tags.get(w.strip(".,!").lower()) for w in text.split())


TAGS = {"light": "a", "room": "n", "great": "a", "awful": "a", "movie": "n", "lamp": "n"}


class SpyEncoder:
    """The real encoder, counting the texts it is asked to encode and its calls."""

    def __init__(self):
        self.inner = load_encoder(str(SHARED_ENCODER))
        self.name = self.inner.name
        self.calls = 0
        self.texts = 0

    def __call__(self, texts):
        self.calls += 1
        self.texts += len(texts)
        return self.inner(texts)

    def in_vocabulary(self, word):
        return self.inner.in_vocabulary(word)


def source(constraints, tags=TAGS, encoder=None):
    return CandidateSource(
        SYN, constraints, senses=SENSES, tagger=fixed_tagger(tags), encoder=encoder or load_encoder(str(SHARED_ENCODER))
    )


def test_part_of_speech_removes_a_noun_sense_offered_for_an_adjective():
    c = Constraints(pos=True, senses=0, sim=0.0, rare=True, multiword=True)
    assert source(c)("a light room") == ((), ("bright",), ())
    assert source(c, tags={"light": "n"})("the light") == ((), ("lamp",))
    assert source(c, tags={})("a light room") == ((), (), ())  # untagged (e.g. a function word): none
    off = Constraints(pos=False, senses=0, sim=0.0, rare=True, multiword=True)
    assert set(source(off)("a light room")[1]) == {"bright", "lamp"}


def test_the_real_tagger_tags_parts_of_speech_of_whitespace_words():
    from textrobust.text.tagger import load_tagger

    # determiner, noun, auxiliary, adjective, noun, punctuation, adverb (with its trailing '.')
    assert load_tagger()("The movie was great fun , honestly.") == (None, "n", None, "a", "n", None, "r")


def test_rare_senses_are_removed_and_common_ones_kept():
    c = Constraints(pos=True, senses=3, sim=0.0, rare=True, multiword=True)
    assert source(c)("a great movie")[1] == ("outstanding", "swell")  # the 'pregnant' sense (untagged, rank 4) is gone
    c1 = Constraints(pos=True, senses=2, sim=0.0, rare=True, multiword=True)
    assert source(c1)("a great movie")[1] == ("outstanding",)
    every = Constraints(pos=True, senses=0, sim=0.0, rare=True, multiword=True)
    assert "enceinte" in source(every)("a great movie")[1]


def test_fluency_drops_multiword_and_rare_replacements_unless_asked():
    every = dict(pos=True, senses=0, sim=0.0)
    strict = source(Constraints(**every, multiword=False, rare=False))("a great movie")[1]
    assert "with child" not in strict and "enceinte" not in strict and "outstanding" in strict
    loose = source(Constraints(**every, multiword=True, rare=True))("a great movie")[1]
    assert {"with child", "enceinte"} <= set(loose)


def test_the_encoder_removes_a_substitution_that_changes_the_meaning():
    c = Constraints(pos=True, senses=0, sim=0.8, window=0, rare=True, multiword=True)
    assert source(c)("an awful movie") == ((), ("dreadful",), ("film",))  # 'amazing' is not 'awful'


def test_candidates_are_computed_once_per_example_whatever_the_draws():
    spy = SpyEncoder()
    resources = {"synonyms": SYN, "senses": SENSES, "tagger": fixed_tagger(TAGS), "encoder": spy}
    syn = build("synonym:p=0.5,sim=0.5", "text", resources)
    ins = build("insert:p=0.5,sim=0.5", "text", resources)
    texts = ["an awful movie", "a great light movie", "a light room"]
    for batch in (1, 7, 256):
        for p in (syn, ins):
            keys = [draw_key(stream_prefix(0, i, p.spec.canonical), k) for k in range(1, 41) for i in range(3)]
            xs = [texts[i] for _ in range(1, 41) for i in range(3)]
            for start in range(0, len(xs), batch):
                p.apply(xs[start : start + batch], keys[start : start + batch])
    assert spy.calls == 3  # one encoder pass per example, shared by synonym and insert
    assert syn.candidates is ins.candidates
    assert syn.candidates.computed == 3


def test_perturbations_draw_only_from_the_candidates():
    src = source(Constraints(pos=True, senses=0, sim=0.0, rare=True, multiword=True))
    prefix = stream_prefix(0, 0, "t")
    outs = {substitute_synonyms("a light room", draw_key(prefix, k), 1.0, SYN, src) for k in range(50)}
    assert outs == {"a bright room"}
    ins = {insert_synonyms("a light room", draw_key(prefix, k), 1.0, SYN, src) for k in range(50)}
    assert all(sorted(o.split()) == sorted("a light room bright".split()) for o in ins)


def test_specs_spell_out_the_constraints_and_constrained_0_is_the_old_behaviour():
    assert parse_spec("synonym", "text").canonical == (
        "synonym:p=0.1,constrained=1,pos=1,senses=3,sim=0.8,window=3,multiword=0,rare=0"
    )
    assert parse_spec("synonym:constrained=0,sim=0.5", "text").canonical == "synonym:p=0.1,constrained=0"
    old = build("synonym:p=0.5,constrained=0", "text", {"synonyms": SYN})
    assert old.candidates is None
    prefix = stream_prefix(0, 0, "x")
    for k in range(30):
        key = draw_key(prefix, k)
        assert old.apply(["a great light"], [key])[0] == substitute_synonyms("a great light", key, 0.5, SYN)


def test_the_bundled_sense_table_orders_senses_by_frequency():
    table = load_senses()
    great = table.senses("great", "a")
    assert great[0].count >= great[1].count and "outstanding" in great[1].lemmas
    assert any("enceinte" in s.lemmas and s.count == 0 for s in great)


def test_default_constrained_synonyms_on_real_sentences_drop_known_bad_swaps(shared, real_encoder):
    syn = from_file(shared / "data/wordnet/oewn_synonyms.json")
    p = build("synonym", "text", {"synonyms": syn})
    cands = p.candidates("a great film with an awful plot .")
    words = dict(zip("a great film with an awful plot .".split(), cands))
    assert not {"enceinte", "with child", "old", "gravid"} & set(words["great"])
    assert not {"amazing", "awe-inspiring", "awesome"} & set(words["awful"])
    assert "movie" in words["film"]  # ordinary synonyms stay


def test_word_diffs_and_edits():
    assert word_diff("the plot is solid", "the plot is strong") == "the plot is ~~solid~~ **strong**"
    assert word_diff("a b c", "a c") == "a ~~b~~ c"
    assert word_edits("the plot is solid", "the plot is strong") == 1
    assert word_edits("a b c d", "b a c d") == 2


def run(model, data, out, *extra):
    return main(["eval", "--model", str(model), "--dataset", str(data), "--output", str(out), "--no-progress", *extra])


def test_report_has_validity_and_is_the_same_across_batch_sizes(keyword_model, tiny_dataset, shared, tmp_path, capsys):
    specs = ["--perturb", "delete:p=0.3", "--perturb", "synonym:p=0.5,sim=0.5", "--perturb", "insert:p=0.3,sim=0.5"]
    syn = ["--synonyms", str(shared / "data/wordnet/oewn_synonyms.json")]
    files, validity = [], []
    for bs in ("1", "7", "256"):
        out = tmp_path / bs
        assert (
            run(
                keyword_model, tiny_dataset, out, *specs, *syn, "--max-steps", "15", "--limit", "40", "--batch-size", bs
            )
            == 0
        )
        files.append((out / "examples.jsonl").read_bytes())
        validity.append(json.loads((out / "report.json").read_text())["validity"])
    assert files[0] == files[1] == files[2]
    assert validity[0] == validity[1] == validity[2]
    v = validity[0]["perturbations"]
    d = v["delete:p=0.3"]
    assert d["n_draws"] == 40 * 5 and 0.5 < d["changed_share"] <= 1 and d["mean_edits"] > 1
    assert 0 < d["similarity_changed"]["n"] <= 40 and 0 < d["similarity_changed"]["q50"] < 1
    flips = d["first_flips"]
    assert flips and [f["first_flip"] for f in flips] == sorted(f["first_flip"] for f in flips)
    assert all("~~" in f["diff"] for f in flips)
    assert d["similarity_first_flips"]["n"] == len(flips)
    syn_spec = [s for s in v if s.startswith("synonym")][0]
    assert "constrained=1" in syn_spec and v[syn_spec]["n_draws"] == 200
    # run.json names what the constrained draws were built from: the tables' and the encoder's
    # hashes, and the tagger's pipeline and version
    built = json.loads((tmp_path / "1" / "run.json").read_text())["resources"][syn_spec]
    assert built == {
        "synonyms": from_file(shared / "data/wordnet/oewn_synonyms.json").identity,
        "tagger": load_tagger().identity,
        "senses": load_senses().identity,
        "encoder": load_encoder().identity,
    }
    assert all(built[k].startswith("sha256:") for k in ("synonyms", "senses", "encoder"))
    assert "core_web_sm" in built["tagger"] and "(spaCy 3." in built["tagger"]
    md = (tmp_path / "1" / "report.md").read_text()
    assert "## Validity of the perturbations" in md and "### First flips: delete:p=0.3" in md
    assert flips[0]["diff"] in md

    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "1"), "--spec", "delete:p=0.3", "--plain"]) == 0
    shown = capsys.readouterr().out
    assert flips[0]["diff"] in shown and "changed" in shown and "synonym" not in shown
    lo, hi = d["changed_share_ci95"]
    assert f"changed {d['changed_share']:.3f} [{lo:.3f}, {hi:.3f}] of {d['n_draws']} draws" in shown
    assert f"median {d['similarity_first_flips']['q50']:.3f} (n={len(flips)})" in shown
    assert main(["inspect", str(tmp_path / "1"), "--spec", "nosuch"]) == 2
    assert "no perturbation 'nosuch'" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path / "missing")]) == 2


def test_the_encoder_follows_the_environment_variable_after_a_cached_load(monkeypatch, tmp_path):
    import pytest

    from textrobust.errors import UserError

    assert load_encoder() is load_encoder()  # cached per location
    monkeypatch.setenv("TEXTROBUST_ENCODER", str(tmp_path / "no-such-encoder"))
    with pytest.raises(UserError, match="no-such-encoder"):
        load_encoder()


def test_the_encoder_computes_in_float32_from_a_float16_checkpoint():
    """The shared encoder stores float16 weights and its config names no dtype, so a plain
    ``from_pretrained`` would compute in float16 (several times slower on a CPU, less exact)."""
    import torch

    enc = load_encoder(str(SHARED_ENCODER))
    assert {p.dtype for p in enc.model.parameters()} == {torch.float32}
    emb = enc(["an awful movie", "a dreadful movie"])
    assert emb.dtype == np.float32
    assert abs(float(emb[0] @ emb[1]) - 0.854) < 0.0015  # the shared README's figure (float32)


def test_encoder_batches_by_length_but_answers_in_the_order_asked():
    enc = load_encoder(str(SHARED_ENCODER))
    texts = ["a film", "an awful, awful, dreadful movie that nobody should ever see", "ok", "a dreadful movie"]
    one_by_one = np.concatenate([enc([t]) for t in texts])
    together = enc(texts)
    assert np.abs(together - one_by_one).max() < 1e-5  # row i is texts[i], whatever its batch
    shuffled = [2, 0, 3, 1]
    assert np.array_equal(enc([texts[i] for i in shuffled]), together[shuffled])  # the order asked does not matter
    batch_size, enc.batch_size = enc.batch_size, 2  # several batches: the longest two, then the rest
    try:
        assert np.abs(enc(texts) - one_by_one).max() < 1e-5
    finally:
        enc.batch_size = batch_size  # the encoder is shared by the process
