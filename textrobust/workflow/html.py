"""A self-contained ``report.html`` of a finished run: one file, no network.

CSS and a few lines of JavaScript (click a column header of the per-example table to sort it)
are inline; figures are base64 PNGs; flipped images of vision runs are the records' PNG data
URIs. Built from the run directory alone (``run.json``, ``examples.jsonl``, ``report.json``);
for text runs the original sentences are read again from the run's dataset to show each flip
as a word diff (``<del>`` removed, ``<ins>`` added).
"""

from __future__ import annotations

import base64
import html
import tempfile
from pathlib import Path
from typing import Any, Callable

from textrobust.core.outputs import SUMMARY_HEADER, fmt_rate, summary_rows
from textrobust.core.stats import Rate
from textrobust.workflow.diff import html_diff
from textrobust.workflow.runs import Run, load_run

REPORT_HTML = "report.html"
FRAGILE_SHOWN = 25

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.8em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f0f4f8}table.sortable th{cursor:pointer}table.sortable th:after{content:" \\2195";color:#999}
td.num{text-align:right;font-variant-numeric:tabular-nums}img.fig{max-width:100%;border:1px solid #eee}
del{background:#fde0d0;color:#a03000}ins{background:#d6f0e0;color:#006040;text-decoration:none;font-weight:bold}
.meta{color:#555}.note{color:#555;font-size:.9em;max-width:60em}img.flip{image-rendering:pixelated;width:84px;height:84px}
"""

SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){th.addEventListener("click",function(){
    var b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.dir!=="asc";th.dataset.dir=asc?"asc":"desc";
    var key=function(r){var c=r.cells[i],v=c.dataset.sort!==undefined?c.dataset.sort:c.textContent;var x=parseFloat(v);return isNaN(x)?v:x;};
    rows.sort(function(p,q){var a=key(p),z=key(q);if(a===z)return 0;var o=(typeof a===typeof z)?(a<z?-1:1):(typeof a==="number"?-1:1);return asc?o:-o;});
    rows.forEach(function(r){b.appendChild(r);});});});});
"""


def _label_namer(run: Run) -> Callable[[Any], str]:
    """A label id as the report names it (``positive``), else the id itself (escaped); ``-1``,
    the prediction of an answer that names no label, as ``none (-1)``."""
    names = run.report.get("label_names") or []

    def name(value: Any) -> str:
        if isinstance(value, int) and 0 <= value < len(names):
            return _e(names[value])
        return "none (-1)" if value == -1 else _e(value)

    return name


def _e(value: Any) -> str:
    return html.escape(str(value))


def _table(
    header: list[str], rows: list[list[str]], *, sortable: bool = False, raw: bool = False, id_: str = ""
) -> str:
    """An HTML table; cells are escaped unless ``raw`` (then they are trusted HTML)."""
    cls = ' class="sortable"' if sortable else ""
    out = [
        f"<table{cls}{f' id={chr(34)}{id_}{chr(34)}' if id_ else ''}><thead><tr>"
        + "".join(f"<th>{_e(h)}</th>" for h in header)
        + "</tr></thead><tbody>"
    ]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>")
    return "".join(out) + "</tbody></table>"


def _figure(draw: Callable[[Path], Path], alt: str) -> str:
    """Run a plotting function into a temporary file and inline the PNG."""
    with tempfile.TemporaryDirectory() as tmp:
        path = draw(Path(tmp) / "figure.png")
        data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img class="fig" alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _rate(value: float | None, n: int, ci: list[float] | None) -> Rate:
    return Rate(round((value or 0.0) * n), n, value, tuple(ci) if ci else None)


def _page(title: str, body: list[str]) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        + "\n".join(body)
        + f"<script>{SORT_JS}</script></body></html>\n"
    )


def _eval_body(run: Run) -> list[str]:
    from textrobust.core.plots import plot_per_class, plot_survival
    from textrobust.core.report import build_eval_report

    r, s = run.report, run.settings
    specs = run.specs
    report = build_eval_report(
        run.records,
        specs,
        int(s["max_steps"]),
        model=run.model,
        dataset=str(r["dataset"]),
        split=r.get("split"),
        seed=int(r["seed"]),
        model_calls=int(r.get("model_calls", 0)),
        seconds=float(r.get("seconds", 0.0)),
    )
    c = report.clean_accuracy
    body = [
        f"<h1>Robustness report: {_e(run.model)}</h1>",
        f'<p class="meta">dataset <code>{_e(r["dataset"])}</code> split <code>{_e(r.get("split"))}</code>, '
        f"n = {report.n_examples}, seed {_e(r['seed'])}, max_steps {_e(r['max_steps'])}, {_e(r.get('model_calls'))} model calls; "
        f"clean accuracy <b>{_e(fmt_rate(c.value, c.ci))}</b> ({c.k}/{c.n})</p>",
        "<h2>Summary (95% intervals)</h2>",
        _table(["n", *SUMMARY_HEADER], [[str(report.n_examples), *row] for row in summary_rows(report)]),
        '<p class="note">Perturbed accuracy is on each example\'s first draw; delta = clean - perturbed accuracy with '
        "Tango's paired score interval; robust ratio = fraction of examples no draw flipped (clean mistakes count as not "
        "robust), with Clopper-Pearson intervals.</p>",
    ]
    if specs:
        curves = {p["spec"]: p["rpr"]["survival"] for p in r["perturbations"]}
        body += [
            "<h2>Survival curves</h2>",
            _figure(
                lambda path: plot_survival(curves, path, title="RPR survival", n=report.n_examples, clean=c.value),
                "survival curves with pointwise 95% bands",
            ),
            '<p class="note">Step 0 is the clean accuracy; shaded: pointwise Clopper-Pearson 95% bands.</p>',
        ]
        groups = {
            p["spec"]: {
                k: _rate(v, p["rpr"]["per_class_n"][k], p["rpr"]["per_class_ci95"][k])
                for k, v in p["rpr"]["per_class"].items()
            }
            for p in r["perturbations"]
        }
        body += [
            "<h2>Robust ratio per class</h2>",
            _figure(
                lambda path: plot_per_class(groups, path, title="Robust ratio per class"), "per-class robust ratio"
            ),
        ]
    body += _validity_section(r.get("validity"))
    body += _fragile_section(run, report)
    body += _examples_table(run)
    return body


def _markdown_diff_html(diff: str) -> str:
    """A validity word diff (``~~removed~~ **added**``) as HTML with ``<del>``/``<ins>``."""
    import re

    text = _e(diff)
    text = re.sub(r"~~(.+?)~~", r"<del>\1</del>", text)
    return re.sub(r"\*\*(.+?)\*\*", r"<ins>\1</ins>", text)


def _validity_section(validity: dict | None) -> list[str]:
    """The report's validity evidence: what the draws changed, how similar they stay, the first flips."""
    if not validity or not validity.get("perturbations"):
        return []

    def similarity(summary: dict | None) -> str:
        if not summary:
            return "n/a"
        return (
            f"mean {summary['mean']:.3f}, q05 {summary['q05']:.3f}, median {summary['q50']:.3f}, "
            f"min {summary['min']:.3f} (n={summary['n']})"
        )

    rows = []
    for spec, v in validity["perturbations"].items():
        rows.append(
            [
                spec,
                f"{fmt_rate(v['changed_share'], v.get('changed_share_ci95'))} (n={v['n_draws']})",
                "n/a" if v.get("mean_edits") is None else f"{v['mean_edits']:.2f}",
                similarity(v.get("similarity_changed")),
                similarity(v.get("similarity_first_flips")),
            ]
        )
    body = [
        "<h2>Validity evidence</h2>",
        '<p class="note">Do the perturbations keep the label? Share of draws that changed the input (Clopper-Pearson 95% '
        "interval), mean word edits per draw, and the similarity of changed draws and of first flips to their "
        f"originals ({_e(validity.get('similarity') or 'similarity not measured')}). See "
        "docs/perturbations-validity.md.</p>",
        _table(
            ["perturbation", "draws changed", "word edits per draw", "similarity (draws)", "similarity (first flips)"],
            rows,
        ),
    ]
    if validity.get("similarity_unavailable"):
        body.append(f'<p class="note">Similarity not measured: {_e(validity["similarity_unavailable"])}</p>')
    for spec, v in validity["perturbations"].items():
        flips = v.get("first_flips") or []
        if not flips:
            continue
        shown = [
            [
                _e(f["index"]),
                _e(f["first_flip"]),
                "n/a" if f.get("similarity") is None else f"{f['similarity']:.3f}",
                _markdown_diff_html(f["diff"]),
            ]
            for f in flips[:FRAGILE_SHOWN]
        ]
        body += [
            f"<h3>{_e(spec)}: first flips as word diffs ({len(flips)}, most fragile first)</h3>",
            _table(["index", "first flip (draw)", "similarity", "diff"], shown, raw=True),
        ]
    return body


def _fragile_section(run: Run, report: Any) -> list[str]:
    texts = run.source_texts() if run.task == "eval" else None
    label = _label_namer(run)
    body = ["<h2>Fragile examples (flipped soonest)</h2>"]
    if run.task == "eval" and texts is None:
        body.append(
            '<p class="note">The original texts could not be read again; the flipped inputs are shown as they are.</p>'
        )
    for spec in run.specs:
        fragile = report.fragile(spec, FRAGILE_SHOWN)
        body.append(
            f"<h3>{_e(spec)}: {sum(1 for x in run.records if (x['first_flip'].get(spec) or 0) > 0)} flipped examples</h3>"
        )
        if not fragile:
            body.append("<p>None flipped.</p>")
            continue
        rows = []
        for rec in fragile:
            if run.task == "vision-eval":
                uri = (rec.get("flipped_image") or {}).get(spec)
                shown = (
                    f'<img class="flip" alt="flipped image {_e(rec["index"])}" src="{_e(uri)}">'
                    if uri and str(uri).startswith("data:image/png;base64,")
                    else "(not stored)"
                )
            else:
                flipped = (rec.get("flipped_text") or {}).get(spec) or ""
                original = texts.get(rec["index"]) if texts else None
                shown = html_diff(original, flipped) if original is not None else _e(flipped)
            rows.append([_e(rec["index"]), label(rec["label"]), _e(rec["first_flip"][spec]), shown])
        body.append(_table(["index", "label", "first flip (draw)", "first flipping input"], rows, raw=True))
    return body


def _examples_table(run: Run) -> list[str]:
    specs = run.specs
    label = _label_namer(run)
    max_steps = int(run.settings["max_steps"])
    rows = []
    for rec in run.records:
        cells = [_e(rec["index"]), label(rec["label"]), label(rec["clean_prediction"])]
        for spec in specs:
            ff = rec["first_flip"][spec]
            cells.append(f'<span data-sort="{max_steps + 1}">robust</span>' if ff is None else _e(ff))
        rows.append(cells)
    header = ["index", "label", "clean prediction", *[f"first flip: {s}" for s in specs]]
    table = _table(header, rows, sortable=True, raw=True, id_="examples")
    # data-sort must sit on the cell for the sorter: move it from the span
    table = table.replace('<td><span data-sort="', '<td data-sort="').replace('">robust</span></td>', '">robust</td>')
    return [
        "<h2>Per example</h2>",
        '<p class="note">Click a column header to sort. first flip: the first draw the model '
        "got wrong (0: the clean input is already wrong; robust: no draw flipped it).</p>",
        table,
    ]


def _certify_body(run: Run) -> list[str]:
    from textrobust.core.plots import plot_certified_accuracy

    r, s = run.report, run.settings
    n = int(r["n_examples"])
    rows = [
        ["clean accuracy", fmt_rate(r["clean_accuracy"], r.get("clean_accuracy_ci95"))],
        ["smoothed accuracy", fmt_rate(r["smoothed_accuracy"], r.get("smoothed_accuracy_ci95"))],
        ["abstain rate", fmt_rate(r["abstain_rate"], r.get("abstain_rate_ci95"))],
    ]
    rows += [
        [f"certified accuracy, radius >= {k}", fmt_rate(v, r["certified_accuracy_ci95"][k])]
        for k, v in r["certified_accuracy"].items()
    ]
    rows.append(["median radius", "n/a" if r.get("median_radius") is None else f"{r['median_radius']:g}"])
    curve = {int(k): _rate(v, n, r["certified_accuracy_ci95"][k]) for k, v in r["certified_accuracy"].items()}
    label = f"{r.get('procedure')}, p_del = {r.get('p_del')}, alpha = {r.get('alpha')}"
    body = [
        f"<h1>Certified robustness: {_e(run.model)}</h1>",
        f'<p class="meta">dataset <code>{_e(r["dataset"])}</code> split <code>{_e(r.get("split"))}</code>, n = {n}, '
        f"p_del {_e(r.get('p_del'))}, alpha {_e(r.get('alpha'))}, seed {_e(s.get('seed'))}, {_e(r.get('model_calls'))} model calls</p>",
        "<h2>Summary (95% Clopper-Pearson intervals, n = " + str(n) + ")</h2>",
        _table(["metric", "value [95% CI]"], rows),
        "<h2>Certified accuracy</h2>",
        _figure(
            lambda path: plot_certified_accuracy({label: curve}, path, title=f"{run.model} (n = {n})"),
            "certified accuracy curve",
        ),
        '<p class="note">Fraction of examples predicted correctly with a certified Levenshtein radius of at least r; '
        "shaded and bars: Clopper-Pearson 95% intervals. Each certificate holds with probability at least 1 - alpha.</p>",
    ]
    ex = []
    for rec in run.records:
        ex.append(
            [
                _e(rec["index"]),
                _e(rec["label"]),
                _e(rec["clean_prediction"]),
                "abstain" if rec["prediction"] is None else _e(rec["prediction"]),
                _e(rec["radius"]),
                f"{rec['p_lower']:.4f}" if rec.get("p_lower") is not None else "",
                _e(rec.get("exact")),
                _e(rec.get("model_calls")),
            ]
        )
    body += [
        "<h2>Per-example radii</h2>",
        '<p class="note">Click a column header to sort.</p>',
        _table(
            [
                "index",
                "label",
                "clean prediction",
                "smoothed prediction",
                "certified radius",
                "p lower",
                "exact",
                "model calls",
            ],
            ex,
            sortable=True,
            raw=True,
            id_="examples",
        ),
    ]
    return body


def build_html(run: Run) -> str:
    """The report page of ``run`` as one HTML string."""
    body = _certify_body(run) if run.task == "certify" else _eval_body(run)
    return _page(f"textrobust report: {run.model}", body)


def write_report_html(directory: str | Path, source_texts: dict | None = None) -> Path:
    """Build ``report.html`` in the finished run ``directory``; return its path. ``source_texts``
    (the original inputs by example index, where the caller has them) spare reading the dataset
    again for the word diffs; the page is the same either way."""
    run = load_run(directory)
    if source_texts is not None and run.task == "eval":
        run.use_source_texts(source_texts)
    path = Path(directory) / REPORT_HTML
    path.write_text(build_html(run), encoding="utf-8")
    return path


def with_html_report(write: Callable[[Any, Path], dict]) -> Callable[[Any, Path], dict]:
    """``write`` (a report's file writer), followed by ``report.html`` of the run directory."""

    def write_both(report: Any, directory: Path) -> dict:
        paths = write(report, directory)
        paths["report.html"] = write_report_html(Path(directory), getattr(report, "source_texts", None))
        return paths

    return write_both
