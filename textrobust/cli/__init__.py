"""The ``textrobust`` command line. Every command is a thin layer over the Python API.

Errors in what the user gave (paths, columns, labels, specs, option values) end with one line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import sys
import warnings

import click
import typer

from textrobust.errors import UserError

app = typer.Typer(
    name="textrobust",
    help="Measure how robust a classifier is to random perturbations of its inputs (RPR).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Commands register themselves on `app` when imported.
from textrobust.cli import eval_cmd  # noqa: E402,F401
from vision.cli import vision_app  # noqa: E402

app.add_typer(vision_app, name="vision")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input)."""
    warnings.showwarning = _one_line_warning
    try:
        result = app(args=argv, prog_name="textrobust", standalone_mode=False)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except click.UsageError as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        return 2
    except (click.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except click.ClickException as e:
        print(f"error: {e.format_message()}", file=sys.stderr)
        return e.exit_code
    return result if isinstance(result, int) else 0
