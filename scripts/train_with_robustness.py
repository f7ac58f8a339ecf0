"""Fine-tune a text classifier with the Trainer while RobustnessCallback tracks its robustness.

Starts from the shared SST-2 model (``$TEXTROBUST_SHARED/models/minilm-l6-sst2``, default
``../shared`` beside the repository), trains a few hundred steps on SST-2 train, optionally
with word-deletion noise (``--p-del``, through :class:`textrobust.training.DeletionCollator`),
evaluates every ``--eval-every`` steps (and once before training), and keeps the checkpoint
with the best robust ratio (``metric_for_best_model="eval_robust/<first spec>/robust_ratio"``).
Then it plots the logged robust ratio(s) and accuracies against steps::

    HF_HUB_OFFLINE=1 nice -n 10 python scripts/train_with_robustness.py --output runs/train_with_robustness

Writes ``<output>/robustness_during_training.png``, ``<output>/history.json`` (the robust
entries of ``trainer.state.log_history``) and ``<output>/best-model``. The robust metrics are
measured on clean validation sentences by the callback; the Trainer's own ``eval_loss`` goes
through the training collator, so with ``--p-del`` > 0 it is the loss on deleted inputs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def shared_dir() -> Path:
    return Path(os.environ.get("TEXTROBUST_SHARED", ROOT.parent / "shared")).resolve()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    shared = shared_dir()
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(shared / "models" / "minilm-l6-sst2"), help="model directory to start from")
    p.add_argument("--data", default=str(shared / "data" / "sst2"), help="dataset directory with train and validation")
    p.add_argument("--steps", type=int, default=300, help="optimizer steps")
    p.add_argument("--eval-every", type=int, default=50, help="evaluate (and checkpoint) every N steps")
    p.add_argument("--batch-size", type=int, default=16, help="training batch size")
    p.add_argument("--lr", type=float, default=3e-5, help="learning rate")
    p.add_argument(
        "--p-del", type=float, default=0.3, help="word-deletion probability of the training inputs (0 = clean)"
    )
    p.add_argument(
        "--perturb", action="append", help="perturbation spec to track; repeat [default: delete:p=0.1, typo:p=0.05]"
    )
    p.add_argument("--eval-limit", type=int, default=200, help="validation sentences the callback evaluates")
    p.add_argument("--max-rpr-steps", type=int, default=20, help="RPR draws per sentence and perturbation")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output", default=str(ROOT / "runs" / "train_with_robustness"), help="output directory")
    return p.parse_args(argv)


def _portable(settings: dict) -> dict:
    """``settings`` with the paths written relative to the repository (so results can be committed)."""
    return {k: os.path.relpath(v, ROOT) if k in ("model", "data", "output") else v for k, v in settings.items()}


def plot(history: list[dict], specs: list[str], path: Path, title: str) -> None:
    """Robust ratio and accuracies against the training step, each with its 95% interval
    (the callback's Clopper-Pearson interval for the robust ratio; Clopper-Pearson on the logged
    n for the accuracies), in the reports' colour-blind-safe palette."""
    from textrobust.core.plots import PALETTE, _pyplot
    from textrobust.core.stats import rate

    plt = _pyplot()
    steps = [e["step"] for e in history]

    def band(ax, key: str, colour: str) -> None:
        sizes = [int(e["eval_robust/n_examples"]) for e in history]  # logged as floats by the Trainer
        cis = [rate(round(e[key] * n), n).ci for e, n in zip(history, sizes)]
        ax.fill_between(steps, [c[0] for c in cis], [c[1] for c in cis], color=colour, alpha=0.12, linewidth=0)

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for spec, colour in zip(specs, PALETTE):
        key = f"eval_robust/{spec}"
        left.plot(steps, [e[f"{key}/robust_ratio"] for e in history], marker="o", color=colour, label=spec)
        low, high = (f"{key}/robust_ratio_ci95_low", f"{key}/robust_ratio_ci95_high")
        if all(low in e and high in e for e in history):
            left.fill_between(steps, [e[low] for e in history], [e[high] for e in history], color=colour, alpha=0.15)
        right.plot(
            steps, [e[f"{key}/accuracy"] for e in history], marker="o", color=colour, label=f"accuracy under {spec}"
        )
        band(right, f"{key}/accuracy", colour)
    clean = "eval_robust/clean_accuracy"
    right.plot(steps, [e[clean] for e in history], marker="s", color="black", label="clean accuracy")
    band(right, clean, "black")
    left.set(xlabel="training step", ylabel="robust ratio (fraction, 95% interval)", title="RPR robust ratio")
    right.set(xlabel="training step", ylabel="accuracy (fraction, 95% interval)", title="accuracy")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, Trainer, TrainingArguments

    from textrobust.callbacks import RobustnessCallback
    from textrobust.training import DeletionCollator

    specs = args.perturb or ["delete:p=0.1", "typo:p=0.05"]
    output = Path(args.output)
    data = datasets.load_dataset(str(Path(args.data).resolve()))
    train = data["train"].shuffle(seed=args.seed).select(range(min(len(data["train"]), args.steps * args.batch_size)))
    validation = data["validation"].select(range(min(len(data["validation"]), args.eval_limit)))
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model)
    metric = f"eval_robust/{specs[0]}/robust_ratio"
    training_args = TrainingArguments(
        output_dir=str(output / "checkpoints"),
        max_steps=args.steps,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=64,
        learning_rate=args.lr,
        warmup_steps=min(20, args.steps // 10),
        eval_strategy="steps",
        eval_steps=args.eval_every,
        save_strategy="steps",
        save_steps=args.eval_every,
        save_only_model=True,
        save_total_limit=2,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        logging_steps=args.eval_every,
        remove_unused_columns=False,  # DeletionCollator needs the raw sentence
        report_to="none",
        use_cpu=True,
        seed=args.seed,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=train,
        eval_dataset=validation,
        processing_class=tokenizer,
        data_collator=DeletionCollator(tokenizer, p_del=args.p_del, text_column="sentence", max_length=64),
    )
    callback = RobustnessCallback(
        data["validation"], specs, max_steps=args.max_rpr_steps, limit=args.eval_limit, seed=args.seed
    ).attach(trainer)
    started = time.perf_counter()
    trainer.evaluate()  # step 0: the starting model (train() starts a fresh log_history)
    history = [e for e in trainer.state.log_history if metric in e]
    trainer.train()
    seconds = time.perf_counter() - started
    history += [e for e in trainer.state.log_history if metric in e]
    output.mkdir(parents=True, exist_ok=True)
    (output / "history.json").write_text(
        json.dumps(
            {
                "settings": _portable(vars(args)) | {"perturb": specs},
                "seconds": seconds,
                "best_metric": trainer.state.best_metric,
                "best_step": trainer.state.best_global_step,
                "history": history,
            },
            indent=2,
        )
        + "\n"
    )
    trainer.save_model(str(output / "best-model"))
    title = (
        f"{Path(args.model).name} fine-tuned {args.steps} steps on SST-2 (batch {args.batch_size}, lr {args.lr:g}, "
        f"p_del {args.p_del:g}); RPR on {callback.last_report.n_examples} validation sentences, "
        f"max_steps {args.max_rpr_steps}"
    )
    plot(history, specs, output / "robustness_during_training.png", title)
    for e in history:
        print(
            f"step {e['step']:>4}: clean accuracy {e['eval_robust/clean_accuracy']:.4f}  "
            + "  ".join(
                f"{s}: accuracy {e[f'eval_robust/{s}/accuracy']:.4f} robust ratio {e[f'eval_robust/{s}/robust_ratio']:.4f}"
                for s in specs
            )
        )
    print(f"best {metric} = {trainer.state.best_metric} at step {trainer.state.best_global_step}; {seconds:.0f} s")
    print(f"wrote {output / 'robustness_during_training.png'}, {output / 'history.json'}, {output / 'best-model'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
