"""The one exception type that means "the user gave bad input".

The CLI turns a :class:`UserError` into a single line on stderr and exit code 2;
the Python API lets it propagate. Anything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """Bad input (path, column, label set, perturbation spec, option value).

    The message is one readable line that says what is wrong and, where it helps,
    what would be accepted instead.
    """


class TextrobustWarning(UserWarning):
    """Something worth one line to the user, that does not stop the run."""
