"""Host cost per draw of ``textrobust.evaluate`` with a null model, through the public API only.

The same script runs unchanged against any checkout since the first release (``PYTHONPATH=<checkout>``),
so the code of a past issue can be measured in the same session as today's. A null model (a
``torch.nn.Module`` that answers "positive" without a forward pass) sits behind the real Hugging
Face adapter, so tokenization and tensor building are included; every label is set to
"positive", so every example is robust and runs all its draws. Set-up (loading data, resources,
the adapter) is removed by difference: ``(T(max_steps=250) - T(max_steps=50)) / (draws of the
200 extra steps)``, CPU time (``time.process_time``), one torch thread.

    TEXTROBUST_SHARED=../shared PYTHONPATH=$PWD python scripts/bench_host_api.py \\
        --perturb delete:p=0.1 --perturb synonym:p=0.2,constrained=0 --perturb typo:p=0.1 \\
        --json docs/bench/host_api_main.json

(Code from before constrained synonyms takes ``synonym:p=0.2``: the same unconstrained draws.)
Leave ``$TEXTROBUST_ENCODER`` unset: today's reports then skip the validity similarities (a
sentence-encoder pass per run, the same for 50 and 250 steps, which only adds noise here).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, shared_dir  # noqa: E402


def main() -> None:
    shared = shared_dir()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--perturb", action="append", required=True)
    ap.add_argument("--limit", type=int, default=200, help="SST-2 validation sentences")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    import datasets
    import torch
    from transformers import AutoTokenizer, PretrainedConfig
    from transformers.modeling_outputs import SequenceClassifierOutput

    import textrobust
    from textrobust.text.synonyms import from_file

    torch.set_num_threads(1)

    class NullModel(torch.nn.Module):
        """Answers "positive" for every input without a forward pass."""

        def __init__(self) -> None:
            super().__init__()
            self.config = PretrainedConfig(
                id2label={0: "negative", 1: "positive"}, label2id={"negative": 0, "positive": 1}
            )
            self.dummy = torch.nn.Parameter(torch.zeros(1))

        def forward(self, input_ids=None, attention_mask=None, **kwargs):
            logits = torch.zeros(input_ids.shape[0], 2)
            logits[:, 1] = 1.0
            return SequenceClassifierOutput(logits=logits)

    tokenizer = AutoTokenizer.from_pretrained(str(shared / "models/minilm-l6-sst2"))
    data = datasets.load_dataset(str(shared / "data/sst2"))["validation"].select(range(args.limit))
    data = data.map(lambda row: {"label": 1})
    synonyms = from_file(shared / "data/wordnet/oewn_synonyms.json")
    model = NullModel()

    def run(steps: int) -> tuple[float, float]:
        gc.collect()
        cpu, wall = time.process_time(), time.perf_counter()
        textrobust.evaluate(
            model, tokenizer, data, args.perturb, max_steps=steps, seed=0, batch_size=args.batch_size, synonyms=synonyms
        )
        return time.process_time() - cpu, time.perf_counter() - wall

    run(5)  # imports, caches, resources
    draws = args.limit * len(args.perturb) * 200
    runs = []
    for _ in range(args.repeats):
        low, high = run(50), run(250)
        runs.append(
            {"cpu_us_per_draw": (high[0] - low[0]) / draws * 1e6, "wall_us_per_draw": (high[1] - low[1]) / draws * 1e6}
        )
    code = Path(textrobust.__file__).resolve().parents[1]
    commit = subprocess.run(["git", "-C", str(code), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    out = {
        "code": str(code),
        "commit": commit.stdout.strip(),
        "machine": machine(),
        "perturbations": args.perturb,
        "examples": args.limit,
        "draws_timed": draws,
        "runs": runs,
        "cpu_us_per_draw": statistics.median(r["cpu_us_per_draw"] for r in runs),
        "wall_us_per_draw": statistics.median(r["wall_us_per_draw"] for r in runs),
        "load_average_at_end": Path("/proc/loadavg").read_text().split()[:3],
    }
    print(
        f"{out['code']} @ {out['commit']}: {out['cpu_us_per_draw']:.1f} CPU us per draw (runs {[round(r['cpu_us_per_draw'], 1) for r in runs]})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
