"""Certified robustness by randomized deletion (RS-Del / CERT-ED): ``textrobust certify``.

Modules, one idea each:

* :mod:`~textrobust.certify.theorem` — the RS-Del edit-distance theorem and the radius formula;
* :mod:`~textrobust.certify.bounds` — Clopper-Pearson bounds, Bonferroni, the look schedule;
* :mod:`~textrobust.certify.deletion` — the deletion distribution by strata of kept elements;
* :mod:`~textrobust.certify.certificate` — one example's certificate and shared settings;
* :mod:`~textrobust.certify.reference` — CERT-ED's procedure (the reference);
* :mod:`~textrobust.certify.job` — the fast procedure (dedup, exact strata, sequential looks);
* :mod:`~textrobust.certify.report` / :mod:`~textrobust.certify.outputs` — aggregates and files;
* :mod:`~textrobust.certify.api` — ``textrobust.certify(...)``.

The package itself is callable: ``textrobust.certify(model, tokenizer, dataset, p_del=...)`` is
:func:`textrobust.certify.api.certify` (a plain function of that name could not live beside the
subpackage: importing the subpackage would replace it).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from textrobust.certify.api import certify

        return certify(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
