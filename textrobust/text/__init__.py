"""Text modality: word-level perturbations, synonym sources, Hugging Face text classifiers
and text datasets. Importing it registers the text perturbations with the core registry."""

from textrobust.text import perturbations as _perturbations  # noqa: F401  (registers)
