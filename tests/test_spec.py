"""Perturbation specs: parsing, canonical form, defaults and errors."""

import pytest

import textrobust.text  # noqa: F401  (registers text perturbations)
from textrobust.core import perturbation
from textrobust.core.perturbation import Param, Perturbation, PerturbationType, Spec, build, parse_spec, register
from textrobust.errors import UserError


@pytest.fixture(autouse=True)
def restore_registry():
    """Perturbations registered by a test here are gone after it, so other tests see the real set."""
    saved = dict(perturbation._REGISTRY)
    yield
    perturbation._REGISTRY.clear()
    perturbation._REGISTRY.update(saved)


def test_canonical_form_fills_defaults_and_normalises_numbers():
    assert parse_spec("delete", "text").canonical == "delete:p=0.1"
    assert parse_spec(" Delete : p = 0.25 ", "text").canonical == "delete:p=0.25"
    assert parse_spec("delete:p=1", "text").canonical == "delete:p=1"
    assert parse_spec("delete:p=1.0", "text") == parse_spec("delete:p=1", "text")
    assert parse_spec("typo:p=.050", "text").canonical == "typo:p=0.05"


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("nosuch", "valid: delete, insert, swap, synonym, typo"),
        ("delete:q=0.1", "valid keys: p"),
        ("delete:p=1.5", "p must be a number in [0, 1], got 1.5"),
        ("delete:p=-0.1", "in [0, 1]"),
        ("delete:p=abc", "p must be a number"),
        ("delete:p=nan", "p must be a number"),
        ("delete:p", "expected key=value"),
        ("delete:p=0.1,p=0.2", "given twice"),
        ("", "empty perturbation spec"),
    ],
)
def test_bad_specs_name_what_is_valid(spec, fragment):
    with pytest.raises(UserError, match=None) as err:
        parse_spec(spec, "text")
    assert fragment in str(err.value)
    assert "\n" not in str(err.value)


def test_other_modality_name_is_rejected_with_a_hint():
    register(
        PerturbationType("testimg", "image", (Param("s", 1.0),), lambda spec, res: Perturbation(spec, lambda x, r: x))
    )
    with pytest.raises(UserError, match="'testimg' is an image perturbation"):
        parse_spec("testimg", "text")
    assert parse_spec("testimg:s=2", "image") == Spec("testimg", (("s", 2.0),))


def test_int_params_and_open_ranges():
    register(
        PerturbationType(
            "testint",
            "image",
            (Param("k", 3, int, 0, None), Param("f", 1.0, float, 0.0, 1.0, low_open=True)),
            lambda spec, res: Perturbation(spec, lambda x, r: x),
        )
    )
    assert parse_spec("testint:k=5", "image")["k"] == 5
    assert parse_spec("testint:k=5.0", "image").canonical == "testint:k=5,f=1"
    with pytest.raises(UserError, match="k must be an integer"):
        parse_spec("testint:k=2.5", "image")
    with pytest.raises(UserError, match=r"f must be a number in \(0, 1\]"):
        parse_spec("testint:f=0", "image")


def test_register_twice_is_refused():
    t = PerturbationType("testdup", "text", (), lambda spec, res: Perturbation(spec, lambda x, r: x))
    register(t)
    register(t)  # the same object again is fine (module reloads)
    with pytest.raises(ValueError):
        register(PerturbationType("testdup", "text", (), lambda spec, res: Perturbation(spec, lambda x, r: x)))


def test_build_applies_with_streams():
    p = build("delete:p=0.5", "text")
    a = p.apply(["one two three four five six"] * 2, [11, 11])
    assert a[0] == a[1]
