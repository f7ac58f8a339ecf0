"""Validity figures of every text perturbation (docs/perturbations-validity.md), no model needed.

On the first N SST-2 validation sentences, draws 1..5 of each example (as in every report):
changed share, word edits, similarity under the sentence encoder, plus label risks that can be
counted mechanically: draws that delete or move a negation word, deletions of 3+ words, typos in
words of 3-4 letters.

    PYTHONPATH=$PWD TEXTROBUST_ENCODER=../shared/models/all-minilm-l6-v2 python scripts/validity_suite.py
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from textrobust.core.perturbation import build
from textrobust.core.random import draw_key, stream_prefix
from textrobust.text.data import load_text_examples
from textrobust.text.synonyms import from_file
from textrobust.text.validity import VALIDITY_DRAWS, text_validity

ROOT = Path(__file__).resolve().parents[1]
SPECS = [
    "delete:p=0.1",
    "synonym:p=0.1",
    "synonym:p=0.1,constrained=0",
    "typo:p=0.05",
    "swap:p=0.1",
    "insert:p=0.1",
    "insert:p=0.1,constrained=0",
]
NEGATIONS = {"not", "n't", "no", "never", "nothing", "nor", "neither", "without", "none", "nobody"}


def risks(texts, ids, p, seed=0):
    neg_touched = deleted3 = short_typos = typo_words = changed = 0
    for i, t in zip(ids, texts):
        prefix = stream_prefix(seed, i, p.spec.canonical)
        keys = [draw_key(prefix, k) for k in range(1, VALIDITY_DRAWS + 1)]
        for y in p.apply([t] * len(keys), keys):
            if y == t:
                continue
            changed += 1
            a, b = t.split(), y.split()
            neg_a = [k for k, w in enumerate(a) if w.lower() in NEGATIONS]
            neg_b = [k for k, w in enumerate(b) if w.lower() in NEGATIONS]
            if neg_a != neg_b:
                neg_touched += 1
            if p.spec.name == "delete" and len(a) - len(b) >= 3:
                deleted3 += 1
            if p.spec.name == "typo":
                for u, v in zip(a, b):
                    if u != v:
                        typo_words += 1
                        short_typos += 3 <= sum(c.isalpha() for c in u) <= 4
    return {
        "changed_draws": changed,
        "negation_deleted_or_moved": neg_touched,
        "deleted_3_or_more_words": deleted3 if p.spec.name == "delete" else None,
        "typo_words": typo_words if p.spec.name == "typo" else None,
        "typos_in_3_or_4_letter_words": short_typos if p.spec.name == "typo" else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.environ.get("TEXTROBUST_SHARED", str(ROOT.parent / "shared")))
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "docs/bench/validity_suite.json"))
    args = ap.parse_args()
    shared = Path(args.shared)
    syn = from_file(shared / "data/wordnet/oewn_synonyms.json")
    data = load_text_examples(str(shared / "data/sst2"), split="validation", limit=args.n)
    records = [{"index": i, "label": y, "first_flip": {}} for i, y in zip(data.ids, data.labels)]
    result = {"dataset": "sst2 validation", "n": args.n, "draws_per_example": VALIDITY_DRAWS, "perturbations": {}}
    for spec in SPECS:
        started = time.perf_counter()
        p = build(spec, "text", {"synonyms": syn})
        v = text_validity(dict(zip(data.ids, data.texts)), records, [p], seed=0)["perturbations"][p.spec.canonical]
        entry = {k: v[k] for k in v if k != "first_flips"} | risks(data.texts, data.ids, p)
        entry["seconds"] = time.perf_counter() - started
        result["perturbations"][p.spec.canonical] = entry
        print(spec, json.dumps(entry)[:400], flush=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
