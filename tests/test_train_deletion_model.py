"""scripts/train_deletion_model.py: a few Trainer steps on the tiny model with deletion noise."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("train_deletion_model", ROOT / "scripts" / "train_deletion_model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["train_deletion_model"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("level", ["word", "token"])
def test_trainer_fine_tunes_with_deletion_noise(level, tiny_model, tiny_dataset, tmp_path, monkeypatch):
    import textrobust.training as training
    from transformers import AutoModelForSequenceClassification

    seen = []
    for name in ("delete_words_torch", "delete_tokens_torch"):
        original = getattr(training, name)

        def spy(*args, _original=original, **kwargs):
            out = _original(*args, **kwargs)
            seen.append((args[0], out))
            return out

        monkeypatch.setattr(training, name, spy)
    script = load_script()
    out = tmp_path / "model"
    metrics = script.main(
        [
            "--model",
            str(tiny_model),
            "--dataset",
            str(tiny_dataset),
            "--limit",
            "24",
            "--max-steps",
            "3",
            "--batch-size",
            "8",
            "--warmup-steps",
            "0",
            "--level",
            level,
            "--output",
            str(out),
        ]
    )
    assert metrics["train_loss"] > 0 and metrics["epoch"] > 0
    assert len(seen) == 24  # every training example went through the deletion collator
    assert sum(len(after) < len(before) for before, after in seen) > 12  # p_del 0.9 deletes most
    trained = AutoModelForSequenceClassification.from_pretrained(out)
    assert trained.config.num_labels == 2


def test_bad_p_del_is_a_user_error(tiny_model, tiny_dataset, tmp_path):
    from textrobust.errors import UserError

    with pytest.raises(UserError, match="--p-del"):
        load_script().main(
            ["--model", str(tiny_model), "--dataset", str(tiny_dataset), "--output", str(tmp_path), "--p-del", "1"]
        )
