"""RobustnessCallback inside a real Hugging Face Trainer (tiny keyword-vote BERT, CPU)."""

from __future__ import annotations

import random

import pytest
from conftest import TINY_VOCAB, keyword_vote, tiny_trainer

SPEC = "delete:p=0.1"
METRIC = f"eval_robust/{SPEC}/robust_ratio"


def _texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    words = TINY_VOCAB[5:]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 10))) for _ in range(n)]


@pytest.fixture()
def parts(keyword_model):
    import datasets
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(keyword_model)
    model = AutoModelForSequenceClassification.from_pretrained(keyword_model)
    eval_texts = _texts(40, seed=1)
    raw_eval = datasets.Dataset.from_dict({"text": eval_texts, "label": [keyword_vote(t) for t in eval_texts]})
    train_texts = _texts(64, seed=2)
    rng = random.Random(3)  # labels unrelated to the words: training moves the model's robustness around
    raw_train = datasets.Dataset.from_dict({"text": train_texts, "label": [rng.randint(0, 1) for _ in train_texts]})

    def tokenize(ds):
        return ds.map(lambda b: tokenizer(b["text"], truncation=True), batched=True, remove_columns=["text"])

    return model, tokenizer, raw_eval, tokenize(raw_train), tokenize(raw_eval)


def _selecting_trainer(parts, tmp_path, metric: str, callbacks=()):
    """A Trainer of 6 steps that evaluates and saves every 2 and keeps the best checkpoint by ``metric``."""
    model, tokenizer, _, train, tokenized_eval = parts
    return tiny_trainer(
        model,
        tokenizer,
        train,
        tokenized_eval,
        tmp_path / "run",
        callbacks,
        max_steps=6,
        learning_rate=0.05,
        save_strategy="steps",
        save_steps=2,
        load_best_model_at_end=True,
        metric_for_best_model=metric,
        save_only_model=True,
    )


def test_trainer_logs_robust_metrics_and_selects_best_model_on_them(parts, tmp_path):
    import torch
    from transformers import AutoModelForSequenceClassification, TrainerCallback

    import textrobust
    from textrobust.callbacks import RobustnessCallback

    _, tokenizer, raw_eval, _, _ = parts

    class Reporter(TrainerCallback):
        """Stands for TensorBoard / W&B: sees what on_log sees, and what later on_evaluate callbacks see."""

        def __init__(self):
            self.logs, self.evaluations = [], []

        def on_log(self, args, state, control, logs=None, **kwargs):
            self.logs.append(dict(logs))

        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            self.evaluations.append((kwargs["model"].training, dict(metrics)))

    reporter = Reporter()
    trainer = _selecting_trainer(parts, tmp_path, METRIC, [reporter])
    callback = RobustnessCallback(raw_eval, perturbations=[SPEC, "typo:p=0.1"], max_steps=20).attach(trainer)
    assert trainer.callback_handler.callbacks[0] is callback
    trainer.train()

    robust = [e for e in trainer.state.log_history if METRIC in e]
    assert [e["step"] for e in robust] == [2, 4, 6]
    for entry in robust:
        for spec in (SPEC, "typo:p=0.1"):
            acc, delta, ratio = (entry[f"eval_robust/{spec}/{m}"] for m in ("accuracy", "delta", "robust_ratio"))
            # a robust example is right clean and on draw 1
            assert 0.0 <= ratio <= min(acc, entry["eval_robust/clean_accuracy"]) <= 1.0
            assert delta == pytest.approx(entry["eval_robust/clean_accuracy"] - acc)
            assert (
                entry[f"eval_robust/{spec}/robust_ratio_ci95_low"]
                <= ratio
                <= entry[f"eval_robust/{spec}/robust_ratio_ci95_high"]
            )
        assert entry["eval_robust/n_examples"] == 40
    # every reporter got the same entries through on_log
    assert [e[METRIC] for e in reporter.logs if METRIC in e] == [e[METRIC] for e in robust]
    # callbacks after ours see the metrics in on_evaluate, and the model is back in train mode
    assert [(training, METRIC in metrics) for training, metrics in reporter.evaluations] == [(True, True)] * 3

    # metric_for_best_model selected on the robust ratio (first maximum wins: np.greater)
    values = [e[METRIC] for e in robust]
    assert len(set(values)) > 1, "training should move the robust ratio, or the selection is not tested"
    best = max(values)
    best_step = robust[values.index(best)]["step"]
    assert trainer.state.best_metric == best
    assert trainer.state.best_global_step == best_step
    assert trainer.state.best_model_checkpoint.endswith(f"checkpoint-{best_step}")
    # load_best_model_at_end put that checkpoint's weights back (not the last step's) ...
    best_weights = AutoModelForSequenceClassification.from_pretrained(trainer.state.best_model_checkpoint).state_dict()
    last_weights = AutoModelForSequenceClassification.from_pretrained(tmp_path / "run" / "checkpoint-6").state_dict()
    final = trainer.model.state_dict()
    assert all(torch.equal(final[k], best_weights[k]) for k in best_weights)
    assert best_step == 6 or not all(torch.equal(final[k], last_weights[k]) for k in last_weights)
    # ... and textrobust.evaluate on it gives the logged value: the metric is the engine's RPR
    report = textrobust.evaluate(trainer.model, tokenizer, raw_eval, [SPEC, "typo:p=0.1"], max_steps=20)
    assert report[SPEC].rpr.robust.value == best


def test_unattached_callback_feeds_metrics_restores_train_mode_and_warns(parts):
    import torch
    from transformers import TrainerControl, TrainerState

    import textrobust
    from textrobust.callbacks import RobustnessCallback, robust_metrics

    model, tokenizer, raw_eval, _, _ = parts
    callback = RobustnessCallback(raw_eval, perturbations=[SPEC], max_steps=15, limit=30, batch_size=7)
    model.train()
    seen_modes = []
    hook = model.register_forward_pre_hook(lambda module, inputs: seen_modes.append(module.training))
    metrics = {"eval_loss": 0.5}
    state = TrainerState()
    state.global_step = 3
    with pytest.warns(textrobust.evaluation.TextrobustWarning, match="attach"):
        callback.on_evaluate(None, state, TrainerControl(), metrics=metrics, model=model, processing_class=tokenizer)
    hook.remove()
    assert seen_modes and not any(seen_modes)  # classified in eval mode
    assert model.training  # and handed back in train mode
    # the same numbers as textrobust.evaluate on the same examples: one engine, one wiring
    report = textrobust.evaluate(model, tokenizer, raw_eval, [SPEC], max_steps=15, limit=30, batch_size=64)
    expected = robust_metrics(report)
    assert set(metrics) == set(expected) | {"eval_loss"}
    for key in expected:
        if key not in ("eval_robust/seconds", "eval_robust/model_calls"):
            assert metrics[key] == expected[key], key
    assert metrics["eval_robust/n_examples"] == 30
    # a second on_evaluate at the same step with the same weights (several eval sets) reuses the result
    again: dict = {}
    callback.on_evaluate(None, state, TrainerControl(), metrics=again, model=model, processing_class=tokenizer)
    assert again == {k: v for k, v in metrics.items() if k != "eval_loss"}
    # other weights at the same step (the best checkpoint loaded at the end) are evaluated again
    with torch.no_grad():
        model.classifier.weight.neg_()  # the keyword vote turned around
    flipped: dict = {}
    callback.on_evaluate(None, state, TrainerControl(), metrics=flipped, model=model, processing_class=tokenizer)
    # it now gets right only the ties (label 0 from the bias), where it was right everywhere
    assert metrics["eval_robust/clean_accuracy"] == 1.0
    ties = [keyword_vote(t) == 0 and keyword_vote(t, ties_to=1) == 1 for t in raw_eval["text"][:30]]
    assert flipped["eval_robust/clean_accuracy"] == pytest.approx(sum(ties) / 30)


CERTIFY = {"p_del": 0.8, "n0": 20, "n": 60}  # radius cap 3; sentences of <= 8 words are certified exactly
CERTIFIED = "eval_robust/certify:p_del=0.8/certified_accuracy@1"


def test_certify_option_errors_are_one_line_before_training(parts):
    from textrobust.callbacks import RobustnessCallback
    from textrobust.errors import UserError

    _, _, raw_eval, _, _ = parts
    for bad, message in [
        ({"n": 10}, "p_del"),
        ({"p_del": 1.0}, r"\(0, 1\)"),
        ({"p_del": 0.9, "output_dir": "out"}, "does not take 'output_dir'"),  # nothing is written from the callback
        ({"p_del": 0.9, "limit": 3}, "does not take 'limit'"),  # the data options are the callback's
        ({"p_del": 0.9, "n0": "10"}, "n0 must be of type int"),
        ({"p_del": 0.9, "n": 0}, "--n must be at least 1"),
        ({"p_del": 0.9, "level": "char"}, "--level"),
    ]:
        with pytest.raises(UserError, match=message):
            RobustnessCallback(raw_eval, certify=bad)


def test_certify_runs_on_the_trainer_model_in_eval_mode_and_names_metrics(parts, tmp_path):
    import json

    from transformers import TrainerControl, TrainerState

    import textrobust
    from textrobust.callbacks import RobustnessCallback, certify_metrics

    model, tokenizer, raw_eval, _, _ = parts
    callback = RobustnessCallback(raw_eval, [SPEC], max_steps=5, limit=12, seed=4, batch_size=16, certify=CERTIFY)
    model.train()
    seen_modes = []
    hook = model.register_forward_pre_hook(lambda module, inputs: seen_modes.append(module.training))
    metrics: dict = {}
    with pytest.warns(textrobust.evaluation.TextrobustWarning):  # not attached: no reporter
        callback.on_evaluate(
            None, TrainerState(), TrainerControl(), metrics=metrics, model=model, processing_class=tokenizer
        )
    hook.remove()
    assert seen_modes and not any(seen_modes) and model.training  # classified in eval mode, handed back in train mode
    # the numbers of textrobust.certify on the same examples with the same seed
    report = textrobust.certify(model, tokenizer, raw_eval, limit=12, seed=4, output_dir=tmp_path, **CERTIFY)
    expected = certify_metrics(report.to_json())
    assert expected == {k: v for k, v in metrics.items() if "/certify:" in k}
    assert callback.last_certify_report.to_json()["certified_accuracy"] == report.to_json()["certified_accuracy"]
    group = "eval_robust/certify:p_del=0.8"
    curve = [metrics[f"{group}/certified_accuracy@{r}"] for r in range(4)]
    assert curve == sorted(curve, reverse=True) and curve[0] == metrics[f"{group}/smoothed_accuracy"]
    assert 0 < curve[1] < 1  # some examples certified at radius 1, not all: the metric can rank models
    assert metrics[f"{group}/model_calls"] == report.model_calls > 0 and METRIC in metrics
    # the keyword vote is deterministic, so the exactly certified examples have the exact smoothed probability
    records = [json.loads(line) for line in (tmp_path / "examples.jsonl").read_text().splitlines()]
    exact = [(e, t) for e, t in zip(records, raw_eval["text"][:12]) if e["exact"] and e["prediction"] is not None]
    assert exact
    for record, text in exact:
        assert record["p_lower"] == pytest.approx(_smoothed(text, record["prediction"], CERTIFY["p_del"]), abs=1e-9)


def _smoothed(text: str, y: int, p_del: float) -> float:
    """P[keyword_vote(Del(text)) = y], by enumerating every deletion mask."""
    import itertools

    words = text.split()
    total = 0.0
    for keep in itertools.product([False, True], repeat=len(words)):
        kept = [w for w, k in zip(words, keep) if k]
        if keyword_vote(" ".join(kept)) == y:
            total += (1 - p_del) ** len(kept) * p_del ** (len(words) - len(kept))
    return total


def test_metric_for_best_model_selects_on_certified_accuracy(parts, tmp_path):
    from textrobust.callbacks import RobustnessCallback

    raw_eval = parts[2]
    trainer = _selecting_trainer(parts, tmp_path, CERTIFIED)
    RobustnessCallback(raw_eval, [SPEC], max_steps=2, limit=24, certify=CERTIFY).attach(trainer)
    trainer.train()
    logged = [e for e in trainer.state.log_history if CERTIFIED in e]
    assert [e["step"] for e in logged] == [2, 4, 6]
    values = [e[CERTIFIED] for e in logged]
    assert len(set(values)) > 1, "training should move certified accuracy, or the selection is not tested"
    best_step = logged[values.index(max(values))]["step"]
    assert trainer.state.best_metric == max(values)
    assert trainer.state.best_global_step == best_step
    assert trainer.state.best_model_checkpoint.endswith(f"checkpoint-{best_step}")
