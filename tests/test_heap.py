"""core.heap.frozen_setup: the set-up's objects are frozen for a run and unfrozen after."""

import gc

import pytest

from textrobust.core.heap import frozen_setup


def test_frozen_for_the_run_and_unfrozen_after_also_nested_and_on_error():
    assert gc.get_freeze_count() == 0
    with frozen_setup():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with frozen_setup():  # nested: nothing frozen again, nothing unfrozen at its exit
            assert gc.get_freeze_count() == frozen
        assert gc.get_freeze_count() == frozen
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), frozen_setup():
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
