"""A scikit-learn-style estimator over raw text (a ``Pipeline`` of a vectorizer and a
classifier, a SetFit model, ...) as an engine classifier, and loading one from a file.

Predictions are the estimator's own ``predict`` (its decision, which for some estimators is
not the argmax of ``predict_proba``); an estimator with only ``predict_proba`` is scored by
its highest probability. ``classes_`` says what the predictions are: label names are matched
to the dataset's by name, integer classes are dataset label ids.

Files: the skops format (``.skops``) loads only types it trusts, so it is the default; a
pickle or joblib file runs code when loaded, so it needs ``trust_pickle`` (``--trust-pickle``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from textrobust.classifiers.callable import FunctionClassifier
from textrobust.classifiers.labels import label_map
from textrobust.errors import UserError


def is_estimator(obj: Any) -> bool:
    """Whether ``obj`` looks like a fitted scikit-learn classifier (``predict`` or ``predict_proba``)."""
    return callable(getattr(obj, "predict", None)) or callable(getattr(obj, "predict_proba", None))


def sklearn_classifier(
    estimator: Any,
    *,
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
    name: str | None = None,
) -> FunctionClassifier:
    """A :class:`FunctionClassifier` calling ``estimator.predict`` (or ``predict_proba``) on raw texts."""
    classes = getattr(estimator, "classes_", None)
    if classes is None and hasattr(estimator, "steps"):
        classes = getattr(estimator.steps[-1][1], "classes_", None)
    numeric = classes is not None and all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in classes)
    if classes is not None and not numeric:
        labels = label_map([str(c) for c in classes], dataset_label_names, dataset_labels)
    else:
        labels = label_map(None, dataset_label_names, dataset_labels)
    has_predict = callable(getattr(estimator, "predict", None))
    if not has_predict and classes is None:
        raise UserError("an estimator with only predict_proba needs classes_ to say what its columns are")

    def predict(texts: list[str]) -> Any:
        if has_predict:
            if classes is None:  # ids, names or a tensor of ids (SetFit): the label map reads them
                return estimator.predict(texts)
            out = np.asarray(estimator.predict(texts))
            return [int(x) for x in out] if numeric else [str(x) for x in out]
        proba = np.asarray(estimator.predict_proba(texts))
        return [int(x) if numeric else str(x) for x in np.asarray(classes)[proba.argmax(axis=1)]]

    return FunctionClassifier(predict, labels, name or f"sklearn:{type(estimator).__name__}")


def load_estimator(path: str | os.PathLike, *, trust_pickle: bool = False) -> Any:
    """The estimator saved at ``path``: skops (trusted types only), or pickle/joblib with ``trust_pickle``."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"scikit-learn model file not found: {str(path)!r}")
    if file.suffix == ".skops":
        try:
            import skops.io as sio
        except ImportError:
            raise UserError(
                "sklearn:<file>.skops needs skops and scikit-learn: pip install 'textrobust[sklearn]'"
            ) from None

        try:
            untrusted = sio.get_untrusted_types(file=str(file))
        except Exception as e:  # not a skops file
            raise UserError(f"{str(path)!r} is not a readable skops file: {e}") from None
        if untrusted and not trust_pickle:
            raise UserError(
                f"{str(path)!r} holds types skops does not trust by default ({', '.join(untrusted[:5])}); "
                "check them and pass --trust-pickle to load it anyway"
            )
        return sio.load(str(file), trusted=untrusted or None)
    if not trust_pickle:
        raise UserError(
            f"{str(path)!r} is a pickle/joblib file, and loading one runs arbitrary code: save the model with "
            "skops (skops.io.dump) or, if you trust the file, pass --trust-pickle"
        )
    import joblib

    try:
        return joblib.load(str(file))
    except Exception as e:
        raise UserError(f"cannot load {str(path)!r} with joblib: {type(e).__name__}: {e}") from None
