"""Robustness in the shipping workflow, over finished output directories (nothing is re-run):

* :mod:`.runs` — read a run directory (``run.json``, ``examples.jsonl``, ``report.json``);
* :mod:`.compare` — the paired comparison of two runs on the same draws;
* :mod:`.gates` — pass/fail gates decided on 95% intervals, with a JUnit XML report;
* :mod:`.card` — robustness results on a Hugging Face model card;
* :mod:`.html` — a self-contained ``report.html``.
"""
