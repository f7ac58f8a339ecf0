"""core.heap.frozen_setup: the set-up's objects are frozen for a run and unfrozen after.

Frozen objects sit in the collector's permanent generation, which ``gc.get_objects()`` does
not list. The freeze count itself is not compared across steps: frozen objects freed by
reference counting (another thread's, say) leave the permanent generation at any time.
"""

import gc

import pytest

from textrobust.core.heap import frozen_setup


def _scanned(obj: object) -> bool:
    """Whether the collector's generations 0-2 (not the permanent one) hold ``obj``."""
    return any(o is obj for o in gc.get_objects())


def test_frozen_for_the_run_and_unfrozen_after_also_nested_and_on_error():
    assert gc.get_freeze_count() == 0
    made_before = [object()]
    with frozen_setup():
        assert gc.get_freeze_count() > 0
        assert not _scanned(made_before)
        made_in_run = [object()]
        assert _scanned(made_in_run)
        with frozen_setup():  # nested: nothing frozen again, nothing unfrozen at its exit
            assert _scanned(made_in_run)
        assert _scanned(made_in_run)
        assert not _scanned(made_before)
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    assert _scanned(made_before)
    with pytest.raises(RuntimeError), frozen_setup():
        assert not _scanned(made_in_run)
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
    assert _scanned(made_in_run)
