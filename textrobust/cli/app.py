"""The ``textrobust`` command line: the typer app, every command registered here explicitly,
and :func:`main`, which turns bad input into one line on stderr and exit code 2."""

from __future__ import annotations

import sys
import warnings

import click
import typer

import vision.cli as vision_cli
from textrobust.cli import card_cmd, certify_cmd, check_cmd, compare_cmd, eval_cmd, inspect_cmd, report_cmd
from textrobust.cli.process import tune_malloc
from textrobust.core.options import OptionError
from textrobust.errors import UserError

app = typer.Typer(
    name="textrobust",
    help="Measure how robust a classifier is to random perturbations of its inputs (RPR).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from textrobust import __version__

        typer.echo(f"textrobust {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Measure how robust a classifier is to random perturbations of its inputs (RPR)."""


app.command("eval")(eval_cmd.eval_command)
app.command("certify")(certify_cmd.certify_command)
app.command("perturbations")(eval_cmd.perturbations_command)
app.command("inspect")(inspect_cmd.inspect_command)
app.command("compare")(compare_cmd.compare_command)
app.command("check")(check_cmd.check_command)
app.command("card")(card_cmd.card_command)
app.command("report")(report_cmd.report_command)

vision_app = typer.Typer(
    name="vision",
    help="Image classifiers: RPR under pixel noise and weather, and the RPR paper's MNIST reproduction.",
    no_args_is_help=True,
    add_completion=False,
)
vision_app.command("eval")(vision_cli.eval_command)
vision_app.command("certify")(vision_cli.certify_command)
vision_app.command("reproduce")(vision_cli.reproduce_command)
app.add_typer(vision_app, name="vision")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input). Called without ``argv`` (as the
    ``textrobust`` program), it first sets up its process (:func:`~textrobust.cli.process.tune_malloc`).

    Under a launcher (``accelerate launch``, ``torchrun``) every process runs this; warnings
    are shown by the main process only, and so is an error that every process raised
    (:meth:`~textrobust.core.distributed.ProcessGroup.first_error`): one line, exit 2 each.
    Such a process ends here rather than returning (:func:`~textrobust.core.distributed.end_distributed_process`).
    """
    from textrobust.core.distributed import end_distributed_process

    if argv is None:  # the program itself (not a caller passing arguments): its process is ours to set up
        tune_malloc()
    code = _run(argv)
    end_distributed_process(code)
    return code


def _run(argv: list[str] | None) -> int:
    from textrobust.core.distributed import launcher_rank

    main_process = launcher_rank() == 0
    warnings.showwarning = _one_line_warning if main_process else lambda *a, **k: None
    try:
        result = app(args=argv, prog_name="textrobust", standalone_mode=False)
    except UserError as e:
        # every process raises an error from first_error, or from the options it parsed: print it once
        if main_process or not (getattr(e, "reported_on_main", False) or isinstance(e, OptionError)):
            print(f"error: {e}", file=sys.stderr)
        return 2
    except (typer.Exit, click.exceptions.Exit) as e:
        return int(getattr(e, "exit_code", 0) or 0)
    except (typer.Abort, click.Abort, KeyboardInterrupt):
        print("aborted", file=sys.stderr)
        return 130
    except _CLI_ERRORS as e:  # usage errors: bad option names or values
        message = " ".join(e.format_message().split())
        if message and main_process:  # every process parses the same arguments; "" = help shown
            print(f"error: {message}", file=sys.stderr)
        return int(getattr(e, "exit_code", 2) or 2)
    return result if isinstance(result, int) else 0


# typer vendors its own click; older versions use the click package: catch both
_CLI_ERRORS = tuple({click.ClickException, getattr(typer.exceptions, "TyperException", click.ClickException)})
