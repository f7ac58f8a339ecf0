"""Hugging Face helpers that text and vision share: loading labelled splits with ``datasets``
(:mod:`~textrobust.hf.data`), Hub names, aliases and one-line offline errors
(:mod:`~textrobust.hf.hub`), and what every model adapter needs: device, dtype and the
mapping of a model's labels to a dataset's (:mod:`~textrobust.hf.modeling`).
"""
