"""Classifiers of any kind as engine classifiers: Python callables, ``transformers`` pipelines,
scikit-learn estimators, prompted causal language models and HTTP endpoints.

:func:`~textrobust.classifiers.resolve.resolve_classifier` turns ``model=`` into one; see
``docs/models.md`` for each kind, the label rules and how remote calls are made.
"""

from textrobust.classifiers.labels import UNPARSEABLE
from textrobust.classifiers.options import ModelOptions
from textrobust.classifiers.resolve import model_options, resolve_classifier

__all__ = ["UNPARSEABLE", "ModelOptions", "model_options", "resolve_classifier"]
