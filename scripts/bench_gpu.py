"""GPU benchmark: `textrobust eval` against the raw-forward floor of a bert-base-sized model.

The model is ``BertForSequenceClassification(BertConfig())`` (bert-base: 12 layers, hidden 768)
with random weights (no Hub), SDPA attention, in ``--dtype`` (bf16 by default) on ``--device``;
the tokenizer is the shared MiniLM one (WordPiece, the same vocabulary size as bert-base uncased).

(a) ``textrobust eval``'s plan run by the shared driver (token-level draws, overlap on),
    timed end to end (set-up excluded);
(c) the raw-forward floor: exactly the batches (a) sent to the model (recorded in a first,
    untimed run; results are deterministic, so the timed run sends the same batches), already
    on the device, forward passes only.

Prints model calls/s of (a) and (c) and their ratio (target on a GPU: (a) >= 70% of (c)), and
GPU utilisation during (a) when pynvml or nvidia-smi is available.

    python scripts/bench_gpu.py                                  # on a CUDA machine
    python scripts/bench_gpu.py --device cpu --dtype fp32 --limit 20 --max-steps 5   # smoke test
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, shared_dir, sst2_arguments  # noqa: E402

sys.path.insert(0, str(ROOT))


class Utilisation:
    """Samples GPU utilisation (%) every 0.1 s in a thread, via pynvml or nvidia-smi."""

    def __init__(self, index: int = 0) -> None:
        self.samples: list[float] = []
        self.source = None
        self._stop = threading.Event()
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._read = lambda: float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
            self.source = "pynvml"
        except Exception:  # noqa: BLE001 - fall back to nvidia-smi, else nothing
            try:
                subprocess.run(["nvidia-smi", "-L"], capture_output=True, check=True, timeout=10)
                query = ["nvidia-smi", f"--id={index}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
                self._read = lambda: float(
                    subprocess.run(query, capture_output=True, text=True, timeout=5).stdout.split()[0]
                )
                self.source = "nvidia-smi"
            except Exception:  # noqa: BLE001
                self._read = None

    def __enter__(self) -> Utilisation:
        if self._read is not None:
            self._thread = threading.Thread(target=self._loop, daemon=True)
            self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.samples.append(self._read())
            except Exception:  # noqa: BLE001
                pass

    def __exit__(self, *exc) -> None:
        self._stop.set()

    def mean(self) -> float | None:
        return sum(self.samples) / len(self.samples) if self.samples else None


def main() -> None:
    shared = shared_dir()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sst2_arguments(ap, shared, "--tokenizer")
    ap.add_argument("--limit", type=int, default=None, help="examples (default: all 872 of SST-2 validation)")
    ap.add_argument("--max-steps", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default="bf16")
    ap.add_argument("--compile", action="store_true", help="torch.compile the model (both (a) and (c))")
    ap.add_argument("--layers", type=int, default=None, help="override BertConfig's 12 layers (smoke tests)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    specs = ["delete:p=0.1", "synonym:p=0.2,constrained=0", "typo:p=0.1"]

    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from textrobust.core.driver import execute
    from textrobust.core.options import DataOptions, RunOptions
    from textrobust.evaluation import eval_plan, text_perturbations
    from textrobust.hf.modeling import resolve_dtype
    from textrobust.text.data import load_text_examples
    from textrobust.text.model import text_classifier

    device = torch.device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    tokenizer = AutoTokenizer.from_pretrained(args.tokenizer)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=max(tokenizer.vocab_size, 30522), num_labels=2)
    if args.layers:
        config.num_hidden_layers = args.layers
    try:
        model = BertForSequenceClassification._from_config(config, attn_implementation="sdpa")
    except (TypeError, ValueError, ImportError):
        model = BertForSequenceClassification(config)
    model = model.to(device=device, dtype=dtype).eval()
    data = load_text_examples(args.dataset, limit=args.limit, seed=0)
    clf = text_classifier(model, tokenizer, dataset_label_names=data.label_names)
    perturbations = text_perturbations(specs, args.synonyms)
    run = RunOptions(batch_size=args.batch_size, compile=args.compile)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def once():
        plan = eval_plan(
            clf, data, perturbations, DataOptions(), max_steps=args.max_steps, seed=0, batch_size=args.batch_size
        )
        result = execute(lambda group: plan, lambda result: result, run)
        sync()
        return result

    # untimed run: warm-up (CUDA context, kernels, torch.compile) and the batches to replay for (c)
    recorded: list[dict] = []
    hook = model.register_forward_pre_hook(
        lambda m, a, kw: recorded.append(
            {k: v.detach().to("cpu") for k, v in kw.items() if isinstance(v, torch.Tensor)}
        ),
        with_kwargs=True,
    )
    first = once()
    hook.remove()
    calls = sum(int(b["input_ids"].shape[0]) for b in recorded)
    assert calls == first.model_calls, (calls, first.model_calls)

    util = Utilisation(device.index or 0) if device.type == "cuda" else None
    start = time.perf_counter()
    if util is not None:
        with util:
            second = once()
    else:
        second = once()
    ours_s = time.perf_counter() - start
    assert second.records == first.records and second.model_calls == calls

    forward = clf.model  # compiled when --compile
    staged = [{k: v.to(device) for k, v in b.items()} for b in recorded]
    with torch.inference_mode():
        for b in staged[:3]:
            forward(**b)
        sync()
        start = time.perf_counter()
        for b in staged:
            forward(**b).logits.argmax(-1)
        sync()
        floor_s = time.perf_counter() - start

    tokens = sum(int(b["attention_mask"].sum()) for b in recorded)
    out = {
        "machine": machine(),
        "model": f"BertForSequenceClassification(BertConfig(num_hidden_layers={config.num_hidden_layers}, hidden_size={config.hidden_size})), random weights",
        "device": str(device),
        "dtype": str(dtype),
        "compile": args.compile,
        "examples": len(data),
        "perturbations": specs,
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "model_calls": calls,
        "batches": len(recorded),
        "mean_tokens_per_input": tokens / max(1, calls),
        "ours_s": ours_s,
        "floor_s": floor_s,
        "ours_model_calls_per_s": calls / ours_s,
        "floor_model_calls_per_s": calls / floor_s,
        "ours_examples_per_s": len(data) / ours_s,
        "ratio_ours_over_floor_throughput": floor_s / ours_s,
        "gpu_utilisation_mean_percent": util.mean() if util is not None else None,
        "gpu_utilisation_source": util.source if util is not None else None,
    }
    print(
        f"{out['model']} on {out['device']} ({out['dtype']}), {len(data)} examples, {calls} model calls in {len(recorded)} batches"
    )
    print(
        f"(a) textrobust eval : {out['ours_model_calls_per_s']:10.0f} model calls/s  ({ours_s:.2f} s, {out['ours_examples_per_s']:.1f} examples/s)"
    )
    print(f"(c) raw forward     : {out['floor_model_calls_per_s']:10.0f} model calls/s  ({floor_s:.2f} s)")
    print(f"(a) / (c) throughput: {out['ratio_ours_over_floor_throughput']:.2f} (target on a GPU >= 0.70)")
    print(f"GPU utilisation during (a): {out['gpu_utilisation_mean_percent']} ({out['gpu_utilisation_source']})")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
