"""The ``textrobust`` program's own process settings (glibc malloc thresholds)."""

from __future__ import annotations

import ctypes
import os
import platform
import sys

import pytest

from textrobust.cli import app as cli_app
from textrobust.cli import process

glibc = platform.libc_ver()[0] == "glibc"


def _clear_malloc_env(monkeypatch):
    for name in [n for n in list(os.environ) if n.startswith("MALLOC_") or n == "GLIBC_TUNABLES"]:
        monkeypatch.delenv(name)
    monkeypatch.delenv(process.OPT_OUT, raising=False)


@pytest.mark.skipif(not glibc, reason="malloc thresholds are a glibc setting")
def test_the_thresholds_are_set_on_glibc_unless_the_user_chose(monkeypatch):
    _clear_malloc_env(monkeypatch)
    assert process.tune_malloc() is True
    monkeypatch.setenv("MALLOC_ARENA_MAX", "2")  # the user's own glibc settings win
    assert process.tune_malloc() is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setenv(process.OPT_OUT, "0")
    assert process.tune_malloc() is False


def test_nothing_is_done_where_the_c_library_is_not_glibc(monkeypatch):
    _clear_malloc_env(monkeypatch)

    class OtherLibc:  # a C library without gnu_get_libc_version (musl, macOS)
        def __getattr__(self, name):
            raise AttributeError(name)

    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: OtherLibc())
    assert process.tune_malloc() is False


def test_the_program_sets_up_its_process_and_callers_passing_arguments_do_not(monkeypatch):
    calls = []
    monkeypatch.setattr(cli_app, "tune_malloc", lambda: calls.append(1) or True)
    assert cli_app.main(["perturbations"]) == 0
    assert calls == []
    monkeypatch.setattr(sys, "argv", ["textrobust", "perturbations"])
    assert cli_app.main() == 0
    assert calls == [1]


def test_version_is_printed_and_exits_0(capsys):
    import textrobust
    from textrobust.cli import main

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"textrobust {textrobust.__version__}\n"
