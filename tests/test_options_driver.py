"""The option objects, the one run driver, and the layering of the packages."""

import inspect
import json
import subprocess
import sys

import pytest

import textrobust
from textrobust.cli import main
from textrobust.core.options import DataOptions, OptionError, RunOptions, split_options
from textrobust.errors import UserError


def test_keywords_are_sorted_into_the_two_objects():
    data, run = split_options(
        {"limit": 5, "text_column": "review", "batch_size": 8, "output_dir": "out"},
        aliases={"text_column": "input_column"},
    )
    assert data == DataOptions(limit=5, input_column="review")
    assert run == RunOptions(batch_size=8, output_dir="out")


def test_keywords_override_given_objects_and_defaults_apply_only_without_one():
    data, run = split_options({"shuffle": True}, DataOptions(limit=3), None, run_defaults={"batch_size": 256})
    assert data == DataOptions(limit=3, shuffle=True) and run.batch_size == 256
    _, run = split_options({}, None, RunOptions(batch_size=4), run_defaults={"batch_size": 256})
    assert run.batch_size == 4


def test_an_unknown_keyword_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match="evaluate\\(\\) got an unexpected keyword argument 'limt'"):
        split_options({"limt": 3}, function="evaluate()")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: DataOptions(limit=0), "--limit must be at least 1"),
        (lambda: DataOptions(limit=2.5), "--limit must be at least 1"),
        (lambda: RunOptions(batch_size=0), "--batch-size must be at least 1"),
        (lambda: RunOptions(batch_size=True), "--batch-size must be at least 1"),
    ],
)
def test_options_are_validated_when_made(make, message):
    with pytest.raises(OptionError, match=message):
        make()
    assert issubclass(OptionError, UserError)


def test_objects_and_keywords_give_the_same_run(tiny_model, tiny_dataset, tmp_path):
    common = dict(perturbations=["delete:p=0.3"], max_steps=10, seed=2)
    by_keywords = textrobust.evaluate(
        str(tiny_model), dataset=str(tiny_dataset), limit=6, batch_size=3, output_dir=tmp_path / "a", **common
    )
    by_objects = textrobust.evaluate(
        str(tiny_model),
        dataset=str(tiny_dataset),
        data=DataOptions(limit=6),
        run=RunOptions(batch_size=5, output_dir=tmp_path / "b"),
        **common,
    )
    assert by_keywords.records == by_objects.records and len(by_objects.records) == 6
    for name in ("examples.jsonl", "run.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_certify_is_a_plain_function_of_the_package():
    assert inspect.isfunction(textrobust.certify)
    assert textrobust.certify.__module__ == "textrobust.certification.api"
    assert textrobust.DataOptions is DataOptions and textrobust.RunOptions is RunOptions


def test_cli_help_shows_the_option_groups_once_written(capsys):
    assert main(["eval", "--help"]) == 0
    text = capsys.readouterr().out
    assert "Data options" in text and "Run options" in text and "--text-column" in text and "--dtype" in text
    assert main(["vision", "eval", "--help"]) == 0
    text = capsys.readouterr().out
    assert "--image-column" in text and "--text-column" not in text and "--dtype" not in text and "--config" not in text
    assert main(["certify", "--help"]) == 0
    assert "certified_accuracy.png" in capsys.readouterr().out


def test_a_bad_option_value_is_one_line_and_exit_2(tiny_model, tiny_dataset, capsys):
    code = main(["certify", "--model", str(tiny_model), "--dataset", str(tiny_dataset), "--batch-size", "0"])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == "error: --batch-size must be at least 1, got 0"


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(__import__('json').dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


def test_the_core_knows_nothing_of_text_or_images():
    loaded = _imported_after(
        "import textrobust.core.driver, textrobust.core.rpr, textrobust.core.perturbation, textrobust.core.options"
    )
    assert not {m for m in loaded if m.startswith(("textrobust.text", "vision", "textrobust.hf", "transformers"))}


def test_vision_does_not_import_the_text_modality():
    loaded = _imported_after("import vision.evaluation, vision.reproduce, vision.cli")
    assert not {m for m in loaded if m.startswith(("textrobust.text", "textrobust.evaluation"))}
