"""A local inference server for tests and benchmarks: a Hugging Face sequence classifier behind
both API styles textrobust calls, with injectable faults. Listens on 127.0.0.1 only.

    python tests/endpoint_server.py --model DIR --port N [--latency 0.03] [--log answers.jsonl]

* ``POST /classify`` ``{"inputs": [...]}`` -> ``[[{"label", "score"}, ...], ...]`` (HF inference style)
* ``POST /v1/chat/completions``: the last message's text, with ``--template``'s fixed parts taken
  off, is classified and the label name answered ("Positive."); texts whose length is a multiple
  of ``--unsure-modulus`` get "I am not sure." (an unparseable answer). ``usage`` counts words.
* ``POST /_faults`` ``{"plan": ["429", "500", "slow", "drop", "die", "ok", ...], "latency": s,
  "unsure_modulus": m}``: the next
  classification requests get these faults in order (``429`` with ``Retry-After``, ``500``,
  ``slow`` = answer after ``--slow`` seconds, ``drop`` = close the connection unanswered,
  ``die`` = the process exits at once); ``GET /_stats`` counts requests.

Every answered request is appended to ``--log`` as one JSON line (``{"style", "inputs"}``).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--latency", type=float, default=0.0, help="seconds added to every answer")
    ap.add_argument("--slow", type=float, default=3.0)
    ap.add_argument("--retry-after", default="1")
    ap.add_argument("--template", default="{text}")
    ap.add_argument("--unsure-modulus", type=int, default=0)
    ap.add_argument("--log", default=None)
    ap.add_argument("--require-key-env", default=None, help="answer 401 unless 'Bearer $NAME' is sent")
    args = ap.parse_args()

    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.set_num_threads(1)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForSequenceClassification.from_pretrained(args.model).eval()
    names = [str(model.config.id2label[i]) for i in range(model.config.num_labels)]
    prefix, _, suffix = args.template.partition("{text}")
    lock = threading.Lock()
    state = {"plan": [], "requests": 0, "answered": 0, "unsure_modulus": args.unsure_modulus}
    key = os.environ[args.require_key_env] if args.require_key_env else None

    def classify(texts: list[str]) -> list[list[float]]:
        with lock, torch.inference_mode():
            enc = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
            return model(**enc).logits.softmax(-1).tolist()

    def log(style: str, inputs: list[str], late: bool) -> None:
        if args.log:
            with lock, open(args.log, "a", encoding="utf-8") as f:
                f.write(json.dumps({"style": style, "inputs": inputs, "late": late}) + "\n")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # one small answer must not wait for a delayed ACK

        def log_message(self, *a) -> None:  # quiet
            pass

        def reply(self, code: int, body: object, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/_stats":
                self.reply(200, state | {"plan": list(state["plan"])})
            else:
                self.reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            if self.path == "/_faults":
                with lock:
                    state["plan"] = list(body.get("plan", []))
                    state["unsure_modulus"] = int(body.get("unsure_modulus", state["unsure_modulus"]))
                    args.latency = float(body.get("latency", args.latency))
                return self.reply(200, {"ok": True})
            if self.path not in ("/classify", "/v1/chat/completions"):
                return self.reply(404, {"error": f"no route {self.path}"})
            sent = self.headers.get("Authorization", "")
            if key is not None and sent != f"Bearer {key}":  # echoes what it got, as some servers do
                return self.reply(401, {"error": f"invalid credentials: {sent!r}"})
            with lock:
                state["requests"] += 1
                fault = state["plan"].pop(0) if state["plan"] else "ok"
            if fault == "die":
                os._exit(3)
            if fault == "drop":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault == "429":
                return self.reply(429, {"error": "rate limited"}, {"Retry-After": args.retry_after})
            if fault == "500":
                return self.reply(500, {"error": "internal"})
            time.sleep(args.slow if fault == "slow" else args.latency)
            if self.path == "/classify":
                texts = list(body["inputs"])
                rows = classify(texts) if texts else []
                answer = [
                    sorted(({"label": n, "score": p} for n, p in zip(names, row)), key=lambda d: -d["score"])
                    for row in rows
                ]
                style = "hf"
            else:
                content = body["messages"][-1]["content"]
                text = (
                    content[len(prefix) : len(content) - len(suffix)]
                    if content.startswith(prefix) and content.endswith(suffix)
                    else content
                )
                texts = [text]
                if state["unsure_modulus"] and len(text) % state["unsure_modulus"] == 0:
                    said = "I am not sure."
                else:
                    row = classify([text])[0]
                    said = names[max(range(len(row)), key=row.__getitem__)].capitalize() + "."
                words = len(content.split())
                answer = {
                    "id": "chat",
                    "object": "chat.completion",
                    "model": body.get("model"),
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": said}, "finish_reason": "stop"}
                    ],
                    "usage": {
                        "prompt_tokens": words,
                        "completion_tokens": len(said.split()),
                        "total_tokens": words + len(said.split()),
                    },
                }
                style = "openai"
            try:
                self.reply(200, answer)
            except OSError:
                return
            with lock:
                state["answered"] += 1
            log(style, texts, fault == "slow")

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
