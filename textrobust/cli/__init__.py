"""The ``textrobust`` command line. Every command is a thin layer over the Python API.

Errors in what the user gave (paths, columns, labels, specs, option values) end with one line
on stderr and exit code 2, never a traceback. The app and its commands are in
:mod:`textrobust.cli.app`; importing this package loads neither.
"""

from __future__ import annotations


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 a failed gate, 2 bad input)."""
    from textrobust.cli.app import main as run

    return run(argv)
