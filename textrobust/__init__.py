"""textrobust: how robust is a classifier to random perturbations of its inputs?

Public API::

    import textrobust
    report = textrobust.evaluate("path/to/model", dataset="sst2", perturbations=["delete:p=0.1"], limit=200)
    print(report.to_json())
    certified = textrobust.certify("path/to/model", dataset="sst2", p_del=0.9)

The long tail of options goes through two objects, :class:`DataOptions` (which rows) and
:class:`RunOptions` (how to run), or their fields as keywords.

Heavy imports (torch, transformers, datasets) happen on first use, not on ``import textrobust``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = [
    "evaluate",
    "certify",
    "DataOptions",
    "RunOptions",
    "EvalReport",
    "CertifyReport",
    "UserError",
    "__version__",
]

from textrobust.errors import UserError


def __getattr__(name: str) -> Any:
    if name == "evaluate":
        from textrobust.evaluation import evaluate

        return evaluate
    if name == "certify":
        from textrobust.certification.api import certify

        return certify
    if name in ("DataOptions", "RunOptions"):
        from textrobust.core import options

        return getattr(options, name)
    if name == "CertifyReport":
        from textrobust.certification.report import CertifyReport

        return CertifyReport
    if name == "EvalReport":
        from textrobust.core.report import EvalReport

        return EvalReport
    raise AttributeError(f"module 'textrobust' has no attribute {name!r}")
