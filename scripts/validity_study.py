"""Validity study: ``synonym`` unconstrained vs constrained (docs/validity-study.md).

SST-2 validation (first N sentences) with ../shared/models/minilm-l6-sst2: robust ratios under both,
candidate counts, similarity distributions, and a blind sample of first flips (shuffled, condition
hidden) to judge by hand. AG News test (a seeded sample): candidate counts and draw similarities
only (the shared model is a sentiment model, so no robust ratio there).

    PYTHONPATH=$PWD TEXTROBUST_ENCODER=../shared/models/all-minilm-l6-v2 python scripts/validity_study.py
    # then judge docs/bench/validity_blind_sample.md into validity_blind_judgements.json, and:
    PYTHONPATH=$PWD python scripts/validity_study.py --summarise
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


def judged_summary(out: Path) -> dict:
    """Per condition: first flips judged, how many keep the label (K) and the share with its
    Clopper-Pearson 95% interval, from the blind key and the reader's judgements in ``out``."""
    from textrobust.core.stats import rate

    key = json.loads((out / "validity_blind_key.json").read_text())
    judged = json.loads((out / "validity_blind_judgements.json").read_text())["judgements"]
    summary = {}
    for cond in SPECS:
        items = [k for k in key if k["condition"] == cond]
        keep = rate(sum(judged[str(k["item"])] == "K" for k in items), len(items))
        summary[cond] = {"judged": keep.n, "keep": keep.k, "keep_share": keep.value, "keep_share_ci95": keep.ci}
    return summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("TEXTROBUST_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--sst2-n", type=int, default=200)
    ap.add_argument("--ag-n", type=int, default=300)
    ap.add_argument("--max-steps", type=int, default=250)
    ap.add_argument("--blind", type=int, default=50)
    ap.add_argument("--out", default=str(ROOT / "docs/bench"))
    ap.add_argument(
        "--summarise",
        action="store_true",
        help="only summarise the blind judgements (validity_blind_judgements.json, written by the reader) in --out",
    )
    args = ap.parse_args()
    shared = Path(args.shared)
    out = Path(args.out)
    if args.summarise:
        print(json.dumps(judged_summary(out), indent=1))
        return
    out.mkdir(parents=True, exist_ok=True)
    synonyms = from_file(shared / "data/wordnet/oewn_synonyms.json")
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
