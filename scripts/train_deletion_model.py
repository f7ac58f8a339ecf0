"""Fine-tune a text classifier with randomized-deletion noise, for ``textrobust certify``.

CERT-ED trains the base classifier on inputs with each word deleted with the same probability
``p_del`` that certification will use; this script does that with the Hugging Face ``Trainer``
and :class:`textrobust.training.DeletionCollator` (fresh deletions every time an example is
drawn). Example (the recipe of ``../shared/models/minilm-l6-sst2-del90``)::

    HF_HUB_OFFLINE=1 python scripts/train_deletion_model.py \\
        --model sentence-transformers/all-MiniLM-L6-v2 --dataset ../shared/data/sst2 \\
        --p-del 0.9 --epochs 2 --output models/minilm-sst2-del90

Small CPU runs: ``--limit 2000 --epochs 1``. Data options as in ``textrobust eval`` (the
``train`` split by default); labels are mapped by name where the dataset has names.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from textrobust.hf.data import load_split, pick_column, read_labels, select_rows  # noqa: E402
from textrobust.errors import UserError  # noqa: E402
from textrobust.text.data import LABEL_COLUMNS, TEXT_COLUMNS  # noqa: E402
from textrobust.training import DeletionCollator  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", required=True, help="base model: Hub id or local directory")
    p.add_argument("--dataset", required=True, help="dataset: alias, Hub id, local directory or data file")
    p.add_argument("--config", default=None)
    p.add_argument("--split", default="train")
    p.add_argument("--text-column", default=None)
    p.add_argument("--label-column", default=None)
    p.add_argument("--limit", type=int, default=None, help="train on the first N rows (after --shuffle)")
    p.add_argument("--shuffle", action="store_true")
    p.add_argument("--output", required=True, help="directory for the fine-tuned model and tokenizer")
    p.add_argument("--p-del", type=float, default=0.9, help="deletion probability during training (use certify's)")
    p.add_argument("--level", choices=("word", "token"), default="word")
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int, default=200)
    p.add_argument("--max-length", type=int, default=64)
    p.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimizer steps (-1: epochs decide)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Train and save; returns the Trainer's final metrics (``train_loss``, ...)."""
    args = parse_args(argv)
    if not 0 <= args.p_del < 1:
        raise UserError(f"--p-del must be in [0, 1), got {args.p_del}")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    split = load_split(args.dataset, args.config, args.split)
    ds = split.dataset
    text_col = pick_column(ds, args.text_column, TEXT_COLUMNS, "text", "--text-column")
    label_col = pick_column(ds, args.label_column, LABEL_COLUMNS, "label", "--label-column")
    ds = ds.select(select_rows(len(ds), limit=args.limit, shuffle=args.shuffle, seed=args.seed))
    labels = read_labels(ds, label_col)
    names = labels.names or [str(i) for i in range(max(labels.ids) + 1)]
    ds = ds.remove_columns([c for c in ds.column_names if c != text_col]).add_column("labels", labels.ids)

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(
        args.model,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
        ignore_mismatched_sizes=True,
    )
    if args.level == "token":
        ds = ds.map(
            lambda b: tokenizer(b[text_col], truncation=True, max_length=args.max_length),
            batched=True,
            remove_columns=[text_col],
        )
    collator = DeletionCollator(
        tokenizer, p_del=args.p_del, level=args.level, text_column=text_col, max_length=args.max_length
    )
    training_args = TrainingArguments(
        output_dir=str(Path(args.output) / "checkpoints"),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps,
        per_device_train_batch_size=args.batch_size,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        lr_scheduler_type="linear",
        seed=args.seed,
        save_strategy="no",
        report_to=[],
        logging_steps=50,
        remove_unused_columns=False,  # the collator needs the raw text
        dataloader_pin_memory=torch.cuda.is_available(),
    )
    trainer = Trainer(model=model, args=training_args, train_dataset=ds, data_collator=collator)
    metrics = trainer.train().metrics
    trainer.save_model(args.output)
    tokenizer.save_pretrained(args.output)
    print(
        f"trained on {len(ds)} examples with p_del = {args.p_del} ({args.level} level): {metrics}; saved to {args.output}"
    )
    return metrics


if __name__ == "__main__":
    try:
        main()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
