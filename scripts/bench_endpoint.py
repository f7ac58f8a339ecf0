"""Benchmark RPR against a classifier behind an HTTP endpoint: our engine vs a naive loop, in ONE run.

A local server (tests/endpoint_server.py, 127.0.0.1, its own process) serves the shared MiniLM
SST-2 model in the Hugging Face inference style and waits a fixed ``--latency`` (default 30 ms)
before every answer, as a remote inference service would. Against it:

(n) a naive loop: one request per draw, sequential, every example at every one of max_steps
    draws of every perturbation (no deduplication, no early exit, no concurrency);
(a) our engine, one text per request (deduplication, persistent cache, early exit, concurrency);
(b) our engine, up to 16 texts per request (the default: batching as well).

All three use the same seeded draws; the first flips must agree (checked). Prints requests,
texts sent and wall time, and the ratios naive / ours (targets: >= 3x fewer requests, >= 5x
less wall time); writes the figures as JSON.

    HF_HUB_OFFLINE=1 python scripts/bench_endpoint.py --limit 20 --max-steps 50 --json docs/bench/bench_endpoint.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, shared_dir, sst2_arguments, timer  # noqa: E402

sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    shared = shared_dir()
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sst2_arguments(ap, shared, synonyms=False)
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--max-steps", type=int, default=25)
    ap.add_argument("--perturb", action="append", default=None)
    ap.add_argument("--latency", type=float, default=0.03, help="seconds the server waits before each answer")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="write the figures here")
    args = ap.parse_args()
    specs = args.perturb or ["delete:p=0.1", "typo:p=0.05"]

    import requests

    import textrobust
    from textrobust.classifiers import ModelOptions
    from textrobust.core.random import draw_key, stream_prefix
    from textrobust.evaluation import text_perturbations
    from textrobust.text.data import load_text_examples

    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests/endpoint_server.py"),
            "--model",
            args.model,
            "--port",
            str(port),
            "--latency",
            str(args.latency),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    )
    try:
        assert server.stdout.readline().strip() == "ready"
        url = f"http://127.0.0.1:{port}/classify"
        data = load_text_examples(args.dataset, limit=args.limit, seed=args.seed)
        perturbations = text_perturbations(specs)
        n, steps = len(data), args.max_steps
        out: dict = {
            "machine": machine(),
            "n_examples": n,
            "max_steps": steps,
            "perturbations": specs,
            "server_latency_s": args.latency,
            "concurrency": args.concurrency,
            "note": "the server waits latency seconds before every answer, then runs MiniLM on the request's texts",
        }
        session = requests.Session()
        session.post(url, json={"inputs": ["warm up"]}, timeout=60).raise_for_status()

        def label_of(row: list[dict]) -> int:
            return data.label_names.index(max(row, key=lambda d: d["score"])["label"])

        # (n) the naive loop
        naive_requests = 0
        with timer(out, "naive_s"):
            naive_flips = {p.spec.canonical: [None] * n for p in perturbations}
            for j, (i, text, label) in enumerate(zip(data.ids, data.texts, data.labels)):
                clean = label_of(session.post(url, json={"inputs": [text]}, timeout=60).json()[0])
                naive_requests += 1
                for p in perturbations:
                    prefix = stream_prefix(args.seed, i, p.spec.canonical)
                    for k in range(1, steps + 1):
                        draw = p.apply([text], [draw_key(prefix, k)])[0]
                        pred = label_of(session.post(url, json={"inputs": [draw]}, timeout=60).json()[0])
                        naive_requests += 1
                        if naive_flips[p.spec.canonical][j] is None and pred != label:
                            naive_flips[p.spec.canonical][j] = k
                    if clean != label:
                        naive_flips[p.spec.canonical][j] = 0

        runs = {}
        for name, per_request in (("ours_1", 1), ("ours_16", 16)):
            options = ModelOptions(concurrency=args.concurrency, inputs_per_request=per_request)
            with tempfile.TemporaryDirectory() as tmp, timer(out, name + "_s"):
                report = textrobust.evaluate(
                    url,
                    dataset=args.dataset,
                    perturbations=specs,
                    max_steps=steps,
                    seed=args.seed,
                    limit=args.limit,
                    output_dir=tmp,
                    model_options=options,
                )
            runs[name] = report
            remote = report.extra["remote"]
            out[name + "_requests"] = remote["requests"]
            out[name + "_inputs_sent"] = remote["inputs_sent"]
            by_index = {r["index"]: r for r in report.records}
            out[name + "_first_flips_agree"] = all(
                by_index[i]["first_flip"][s] == naive_flips[s][j] for s in naive_flips for j, i in enumerate(data.ids)
            )
    finally:
        server.kill()
        server.wait()

    out["naive_requests"] = out["naive_inputs_sent"] = naive_requests
    for name in ("ours_1", "ours_16"):
        out[f"ratio_requests_naive_over_{name}"] = naive_requests / max(1, out[name + "_requests"])
        out[f"ratio_inputs_naive_over_{name}"] = naive_requests / max(1, out[name + "_inputs_sent"])
        out[f"ratio_wall_naive_over_{name}"] = out["naive_s"] / out[name + "_s"]
    out["robust_ratios"] = {p.spec: p.rpr.robust.value for p in runs["ours_16"].perturbations}
    print(
        f"machine: {out['machine']}; server latency {args.latency * 1000:.0f} ms per request, concurrency {args.concurrency}"
    )
    print(f"{n} examples x {len(specs)} perturbations, max_steps {steps}")
    print(f"{'':36}{'requests':>10}{'texts sent':>12}{'wall s':>10}")
    print(f"{'(n) naive loop':36}{naive_requests:>10}{naive_requests:>12}{out['naive_s']:>10.1f}")
    for name, title in (("ours_1", "(a) textrobust, 1 text/request"), ("ours_16", "(b) textrobust, 16 texts/request")):
        print(
            f"{title:36}{out[name + '_requests']:>10}{out[name + '_inputs_sent']:>12}{out[name + '_s']:>10.1f}"
            f"   naive/ours: requests {out[f'ratio_requests_naive_over_{name}']:.1f}x, wall {out[f'ratio_wall_naive_over_{name}']:.1f}x, "
            f"first flips agree: {out[name + '_first_flips_agree']}"
        )
    print("targets: >= 3x fewer requests, >= 5x less wall time")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
