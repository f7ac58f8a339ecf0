"""Overlapping host and device (Engine.overlap), --compile and the staged token classifier:
none of them changes results."""

from __future__ import annotations

import torch

import textrobust
from textrobust.core.options import RunOptions
from textrobust.core.speed import compile_classifier


def _run(model, dataset, shared, out, **run):
    return textrobust.evaluate(
        str(model),
        None,
        str(dataset),
        ["delete:p=0.3", "typo:p=0.3", "synonym:p=0.5,constrained=0"],
        max_steps=15,
        seed=3,
        limit=30,
        synonyms=str(shared / "data/wordnet/oewn_synonyms.json"),
        device="cpu",
        output_dir=str(out),
        batch_size=7,
        **run,
    )


def test_overlapped_and_sequential_runs_write_identical_examples(
    keyword_model, tiny_dataset, shared, tmp_path, monkeypatch
):
    from textrobust.core.engine import Engine

    calls = {"overlapped": 0}
    original = Engine._classify_all

    def counting(self, batches):
        if self.overlap and len(batches) > 1:
            calls["overlapped"] += 1
        return original(self, batches)

    monkeypatch.setattr(Engine, "_classify_all", counting)
    a = _run(keyword_model, tiny_dataset, shared, tmp_path / "a", overlap=True)
    assert calls["overlapped"] > 0  # the overlapped path really ran
    b = _run(keyword_model, tiny_dataset, shared, tmp_path / "b", overlap=False)
    assert (tmp_path / "a/examples.jsonl").read_bytes() == (tmp_path / "b/examples.jsonl").read_bytes()
    assert a.model_calls == b.model_calls
    assert any(p.rpr.n_flipped > 0 for p in a.perturbations)  # the runs compared have flips to agree on


def test_run_options_take_compile_and_overlap():
    run = RunOptions(compile=True, overlap=False)
    assert run.compile and not run.overlap
    assert RunOptions().overlap is None and not RunOptions().compile  # None: overlap on CUDA only


def test_compile_classifier_wraps_the_model_once():
    class Holder:
        model = torch.nn.Linear(2, 2)

    class Outer:
        classifier = Holder()

    outer = Outer()
    assert compile_classifier(outer)
    compiled = outer.classifier.model
    assert hasattr(compiled, "_orig_mod")
    assert compile_classifier(outer) and outer.classifier.model is compiled
    assert not compile_classifier(object())


def test_cli_has_compile_and_overlap_options():
    from typer.testing import CliRunner

    from textrobust.cli.app import app

    result = CliRunner().invoke(app, ["eval", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "--compile" in result.output and "--overlap" in result.output


def test_token_level_eval_is_identical_across_batch_sizes(keyword_model, tiny_dataset, tmp_path, torch_single_thread):
    """Batch sizes 1, 7 and 256 (token-level draws, overlap forced on): byte-identical examples.jsonl."""
    specs = ["delete:p=0.3", "typo:p=0.3", "swap:p=0.3"]
    outs = []
    for b in (1, 7, 256):
        report = textrobust.evaluate(
            str(keyword_model),
            None,
            str(tiny_dataset),
            specs,
            max_steps=20,
            limit=40,
            batch_size=b,
            output_dir=str(tmp_path / f"b{b}"),
            overlap=True,
            device="cpu",
        )
        assert any(report[s].rpr.n_flipped > 0 for s in specs)
        outs.append((tmp_path / f"b{b}/examples.jsonl").read_bytes())
    assert outs[0] == outs[1] == outs[2]
