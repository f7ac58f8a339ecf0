"""core.fingerprint: the same examples give the same fingerprint, any change another."""

import numpy as np

from textrobust.core.fingerprint import examples_fingerprint


def fp(ids=(0, 1), labels=(1, 0), names=("neg", "pos"), texts=("ab", "c")) -> str:
    return examples_fingerprint(list(ids), list(labels), list(names), (t.encode() for t in texts))


def test_the_same_examples_the_same_fingerprint_any_change_another():
    base = fp()
    assert base.startswith("sha256:") and len(base) == len("sha256:") + 16
    assert fp(ids=np.array([0, 1])) == base  # numpy ids are the ids they hold
    changed = [
        fp(texts=("a", "bc")),  # the inputs' boundaries count
        fp(texts=("ab", "c ")),
        fp(labels=(1, 1)),
        fp(names=("negative", "positive")),
        fp(ids=(1, 0)),
        fp(ids=(1, 0), labels=(0, 1), texts=("c", "ab")),  # the same rows in another order
    ]
    assert len({base, *changed}) == 1 + len(changed)
