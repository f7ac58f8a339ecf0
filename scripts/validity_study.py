"""Validity study: ``synonym`` unconstrained vs constrained (docs/validity-study.md).

SST-2 validation (first N sentences) with ../shared/models/minilm-l6-sst2: robust ratios under both,
candidate counts, similarity distributions, and a blind sample of first flips (shuffled, condition
hidden) to judge by hand. AG News test (a seeded sample): candidate counts and draw similarities
only (the shared model is a sentiment model, so no robust ratio there).

    PYTHONPATH=$PWD TEXTROBUST_ENCODER=../shared/models/all-minilm-l6-v2 python scripts/validity_study.py
    # then judge docs/bench/validity_blind_sample.md into validity_blind_judgements.json, and:
    PYTHONPATH=$PWD python scripts/validity_study.py --summarise

Second round (docs/validity-study.md, "More first flips"): ``--sst2-extend 200`` runs the
constrained default on SST-2 validation rows 200.. (and the unconstrained one on the first
``--decoys`` of them, so that the blind sample mixes conditions); ``--ag-news-model tfidf`` trains
a TF-IDF + logistic-regression classifier on a seeded part of the AG News test split (no train
split is shared) and runs both conditions on held-out articles. Each writes its own JSON, blind
sample and key (``validity_<name>.json``, ``validity_blind_<name>_sample.md``/``_key.json``);
judge into ``validity_blind_<name>_judgements.json`` and ``--summarise --round <name>``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

import numpy as np

from textrobust.core.perturbation import build, parse_spec
from textrobust.evaluation import evaluate
from textrobust.text.candidates import _SOURCES
from textrobust.text.data import load_text_examples
from textrobust.text.synonyms import from_file
from textrobust.text.validity import text_validity
from textrobust.text.words import split_affixes

ROOT = Path(__file__).resolve().parents[1]
SPECS = {"unconstrained": "synonym:p=0.1,constrained=0", "constrained": "synonym:p=0.1"}


def candidate_counts(texts, synonyms, spec):
    """Per text: words with >= 1 candidate, and candidates in all; and seconds spent."""
    p = build(spec, "text", {"synonyms": synonyms})
    source = p.candidates
    started = time.perf_counter()
    words_with, total = [], []
    for t in texts:
        if source is None:
            opts = [synonyms(split_affixes(w)[1]) if split_affixes(w)[1] else () for w in t.split()]
        else:
            opts = source(t)
        words_with.append(sum(1 for o in opts if o))
        total.append(sum(len(o) for o in opts))
    seconds = time.perf_counter() - started
    out = {
        "texts": len(texts),
        "mean_words_with_candidates": float(np.mean(words_with)),
        "mean_candidates_per_text": float(np.mean(total)),
        "texts_without_candidates": int(sum(1 for w in words_with if w == 0)),
        "seconds": seconds,
    }
    if source is not None:
        out["encoder_batches"] = getattr(source.encoder, "calls", None)
        out["seconds_per_text"] = seconds / len(texts)
    return out, p


def judged_summary(out: Path, name: str = "") -> dict:
    """Per condition: first flips judged, how many keep the label (K) and the share with its
    Clopper-Pearson 95% interval, from the blind key and the reader's judgements in ``out``."""
    from textrobust.core.stats import rate

    stem = f"validity_blind_{name}_" if name else "validity_blind_"
    key = json.loads((out / f"{stem}key.json").read_text())
    judged = json.loads((out / f"{stem}judgements.json").read_text())["judgements"]
    summary = {}
    for cond in SPECS:
        items = [k for k in key if k["condition"] == cond]
        if not items:
            continue
        keep = rate(sum(judged[str(k["item"])] == "K" for k in items), len(items))
        summary[cond] = {"judged": keep.n, "keep": keep.k, "keep_share": keep.value, "keep_share_ci95": keep.ci}
    return summary


def run_condition(model, dataset, spec, synonyms, max_steps, batch_size, **kw) -> tuple[dict, dict, list, object]:
    """One RPR run: the perturbation's JSON (with seconds), its validity section without the
    flips, its first flips, and the report."""
    started = time.perf_counter()
    report = evaluate(
        model, None, dataset, [spec], max_steps=max_steps, seed=0, synonyms=synonyms, batch_size=batch_size, **kw
    )
    canon = report.perturbations[0].spec
    rpr = report.perturbations[0].to_json() | {"seconds": time.perf_counter() - started}
    v = report.extra["validity"]["perturbations"][canon]
    return rpr, {k: v[k] for k in v if k != "first_flips"}, v["first_flips"], report


def write_blind(out: Path, name: str, title: str, question: str, flips: dict, n: int, labels, row_of) -> dict:
    """Up to ``n`` first flips per condition (seed 0), shuffled together, condition hidden:
    ``validity_blind_<name>_sample.md`` to read and ``validity_blind_<name>_key.json`` (condition,
    dataset row, label, diff) to open after judging. Returns the counts drawn per condition."""
    rng = random.Random(0)
    sample = []
    for cond, mine in flips.items():
        sample += [{"condition": cond, **f} for f in rng.sample(mine, min(n, len(mine)))]
    rng.shuffle(sample)
    lines = [f"# {title}", "", question, ""]
    key = []
    for k, f in enumerate(sample, 1):
        lines.append(f"{k}. [{labels[f['label']]}] {f['diff']}")
        key.append(
            {"item": k, "condition": f["condition"], "row": row_of(f["index"]), "label": f["label"], "diff": f["diff"]}
        )
    (out / f"validity_blind_{name}_sample.md").write_text("\n".join(lines) + "\n")
    (out / f"validity_blind_{name}_key.json").write_text(json.dumps(key, indent=1) + "\n")
    return {cond: sum(1 for f in sample if f["condition"] == cond) for cond in flips}


def parquet_split(path: Path):
    import datasets

    return datasets.load_dataset("parquet", data_files={"split": str(path)}, split="split")


def measure_condition(cond: str, model, ds, texts, synonyms, max_steps: int, batch_size: int):
    """One condition of a round: candidate counts, RPR figures, validity evidence and clean
    accuracy of ``model`` on ``ds`` (``texts``: its text column), and the first flips."""
    _SOURCES.clear()
    counts, _ = candidate_counts(list(texts), synonyms, SPECS[cond])
    rpr, validity, flips, report = run_condition(model, ds, SPECS[cond], synonyms, max_steps, batch_size)
    print(cond, json.dumps(rpr)[:400], flush=True)
    entry = {
        "texts": len(ds),
        "candidates": counts,
        "rpr": rpr,
        "validity": validity,
        "clean_accuracy": report.clean_accuracy.to_json(),
    }
    return entry, flips


def sst2_extension(args, shared: Path, synonyms, out: Path) -> None:
    """The constrained default on SST-2 validation rows ``--sst2-extend``.. (all of them), the
    unconstrained one on the first ``--decoys`` of those rows, and a blind sample mixing both."""
    start = args.sst2_extend
    full = parquet_split(shared / "data/sst2/validation-00000-of-00001.parquet")
    rows = full.select(range(start, len(full)))
    decoys = rows.select(range(min(args.decoys, len(rows))))
    model = str(shared / "models/minilm-l6-sst2")
    result = {"settings": vars(args) | {"rows": [start, len(full)], "decoy_rows": [start, start + len(decoys)]}}
    flips = {}
    for cond, ds in (("constrained", rows), ("unconstrained", decoys)):
        result[cond], flips[cond] = measure_condition(cond, model, ds, ds["sentence"], synonyms, args.max_steps, 64)
    result["blind_drawn"] = write_blind(
        out,
        "sst2ext",
        f"Blind sample of first flips (SST-2 validation rows {start}..{len(full) - 1})",
        "Judge: does the perturbed sentence still carry the original label? (K = keeps, C = changes/unclear)",
        flips,
        args.blind,
        ["negative", "positive"],
        lambda i: start + i,
    )
    (out / "validity_sst2ext.json").write_text(json.dumps(result, indent=2) + "\n")


AG_LABELS = ["World", "Sports", "Business", "Sci/Tech"]


def ag_news_tfidf(args, shared: Path, synonyms, out: Path) -> None:
    """A TF-IDF + logistic-regression AG News classifier trained on ``--ag-train`` articles of
    the shared test split (a seed-0 permutation; no train split is shared), evaluated on the next
    ``--ag-held`` articles of that permutation under both conditions, with a blind sample."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from textrobust.core.stats import rate

    full = parquet_split(shared / "data/ag_news/test-00000-of-00001.parquet")
    perm = np.random.default_rng(0).permutation(len(full))
    train_rows = [int(i) for i in perm[: args.ag_train]]
    held_rows = [int(i) for i in perm[args.ag_train : args.ag_train + args.ag_held]]
    rest_rows = [int(i) for i in perm[args.ag_train :]]
    train = full.select(train_rows)
    started = time.perf_counter()
    clf = make_pipeline(
        TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2), LogisticRegression(C=10.0, max_iter=2000)
    ).fit(list(train["text"]), list(train["label"]))
    rest = full.select(rest_rows)
    acc_rest = rate(int(np.sum(clf.predict(list(rest["text"])) == np.array(rest["label"]))), len(rest))
    result = {
        "settings": vars(args)
        | {
            "model": "TfidfVectorizer(sublinear_tf, 1-2 grams, min_df=2) + LogisticRegression(C=10)",
            "train_rows": len(train_rows),
            "held_rows": len(held_rows),
        },
        "fit_seconds": time.perf_counter() - started,
        "accuracy_all_remaining": {"n": acc_rest.n, "k": acc_rest.k, "value": acc_rest.value, "ci95": acc_rest.ci},
        "held_row_ids": held_rows,
    }
    held = full.select(held_rows)
    flips = {}
    for cond in SPECS:
        result[cond], flips[cond] = measure_condition(cond, clf, held, held["text"], synonyms, args.max_steps, 512)
    result["blind_drawn"] = write_blind(
        out,
        "agnews",
        "Blind sample of first flips (AG News, held-out test articles, TF-IDF classifier)",
        "Judge: does the perturbed article still carry the original topic? (K = keeps, C = changes/unclear)",
        flips,
        args.blind,
        AG_LABELS,
        lambda i: held_rows[i],
    )
    (out / "validity_agnews.json").write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("TEXTROBUST_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--sst2-n", type=int, default=200)
    ap.add_argument("--ag-n", type=int, default=300)
    ap.add_argument("--max-steps", type=int, default=250)
    ap.add_argument("--blind", type=int, default=50)
    ap.add_argument("--out", default=str(ROOT / "docs/bench"))
    ap.add_argument(
        "--sst2-extend",
        type=int,
        default=None,
        metavar="START",
        help="only the second SST-2 round: constrained on validation rows START.. (see the docstring)",
    )
    ap.add_argument("--decoys", type=int, default=100, help="unconstrained rows mixed into --sst2-extend's sample")
    ap.add_argument(
        "--ag-news-model",
        choices=["tfidf"],
        default=None,
        help="only the AG News round with a TF-IDF classifier trained on part of the test split",
    )
    ap.add_argument("--ag-train", type=int, default=6000)
    ap.add_argument("--ag-held", type=int, default=400)
    ap.add_argument("--round", default="", help="with --summarise: sst2ext or agnews (default: the first round)")
    ap.add_argument(
        "--summarise",
        action="store_true",
        help="only summarise the blind judgements (validity_blind_judgements.json, written by the reader) in --out",
    )
    args = ap.parse_args()
    shared = Path(args.shared)
    out = Path(args.out)
    if args.summarise:
        print(json.dumps(judged_summary(out, args.round), indent=1))
        return
    out.mkdir(parents=True, exist_ok=True)
    synonyms = from_file(shared / "data/wordnet/oewn_synonyms.json")
    if args.sst2_extend is not None or args.ag_news_model:
        if args.sst2_extend is not None:
            sst2_extension(args, shared, synonyms, out)
        if args.ag_news_model:
            ag_news_tfidf(args, shared, synonyms, out)
        return
    result = {"settings": vars(args) | {"specs": {k: parse_spec(v, "text").canonical for k, v in SPECS.items()}}}

    sst = load_text_examples(str(shared / "data/sst2"), split="validation", limit=args.sst2_n)
    result["sst2"] = {"candidates": {}, "rpr": {}, "validity": {}}
    flips = []
    for cond, spec in SPECS.items():
        _SOURCES.clear()
        result["sst2"]["candidates"][cond], _ = candidate_counts(sst.texts, synonyms, spec)
        started = time.perf_counter()
        report = evaluate(
            str(shared / "models/minilm-l6-sst2"),
            None,
            str(shared / "data/sst2"),
            [spec],
            split="validation",
            limit=args.sst2_n,
            max_steps=args.max_steps,
            seed=0,
            synonyms=synonyms,
            batch_size=64,
        )
        canon = report.perturbations[0].spec
        result["sst2"]["rpr"][cond] = report.perturbations[0].to_json() | {"seconds": time.perf_counter() - started}
        v = report.extra["validity"]["perturbations"][canon]
        result["sst2"]["validity"][cond] = {k: v[k] for k in v if k != "first_flips"}
        flips += [{"condition": cond, **f} for f in v["first_flips"]]
        result["sst2"]["clean_accuracy"] = report.clean_accuracy.value

    # blind sample: up to `blind` first flips per condition, shuffled together, condition hidden
    rng = random.Random(0)
    sample = []
    for cond in SPECS:
        mine = [f for f in flips if f["condition"] == cond]
        sample += rng.sample(mine, min(args.blind, len(mine)))
    rng.shuffle(sample)
    labels = sst.label_names or ["0", "1"]
    blind_lines = [
        "# Blind sample of first flips (SST-2 validation)",
        "",
        "Judge: does the perturbed sentence still carry the original label? (K = keeps, C = changes/unclear)",
        "",
    ]
    key = []
    for k, f in enumerate(sample, 1):
        blind_lines.append(f"{k}. [{labels[f['label']]}] {f['diff']}")
        key.append(
            {"item": k, "condition": f["condition"], "index": f["index"], "label": f["label"], "diff": f["diff"]}
        )
    (out / "validity_blind_sample.md").write_text("\n".join(blind_lines) + "\n")
    (out / "validity_blind_key.json").write_text(json.dumps(key, indent=1) + "\n")

    ag = load_text_examples(str(shared / "data/ag_news"), split="test", limit=args.ag_n, shuffle=True, seed=0)
    result["ag_news"] = {"candidates": {}, "validity": {}}
    for cond, spec in SPECS.items():
        _SOURCES.clear()
        result["ag_news"]["candidates"][cond], p = candidate_counts(ag.texts, synonyms, spec)
        records = [{"index": i, "label": y, "first_flip": {}} for i, y in zip(ag.ids, ag.labels)]
        v = text_validity(dict(zip(ag.ids, ag.texts)), records, [p], seed=0)["perturbations"][p.spec.canonical]
        result["ag_news"]["validity"][cond] = {k: v[k] for k in v if k != "first_flips"}
    (out / "validity_study.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("sst2", "ag_news")}, indent=1)[:6000])


if __name__ == "__main__":
    main()
