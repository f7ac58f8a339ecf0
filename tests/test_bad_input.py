"""Bad input on every command: one readable ``error:`` line on stderr and exit code 2, never a traceback.

One table of (command, arguments, what the line must say), one case per line; each case replaces
the arguments of a valid run of that command that it names (and adds the others).
"""

from __future__ import annotations

import pytest
from conftest import ROOT

from textrobust.cli import main

MNIST_MODEL = ROOT / "vision" / "results" / "mnist" / "models" / "M"  # the committed MNIST paper CNN

# command      | arguments                                              | the error line says
CASES = """
eval           | --model ./no/such/model                                | model path not found
eval           | --dataset ./no/such/data                               | dataset path not found
eval           | --text-column body                                     | no text column 'body'
eval           | --perturb shuffle                                      | unknown text perturbation 'shuffle'
eval           | --perturb delete:q=1                                   | unknown key 'q'
eval           | --perturb delete:p=1.5                                 | p must be a number in [0, 1]
eval           | --limit 0                                              | --limit must be at least 1
eval           | --max-steps 0                                          | --max-steps must be at least 1
eval           | --batch-size 0                                         | --batch-size must be at least 1
eval           | --limit abc                                            | Invalid value for '--limit'
eval           | --no-such-option                                       | No such option
eval           | --perturb synonym:p=0.1 --synonyms ./missing.json      | synonyms file not found
certify        | --p-del 0                                              | --p-del must be in (0, 1)
certify        | --p-del 1                                              | --p-del must be in (0, 1)
certify        | --p-del 1.5                                            | --p-del must be in (0, 1)
certify        | --alpha 0                                              | --alpha must be in (0, 1)
certify        | --alpha 1                                              | --alpha must be in (0, 1)
certify        | --n0 0                                                 | --n0 must be at least 1
certify        | --n 0                                                  | --n must be at least 1
certify        | --batch-size 0                                         | --batch-size must be at least 1
certify        | --level char                                           | --level must be one of word, token
certify        | --limit 0                                              | --limit must be at least 1
certify        | --text-column nope                                     | no text column 'nope'
certify        | --model ./no/such/model                                | model path not found
certify        | --dataset ./no/such/data.csv                           | dataset path not found
vision eval    | --model /nonexistent/model                             | model path not found
vision eval    | --perturb sparkle                                      | unknown image perturbation
vision eval    | --perturb pixels:k=-2                                  | k must be
vision eval    | --perturb delete:p=0.1                                 | text perturbation
vision eval    | --limit 0                                              | --limit must be at least 1
vision eval    | --max-steps 0                                          | --max-steps must be at least 1
vision eval    | --dataset /nonexistent/data                            | dataset path not found
vision eval    | --label-column nope                                    | no label column
vision certify | --sigma 0                                              | --sigma must be a positive number
vision certify | --alpha 1.5                                            | --alpha must be in (0, 1)
vision certify | --n0 0                                                 | --n0 must be at least 1
vision certify | --n 0                                                  | --n must be at least 1
vision certify | --procedure monte-carlo                                | --procedure must be one of fast, cohen
vision certify | --radii 0,x                                            | --radii must be comma-separated numbers
vision certify | --radii 0.5,0.25                                       | --radii must be distinct non-negative numbers
vision certify | --batch-size 0                                         | --batch-size must be at least 1
vision certify | --denoiser /nonexistent/denoiser                       | is not a saved denoiser
vision certify | --model /nonexistent/model                             | model path not found
"""


@pytest.fixture(scope="module")
def valid_runs(tiny_model, tiny_dataset, shared) -> dict[str, dict[str, str]]:
    """For each command, the options of a small valid run."""
    text = {"--model": str(tiny_model), "--dataset": str(tiny_dataset)}
    mnist = shared / "data" / "mnist"
    return {
        "eval": {**text, "--perturb": "delete:p=0.1", "--max-steps": "2"},
        "certify": dict(text),
        "vision eval": {"--model": str(MNIST_MODEL), "--dataset": str(mnist), "--limit": "5"},
        "vision certify": {"--model": str(MNIST_MODEL), "--dataset": str(mnist / "idx"), "--limit": "2", "--n": "10"},
    }


def cases() -> list[tuple[str, list[str], str]]:
    rows = [[cell.strip() for cell in line.split("|")] for line in CASES.strip().splitlines()]
    return [(command, args.split(), message) for command, args, message in rows]


@pytest.mark.parametrize("command, args, message", cases())
def test_bad_input_is_one_line_and_exit_2(command, args, message, valid_runs, capsys):
    base = {flag: value for flag, value in valid_runs[command].items() if flag not in args}
    argv = [*command.split(), "--no-progress", *[x for kv in base.items() for x in kv], *args]
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], lines


def test_a_text_model_given_to_vision_eval_is_named_as_not_an_image_classifier(tiny_model, valid_runs, capsys):
    run = {**valid_runs["vision eval"], "--model": str(tiny_model)}
    assert main(["vision", "eval", "--no-progress", *[x for kv in run.items() for x in kv]]) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and f"error: {str(tiny_model)!r} is not an image classifier: " in lines[0], lines
