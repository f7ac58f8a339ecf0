"""Reproduce the RPR paper's MNIST experiment (and run it on CIFAR-10), with a control.

1. Train M on the training set (the paper's CNN and recipe; :mod:`vision.training`).
2. RPR of M on the test set under ``pixels:k=round(sqrt(H*W))`` (28 on MNIST, 32 on
   CIFAR-10), ``max_steps`` draws: test accuracy, test robust ratio, survival curve.
3. RPR of M on the whole training set: the robust training images, per class.
4. M_R: the same recipe on ``per_class`` robust training images of every class (seeded).
5. M_rand (not in the paper): the same recipe on ``per_class`` random training images of
   every class, robust or not: the control that tells whether M_R's change comes from
   choosing robust images or only from training on fewer images.
6. RPR of M_R and M_rand on the test set; report.json, report.md and the figures.

Every RPR run goes through the shared driver (:func:`textrobust.core.driver.execute`) and streams
to ``rpr/<run>/examples.jsonl``; trained models are saved in ``models/<name>``; with
``resume`` a stopped reproduction continues where it was.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch

from textrobust.core.driver import Plan, RunResult, execute
from textrobust.core.options import RunOptions
from textrobust.core.perturbation import build
from textrobust.core.report import EvalReport
from textrobust.core.rpr import rpr_report
from textrobust.core.stats import paired_delta
from textrobust.errors import UserError
from vision.data import ImageExamples, load_image_examples
from vision.evaluation import image_rpr_plan
from vision.models import META_FILE, ImageClassifier, image_classifier, load_saved_model, save_model
from vision.ops import auto_k
from vision.training import Recipe, TrainResult, train_model

ARCHITECTURE = {"mnist": "paper-mnist-cnn", "cifar10": "small-cifar-cnn"}
MNIST_TRAIN_CLASS_SIZES = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
# The paper's MNIST figures; per-class robust counts are from the authors' stored training-set
# run (GitHub andreiilie1/cifar10vgg_robustnesstests), which matches the paper's 71.28%.
PAPER_MNIST = {
    "source": "Ilie, Popescu & Stefanescu (2020), Robustness as Inherent Property of Datapoints",
    "perturbation": "28 pixels (with replacement) set to random integers 0..254, MAX_STEPS = 250",
    "max_steps": 250,
    "M": {
        "test_accuracy": 0.9885,
        "test_robust_ratio": 0.2957,
        "train_robust_ratio": 0.7128,
        "train_robust_counts": [5260, 2358, 5170, 5593, 4940, 4567, 5051, 6166, 1648, 2014],
    },
    "M_R": {"test_accuracy": 0.9692, "test_robust_ratio": 0.5101, "train_size": 15000, "per_class": 1500},
    "M_rand": None,
}
MODELS = ("M", "M_R", "M_rand")


@dataclass
class Reproduction:
    """Where and how to run; see :func:`reproduce`."""

    dataset: str
    data: str | None
    output: Path
    max_steps: int = 250
    per_class: int = 1500
    seed: int = 0
    limit: int | None = None
    recipe: Recipe = Recipe()
    batch_size: int = 256
    resume: bool = False
    overwrite: bool = False
    progress: bool = True
    log: Callable[[str], None] = lambda message: None
    command: str | None = None


def per_class_sample(labels: Sequence[int], candidates: np.ndarray, counts: Mapping[int, int], seed: int) -> np.ndarray:
    """``counts[c]`` positions of each class ``c`` drawn (seeded, without replacement) from
    the ``candidates`` mask; sorted."""
    labels_arr = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = [np.zeros(0, dtype=np.int64)]
    for c, n in sorted(counts.items()):
        pool = np.flatnonzero(candidates & (labels_arr == c))
        chosen.append(rng.choice(pool, size=n, replace=False))
    return np.sort(np.concatenate(chosen))


class Runner:
    """The steps of one reproduction, sharing data, perturbation and bookkeeping."""

    def __init__(self, cfg: Reproduction) -> None:
        if cfg.dataset not in ARCHITECTURE:
            raise UserError(f"unknown dataset {cfg.dataset!r} for reproduce; use mnist or cifar10")
        for name, value in (
            ("--max-steps", cfg.max_steps),
            ("--per-class", cfg.per_class),
            ("--batch-size", cfg.batch_size),
        ):
            if value < 1:
                raise UserError(f"{name} must be at least 1, got {value}")
        if cfg.recipe.epochs < 1:
            raise UserError(f"--epochs must be at least 1, got {cfg.recipe.epochs}")
        self.cfg = cfg
        self.timings: dict[str, float] = {}
        self.cpu_timings: dict[str, float] = {}  # process CPU seconds: what the steps cost without contention
        self.model_calls: dict[str, int] = {}
        self.done_earlier: list[str] = []  # work a resumed run loaded instead of doing: not in the timings
        source = cfg.data or cfg.dataset
        with self.timed("load data"):
            self.train = load_image_examples(source, split="train", limit=cfg.limit)
            self.test = load_image_examples(source, split="test", limit=cfg.limit)
        if self.train.shape != self.test.shape:
            raise UserError(f"train and test images differ in shape: {self.train.shape} vs {self.test.shape}")
        self.classes = sorted(set(self.train.labels))
        self.num_classes = max(self.train.labels) + 1
        self.label_names = self.train.label_names or [str(c) for c in range(self.num_classes)]
        c, h, w = self.train.shape
        self.perturbation = build(f"pixels:k={auto_k(h, w)}", "image")
        self.spec = self.perturbation.spec.canonical
        self.architecture = ARCHITECTURE[cfg.dataset]

    def timed(self, name: str) -> Any:
        runner = self

        class _Timer:
            def __enter__(self) -> None:
                self.start, self.cpu = time.perf_counter(), time.process_time()

            def __exit__(self, *exc: Any) -> None:
                runner.timings[name] = runner.timings.get(name, 0.0) + time.perf_counter() - self.start
                runner.cpu_timings[name] = runner.cpu_timings.get(name, 0.0) + time.process_time() - self.cpu

        return _Timer()

    # -------------------------------------------------------------------- steps

    def model(self, name: str, positions: np.ndarray) -> tuple[ImageClassifier, dict]:
        """Train (or, resuming, load) model ``name`` on the training images at ``positions``."""
        cfg = self.cfg
        directory = cfg.output / "models" / name
        settings = {
            "architecture": self.architecture,
            "dataset": cfg.dataset,
            "limit": cfg.limit,
            "seed": cfg.seed,
            "recipe": vars(cfg.recipe),
            "train_ids_sha": _digest(self.train.ids[p] for p in positions),
        }
        meta_path = directory / META_FILE
        if cfg.resume and meta_path.is_file() and json.loads(meta_path.read_text()).get("settings") == settings:
            model, meta = load_saved_model(directory)
            self.log(f"{name}: loaded from {directory} (trained earlier)")
            self.done_earlier.append(f"train {name}")
            info = meta["training"]
        else:
            subset = self.train.subset(positions.tolist())
            with self.timed(f"train {name}"):
                result: TrainResult = train_model(
                    self.architecture,
                    subset.images,
                    subset.labels,
                    num_classes=self.num_classes,
                    recipe=cfg.recipe,
                    seed=cfg.seed,
                    progress=cfg.progress,
                    description=f"train {name}",
                    log=self.log,
                )
            model, info = result.model, result.to_json()
            save_model(
                model,
                directory,
                label_names=self.label_names,
                image_shape=self.train.shape,
                extra={"settings": settings, "training": info},
            )
        classifier = image_classifier(
            model,
            image_shape=self.train.shape,
            dataset_label_names=self.train.label_names,
            dataset_labels=self.train.labels,
            label_names=self.label_names,
            device="cpu",
        )
        classifier.name = name
        return classifier, info

    def rpr(
        self, name: str, classifier: ImageClassifier, examples: ImageExamples, split: str
    ) -> tuple[EvalReport, list[dict]]:
        """RPR of ``classifier`` on ``examples`` (streamed to ``rpr/<name>-<split>``): the
        report and the per-example records."""
        cfg = self.cfg
        run_dir = cfg.output / "rpr" / f"{name}-{split}"
        settings = {
            "task": "vision-reproduce",
            "model": name,
            "dataset": cfg.dataset,
            "split": split,
            "limit": cfg.limit,
            "data_fingerprint": examples.fingerprint,
            "perturbations": [self.spec],
            "max_steps": cfg.max_steps,
            "seed": cfg.seed,
            "model_sha": _digest(t.detach().cpu().numpy().tobytes() for t in classifier.model.state_dict().values()),
        }
        # resuming continues a run of the same model; a retrained model starts its runs over
        same = (run_dir / "run.json").is_file() and json.loads((run_dir / "run.json").read_text()) == json.loads(
            json.dumps(settings)
        )
        run = RunOptions(
            batch_size=cfg.batch_size,
            output_dir=run_dir,
            resume=cfg.resume and same,
            overwrite=cfg.overwrite or cfg.resume,
            progress=cfg.progress,
        )

        def prepare(group: Any) -> Plan:
            return image_rpr_plan(
                settings,
                classifier,
                examples,
                [self.perturbation],
                max_steps=cfg.max_steps,
                seed=cfg.seed,
                batch_size=cfg.batch_size,
                encode=None,
                description=f"RPR {name} {split}",
            )

        def build_report(result: RunResult) -> EvalReport:
            return rpr_report(result, model=name, dataset=cfg.dataset, split=split, label_names=self.label_names)

        with self.timed(f"RPR {name} {split}"):
            report = execute(prepare, build_report, run)
        self.model_calls[f"{name} {split}"] = report.model_calls
        if report.resumed_examples:
            self.done_earlier.append(f"RPR {name} {split}: {report.resumed_examples} of {report.n_examples} examples")
        return report, report.records

    def log(self, message: str) -> None:
        self.cfg.log(message)

    def run(self) -> dict:
        cfg = self.cfg
        started = time.perf_counter()
        earlier = [p.parent.name for p in (cfg.output / "rpr").glob("*/examples.jsonl") if p.stat().st_size > 0]
        if earlier and not (cfg.resume or cfg.overwrite):
            raise UserError(
                f"{cfg.output} already holds results ({', '.join(sorted(earlier))}); pass --resume to continue "
                "that run or --overwrite to replace it"
            )
        cfg.output.mkdir(parents=True, exist_ok=True)
        everything = np.arange(len(self.train))
        models: dict[str, ImageClassifier] = {}
        training: dict[str, dict] = {}
        tests: dict[str, EvalReport] = {}
        records: dict[str, list[dict]] = {}
        models["M"], training["M"] = self.model("M", everything)
        tests["M"], records["M"] = self.rpr("M", models["M"], self.test, "test")
        self.log(_summary_line("M", tests["M"]))
        train_report, train_records = self.rpr("M", models["M"], self.train, "train")
        self.log(_summary_line("M", train_report).replace("test", "train"))
        robust = np.array([r["first_flip"][self.spec] is None for r in train_records], dtype=bool)
        labels = np.asarray(self.train.labels)
        available = {c: int((robust & (labels == c)).sum()) for c in self.classes}
        counts = {c: min(cfg.per_class, n) for c, n in available.items()}
        if sum(counts.values()) == 0:
            raise UserError(
                "M has no robust training image at all; nothing to train M_R on (try a smaller --max-steps)"
            )
        short = {self.label_names[c]: n for c, n in counts.items() if n < cfg.per_class}
        if short:
            self.log(
                f"warning: fewer than {cfg.per_class} robust training images in classes {short}; "
                "M_R takes all of them there, and M_rand the same number per class"
            )
        robust_positions = per_class_sample(labels, robust, counts, cfg.seed)
        random_positions = per_class_sample(labels, np.ones_like(robust), counts, cfg.seed + 1)
        models["M_R"], training["M_R"] = self.model("M_R", robust_positions)
        tests["M_R"], records["M_R"] = self.rpr("M_R", models["M_R"], self.test, "test")
        self.log(_summary_line("M_R", tests["M_R"]))
        models["M_rand"], training["M_rand"] = self.model("M_rand", random_positions)
        tests["M_rand"], records["M_rand"] = self.rpr("M_rand", models["M_rand"], self.test, "test")
        self.log(_summary_line("M_rand", tests["M_rand"]))
        selection = {
            "per_class_requested": cfg.per_class,
            "per_class_used": {self.label_names[c]: n for c, n in counts.items()},
            "class_balanced": len(set(counts.values())) == 1,
            "subset_size": int(len(robust_positions)),
            "robust_available_per_class": {self.label_names[c]: n for c, n in available.items()},
            "overlap_M_R_M_rand": int(len(np.intersect1d(robust_positions, random_positions))),
            "robust_fraction_of_M_rand_subset": float(robust[random_positions].mean()),
        }
        with self.timed("figures"):
            from vision.figures import write_figures

            figures = write_figures(self, models["M"], tests, records["M"], train_report)
        self.timings["total"] = time.perf_counter() - started
        self.cpu_timings["total (process)"] = time.process_time()
        report = build_report(self, tests, records, train_report, training, selection, figures)
        (cfg.output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
        from vision.report import to_markdown

        (cfg.output / "report.md").write_text(to_markdown(report))
        return report


def _digest(parts: Any) -> str:
    import hashlib

    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
        h.update(b",")
    return h.hexdigest()[:16]


def _summary_line(name: str, report: EvalReport) -> str:
    p = report.perturbations[0]
    return (
        f"{name}: test accuracy {report.clean_accuracy.value:.4f}, test robust ratio {p.rpr.robust.value:.4f} "
        f"(n = {report.n_examples}, {report.model_calls} model calls, {report.seconds:.0f} s)"
    )


def _model_json(report: EvalReport, training: dict, train_size: int) -> dict:
    p = report.perturbations[0]
    r = p.rpr
    return {
        "train_size": train_size,
        "test_accuracy": report.clean_accuracy.value,
        "test_accuracy_ci95": list(report.clean_accuracy.ci) if report.clean_accuracy.ci else None,
        "n_test": report.n_examples,
        "test_robust_ratio": r.robust.value,
        "test_robust_ratio_ci95": list(r.robust.ci) if r.robust.ci else None,
        "test_robust_ratio_clean_correct": r.robust_clean_correct.value,
        "test_robust_ratio_clean_correct_ci95": list(r.robust_clean_correct.ci) if r.robust_clean_correct.ci else None,
        "test_mean_first_flip": r.mean_first_flip,
        "test_median_first_flip": r.median_first_flip,
        "test_perturbed_accuracy_draw1": p.accuracy.value,
        "test_survival": r.survival,
        "test_robust_per_class": {k: v.value for k, v in r.per_class.items()},
        "test_model_calls": report.model_calls,
        "training": {k: v for k, v in training.items() if k != "history"} | {"history": training.get("history", [])},
    }


def _delta_json(first: Sequence[bool], second: Sequence[bool]) -> dict:
    return paired_delta(first, second).to_json("delta")


def build_report(
    runner: Runner,
    tests: dict[str, EvalReport],
    records: dict[str, list[dict]],
    train_report: EvalReport,
    training: dict,
    selection: dict,
    figures: dict,
) -> dict:
    """report.json: the paper's figures beside ours, with intervals and the M_R-vs-M_rand test."""
    cfg = runner.cfg
    spec = runner.spec
    robust = {n: [r["first_flip"][spec] is None for r in recs] for n, recs in records.items()}
    correct = {n: [r["clean_prediction"] == r["label"] for r in recs] for n, recs in records.items()}
    ours = {
        "M": _model_json(tests["M"], training["M"], len(runner.train)),
        "M_R": _model_json(tests["M_R"], training["M_R"], selection["subset_size"]),
        "M_rand": _model_json(tests["M_rand"], training["M_rand"], selection["subset_size"]),
    }
    t = train_report.perturbations[0].rpr
    ours["M"].update(
        {
            "train_robust_ratio": t.robust.value,
            "train_robust_ratio_ci95": list(t.robust.ci) if t.robust.ci else None,
            "n_train_rpr": t.robust.n,
            "train_accuracy": train_report.clean_accuracy.value,
            "train_robust_per_class": {k: v.value for k, v in t.per_class.items()},
            "train_robust_per_class_ci95": {k: list(v.ci) if v.ci else None for k, v in t.per_class.items()},
            "train_robust_per_class_n": {k: v.n for k, v in t.per_class.items()},
            "train_model_calls": train_report.model_calls,
        }
    )
    for name in ("M_R", "M_rand"):
        ours[name].update(
            {
                "train_robust_ratio": None,
                "train_robust_per_class": None,
                "train_robust_note": "not measured: the paper measures training-set RPR of M only (it selects M_R's data)",
            }
        )
    paper = None
    if cfg.dataset == "mnist":
        paper = json.loads(json.dumps(PAPER_MNIST))
        counts = paper["M"].pop("train_robust_counts")
        paper["M"]["train_robust_per_class"] = {
            str(c): k / n for c, (k, n) in enumerate(zip(counts, MNIST_TRAIN_CLASS_SIZES))
        }
        paper["M"]["train_robust_per_class_counts"] = {str(c): k for c, k in enumerate(counts)}
    return {
        "dataset": cfg.dataset,
        "perturbation": spec,
        "max_steps": cfg.max_steps,
        "seed": cfg.seed,
        "limit": cfg.limit,
        "architecture": runner.architecture,
        "recipe": vars(cfg.recipe),
        "n_train": len(runner.train),
        "n_test": len(runner.test),
        "paper": paper,
        "ours": ours,
        "selection": selection,
        "comparison": {
            "test_robust_ratio": {
                "M_R_minus_M_rand": _delta_json(robust["M_R"], robust["M_rand"]),
                "M_R_minus_M": _delta_json(robust["M_R"], robust["M"]),
                "M_rand_minus_M": _delta_json(robust["M_rand"], robust["M"]),
            },
            "test_accuracy": {
                "M_R_minus_M_rand": _delta_json(correct["M_R"], correct["M_rand"]),
                "M_R_minus_M": _delta_json(correct["M_R"], correct["M"]),
            },
            "method": "paired differences on the same test images, Tango (1998) score 95% intervals",
        },
        "figures": figures,
        "model_calls": runner.model_calls,
        "timings_seconds": runner.timings,
        "cpu_seconds": runner.cpu_timings,
        # the timings are this process's; a resumed run loaded this work instead (its time is not in them)
        "done_by_an_earlier_process": runner.done_earlier,
        "torch_threads": torch.get_num_threads(),
        "command": cfg.command,
    }


def reproduce(
    dataset: str = "mnist",
    data: str | None = None,
    *,
    output: str | Path = "reproduce-out",
    max_steps: int = 250,
    per_class: int = 1500,
    seed: int = 0,
    limit: int | None = None,
    epochs: int = 30,
    batch_size: int = 256,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = lambda message: None,
    command: str | None = None,
) -> dict:
    """Run the whole reproduction (see the module docstring); returns report.json's content.

    ``data`` is where to read ``dataset`` from (a local directory, e.g. ``../shared/data/mnist``,
    or an IDX directory); without it the Hub (``ylecun/mnist``, ``uoft-cs/cifar10``).
    ``limit`` keeps the first N training and first N test images (quick runs)."""
    cfg = Reproduction(
        dataset=dataset,
        data=data,
        output=Path(output),
        max_steps=max_steps,
        per_class=per_class,
        seed=seed,
        limit=limit,
        recipe=Recipe(epochs=epochs),
        batch_size=batch_size,
        resume=resume,
        overwrite=overwrite,
        progress=progress,
        log=log,
        command=command,
    )
    return Runner(cfg).run()
