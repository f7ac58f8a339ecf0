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
from transformers import (  # noqa: E402
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from conftest import TINY_VOCAB, keyword_vote  # noqa: E402
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
    args = TrainingArguments(
        output_dir=output_dir,
        max_steps=4,
        per_device_train_batch_size=8,
        learning_rate=0.01,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="no",
        logging_steps=2,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        seed=0,
        metric_for_best_model=METRIC,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=tokenized,
        eval_dataset=tokenized,
        processing_class=tokenizer,
        data_collator=DataCollatorWithPadding(tokenizer),
        callbacks=[MainProcessReporter()],
    )
    callback = RobustnessCallback(raw, ["delete:p=0.1"], max_steps=20).attach(trainer)
    trainer.train()
    robust = [
        {k: e[k] for k in ("step", METRIC, "eval_robust/n_examples")} for e in trainer.state.log_history if METRIC in e
    ]
    result = {
        "rank": int(os.environ["RANK"]),
        "world_size": args.world_size,
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
