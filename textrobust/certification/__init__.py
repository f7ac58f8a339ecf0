"""Certified robustness by randomized deletion smoothing (RS-Del / CERT-ED): ``textrobust certify``.

Modules, one idea each:

* :mod:`~textrobust.certification.theorem` — the RS-Del edit-distance theorem and the radius formula;
* :mod:`~textrobust.certification.bounds` — Clopper-Pearson bounds, Bonferroni, the look schedule;
* :mod:`~textrobust.certification.deletion` — the deletion distribution by strata of kept elements;
* :mod:`~textrobust.certification.certificate` — one example's certificate and shared settings;
* :mod:`~textrobust.certification.reference` — CERT-ED's procedure (the reference);
* :mod:`~textrobust.certification.job` — the fast procedure (dedup, exact strata, sequential looks);
* :mod:`~textrobust.certification.report` / :mod:`~textrobust.certification.outputs` — aggregates and files;
* :mod:`~textrobust.certification.api` — :func:`textrobust.certify`.
"""
