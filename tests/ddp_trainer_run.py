"""Run by tests/test_distributed.py under torchrun: a Trainer with RobustnessCallback in 2 processes.

Prints one JSON line per process: its rank, the robust entries of its log_history, and how
many robust log entries a main-process-only reporter (like TensorBoard's) wrote.
"""

import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import datasets  # noqa: E402
from conftest import TINY_VOCAB, keyword_vote, tiny_trainer  # noqa: E402
from transformers import AutoModelForSequenceClassification, AutoTokenizer, TrainerCallback  # noqa: E402

from textrobust.callbacks import RobustnessCallback  # noqa: E402

METRIC = "eval_robust/delete:p=0.1/robust_ratio"


class MainProcessReporter(TrainerCallback):
    """Counts the robust entries it would write; like the Hub's reporters, only on the main process."""

    writes = 0

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and METRIC in logs:
            MainProcessReporter.writes += 1


def main(model_dir: str, output_dir: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSequenceClassification.from_pretrained(model_dir)
    rng = random.Random(1)
    texts = [" ".join(rng.choice(TINY_VOCAB[5:]) for _ in range(rng.randint(1, 10))) for _ in range(48)]
    raw = datasets.Dataset.from_dict({"text": texts, "label": [keyword_vote(t) for t in texts]})
    tokenized = raw.map(lambda b: tokenizer(b["text"]), batched=True, remove_columns=["text"])
    reporters = [MainProcessReporter()]
    best = {"save_strategy": "no", "metric_for_best_model": METRIC}  # best_metric is tracked; nothing is saved
    trainer = tiny_trainer(
        model, tokenizer, tokenized, tokenized, output_dir, reporters, max_steps=4, learning_rate=0.01, **best
    )
    callback = RobustnessCallback(raw, ["delete:p=0.1"], max_steps=20).attach(trainer)
    trainer.train()
    robust = [
        {k: e[k] for k in ("step", METRIC, "eval_robust/n_examples")} for e in trainer.state.log_history if METRIC in e
    ]
    result = {
        "rank": int(os.environ["RANK"]),
        "world_size": trainer.args.world_size,
        "robust": robust,
        "reporter_writes": MainProcessReporter.writes,
        "best_metric": trainer.state.best_metric,
        "processes": callback.last_report.extra["processes"],
    }
    # one file per process: two processes printing to one pipe can interleave their lines
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    Path(output_dir, f"result-rank{result['rank']}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
    # torch's gloo backend sometimes aborts in its C++ destructors at interpreter exit after DDP
    # training ("terminate called without an active exception"), which torchrun reports as a failed
    # run; that is torch's teardown, not what this test checks, so leave without it
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
