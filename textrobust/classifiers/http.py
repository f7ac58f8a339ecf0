"""Classifiers behind HTTP endpoints, called properly.

Two API styles:

* **Hugging Face inference** (Text Embeddings Inference, Inference Endpoints, ...):
  ``POST <url> {"inputs": [texts]}`` answers ``[[{"label", "score"}, ...], ...]``; the label
  with the highest score wins and is matched to the dataset's labels by name (``LABEL_k`` is id
  ``k``; ``labels=`` names the model's labels when they differ).
* **OpenAI-compatible chat completions** (vLLM, TGI, llama.cpp server, Ollama, hosted APIs):
  ``POST <base_url>/chat/completions`` with the prompt template filled with the text, temperature
  0; the answer is mapped to the label whose name or verbalizer it is (or that it alone contains
  as a whole word). Any other answer is *unparseable*: never guessed, recorded as
  :data:`~textrobust.classifiers.labels.UNPARSEABLE` (a wrong prediction: a flip on a draw, a
  misclassified example on the clean input) and counted in the report.

Every call: distinct texts of a batch are looked up in the persistent response cache
(:mod:`.cache`) and only the missing ones are sent, over at most ``concurrency`` requests at
a time, each with a timeout and up to ``max_retries`` retries on 429, 5xx, timeouts and
dropped connections, waiting ``backoff * 2**attempt`` seconds or the server's ``Retry-After``
(at most ``max_wait``). An endpoint that stays down raises :class:`EndpointError` (a
:class:`UserError`: one line, exit 2); answers received until then are already cached.
The API key is read from the environment variable named by ``api_key_env`` at call time and
sent only in the ``Authorization`` header: it is in no name, setting, log or message.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Sequence
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from textrobust.classifiers.cache import ResponseCache, cache_key
from textrobust.classifiers.labels import UNPARSEABLE, LabelMap, label_map
from textrobust.classifiers.options import ModelOptions, fill
from textrobust.errors import UserError

RETRY_STATUS = {408, 425, 429, 500, 502, 503, 504}


class EndpointError(UserError):
    """The endpoint failed for good (after the retries, or with an answer retrying cannot fix)."""


@dataclass
class RemoteStats:
    """What the remote calls of a run cost (this process, this run)."""

    requests: int = 0  # HTTP requests that got an answer (retried attempts not counted)
    inputs_sent: int = 0  # texts in those requests
    cache_hits: int = 0  # texts answered from the response cache
    retries: int = 0
    failures: int = 0  # requests abandoned after the retries, or refused for good
    unparseable: int = 0  # distinct texts whose answer named no label
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    lock: Any = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                current = getattr(self, name)
                setattr(self, name, (current or 0) + value)

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "lock"}


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment (where credentials sometimes hide)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class Caller:
    """POSTs JSON to one URL with bounded concurrency, timeouts, retries and backoff."""

    def __init__(
        self, url: str, options: ModelOptions, stats: RemoteStats, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        self.url = url
        self.name = public_url(url)
        self.options = options
        self.stats = stats
        self.sleep = sleep
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(max_workers=options.concurrency, thread_name_prefix="textrobust-http")

    def _session(self) -> Any:
        import requests

        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _headers(self) -> dict[str, str]:
        key = self.options.api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _scrub(self, text: str) -> str:
        key = self.options.api_key() if self.options.api_key_env else None
        return text.replace(key, "***") if key else text

    def post(self, payload: dict) -> Any:
        """The JSON answer to one request, retried as the module docstring says."""
        import requests

        o = self.options
        last = ""
        for attempt in range(o.max_retries + 1):
            wait_s = min(o.backoff * 2**attempt, o.max_wait)
            try:
                response = self._session().post(
                    self.url, json=payload, headers=self._headers(), timeout=(min(o.timeout, 10.0), o.timeout)
                )
            except requests.Timeout:
                last = f"no answer within {o.timeout:g} s"
            except requests.ConnectionError as e:
                last = "connection failed" + (": refused" if "refused" in str(e).lower() else "")
            except requests.RequestException as e:
                last = type(e).__name__
            else:
                if response.status_code == 200:
                    try:
                        return response.json()
                    except ValueError:
                        last = "an answer that is not JSON"
                elif response.status_code in RETRY_STATUS:
                    last = f"HTTP {response.status_code}"
                    hinted = retry_after(response.headers.get("Retry-After"))
                    if hinted is not None:
                        wait_s = min(hinted, o.max_wait)
                else:
                    self.stats.add(failures=1)
                    body = self._scrub(" ".join(response.text.split()))[:200]
                    raise EndpointError(f"endpoint {self.name} answered HTTP {response.status_code}: {body}")
            if attempt < o.max_retries:
                self.stats.add(retries=1)
                self.sleep(wait_s)
        self.stats.add(failures=1)
        tries = f"{o.max_retries + 1} times" if o.max_retries else "once"
        kept = (
            "the examples finished so far are kept in the output directory: rerun with --resume when the endpoint is back"
            if o.cache_dir is not None
            else "without an output directory nothing was kept: pass --output to keep finished examples and answers"
        )
        raise EndpointError(f"endpoint {self.name} failed {tries} (last: {last}); {kept}")

    def map(self, payloads: Sequence[dict], on_answer: Callable[[int, Any], None]) -> None:
        """Send every payload (at most ``concurrency`` at a time); ``on_answer(i, answer)`` runs as
        each arrives. On a failure the requests not yet started are cancelled, the running ones
        finish, and the first error is raised."""

        def one(i: int) -> None:
            on_answer(i, self.post(payloads[i]))

        futures = [self._pool.submit(one, i) for i in range(len(payloads))]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for f in pending:
            f.cancel()
        wait(futures)
        for f in futures:
            if not f.cancelled() and f.exception() is not None:
                raise f.exception()


@dataclass
class EndpointClassifier:
    """Engine classifier for a remote endpoint (``style`` ``"hf"`` or ``"openai"``)."""

    style: str
    caller: Caller
    cache: ResponseCache
    labels: LabelMap
    name: str
    model: str = ""  # the remote model's name (OpenAI style)
    template: str | None = None
    answers: list[tuple[str, ...]] = field(default_factory=list)  # words that name each model label
    unparseable_texts: set = field(default_factory=set)

    @property
    def stats(self) -> RemoteStats:
        return self.caller.stats

    @property
    def label_names(self) -> list[str]:
        return list(self.labels.model_names or self.labels.dataset_names or [])

    @property
    def run_settings(self) -> dict:
        """What, besides the name, determines this classifier's answers (for ``run.json``)."""
        out: dict[str, Any] = {"model_kind": f"endpoint:{self.style}"}
        if self.template is not None:
            out["prompt"] = self.template
            out["labels"] = [list(a) for a in self.answers]
        if self.style == "openai":
            out["max_new_tokens"] = self.max_new_tokens
        return out

    @staticmethod
    def size(text: str) -> int:
        """Sort key for batching: texts of similar length share a request."""
        return len(text)

    def key(self, text: str) -> str:
        """The response cache's key: everything sent that decides the answer to ``text``."""
        if self.style == "openai":  # the answer's length limit is part of what is asked
            return cache_key(self.style, self.caller.name, self.model, self.template, self.max_new_tokens, text)
        return cache_key(self.style, self.caller.name, self.model, self.template, text)

    @property
    def max_new_tokens(self) -> int:
        return self.caller.options.max_new_tokens

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Dataset label ids for ``texts``: cached answers, the rest sent (deduplicated)."""
        texts = list(texts)
        answers: dict[str, Any] = {}
        missing: list[str] = []
        for t in dict.fromkeys(texts):
            hit = self.cache.get(self.key(t))
            if hit is None:
                missing.append(t)
            else:
                answers[t] = hit
        self.stats.add(cache_hits=len(answers))
        if missing:
            self._fetch(missing, answers)
        return np.array([self.decode(t, answers[t]) for t in texts], dtype=np.int64)

    def _fetch(self, missing: list[str], answers: dict[str, Any]) -> None:
        lock = threading.Lock()
        if self.style == "hf":
            n = self.caller.options.inputs_per_request
            chunks = [missing[i : i + n] for i in range(0, len(missing), n)]
            payloads = [{"inputs": c} for c in chunks]
        else:
            chunks = [[t] for t in missing]
            payloads = [self.chat_payload(t) for t in missing]

        def on_answer(i: int, answer: Any) -> None:
            values = self.split_answer(answer, len(chunks[i]))
            self.stats.add(requests=1, inputs_sent=len(chunks[i]))
            for text, value in zip(chunks[i], values):
                self.cache.put(self.key(text), value, text)
                with lock:
                    answers[text] = value

        self.caller.map(payloads, on_answer)

    def chat_payload(self, text: str) -> dict:
        return {
            "model": self.model,
            "messages": [{"role": "user", "content": fill(self.template or "{text}", text)}],
            "temperature": 0,
            "max_tokens": self.max_new_tokens,
        }

    def split_answer(self, answer: Any, n: int) -> list[Any]:
        """One cacheable value per text of a request's answer (checked for the API's shape)."""
        where = self.caller.name
        if self.style == "hf":
            if isinstance(answer, list) and n == 1 and answer and isinstance(answer[0], dict):
                answer = [answer]  # one input answered without the outer list
            ok = isinstance(answer, list) and len(answer) == n and all(isinstance(row, (list, dict)) for row in answer)
            if not ok:
                raise EndpointError(
                    f"endpoint {where} did not answer in the text-classification format ([[{{label, score}}, ...], ...] for {n} inputs)"
                )
            return [row if isinstance(row, list) else [row] for row in answer]
        try:
            content = answer["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise EndpointError(
                f"endpoint {where} did not answer in the chat-completions format (choices[0].message.content)"
            ) from None
        usage = answer.get("usage") or {}
        counts = {
            k: int(usage[k])
            for k in ("prompt_tokens", "completion_tokens", "total_tokens")
            if isinstance(usage.get(k), int)
        }
        if counts:
            self.stats.add(**counts)
        return [{"answer": content if isinstance(content, str) else ""}]

    def decode(self, text: str, value: Any) -> int:
        """The dataset label id of a cached value (or UNPARSEABLE for a chat answer naming no label)."""
        if self.style == "hf":
            try:
                best = max(value, key=lambda item: float(item["score"]))
                return self.labels.name_to_dataset(best["label"])
            except (KeyError, TypeError, ValueError):
                raise EndpointError(f"endpoint {self.caller.name} answered items without label and score") from None
        index = parse_answer(value.get("answer", ""), self.answers)
        if index is None:
            if text not in self.unparseable_texts:
                self.unparseable_texts.add(text)
                self.stats.add(unparseable=1)
            return UNPARSEABLE
        return int(self.labels.to_dataset[index])

    def usage(self) -> dict:
        """The report section: requests sent, cache hits, retries, failures, tokens, unparseable."""
        return {"endpoint": self.caller.name, "style": self.style, **self.stats.to_json()}


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


def parse_answer(answer: str, choices: Sequence[Sequence[str]]) -> int | None:
    """The label an answer names: the one whose name/verbalizer IS the answer (ignoring case,
    punctuation and spaces), else the only one whose words occur in it; otherwise ``None``."""
    said = _normal(answer)
    words = [{_normal(w) for w in ws if _normal(w)} for ws in choices]
    exact = [i for i, ws in enumerate(words) if said in ws]
    if len(exact) == 1:
        return exact[0]
    found = [i for i, ws in enumerate(words) if any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", said) for w in ws)]
    return found[0] if len(found) == 1 else None


def hf_endpoint_classifier(
    url: str,
    options: ModelOptions,
    *,
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
) -> EndpointClassifier:
    """A classifier for a Hugging Face-style text-classification endpoint at ``url``."""
    caller = Caller(url, options, RemoteStats())
    labels = label_map(options.label_names, dataset_label_names, dataset_labels)
    return EndpointClassifier("hf", caller, ResponseCache(options.cache_dir), labels, caller.name)


def chat_endpoint_classifier(
    model: str,
    options: ModelOptions,
    *,
    dataset_label_names: Sequence[str] | None = None,
    dataset_labels: Sequence[int] = (),
) -> EndpointClassifier:
    """A classifier for an OpenAI-compatible chat-completions endpoint serving ``model``."""
    if not options.base_url:
        raise UserError("openai:<model> needs --base-url (e.g. http://localhost:8000/v1)")
    if not options.base_url.startswith(("http://", "https://")):
        raise UserError(f"--base-url must start with http:// or https://, got {public_url(options.base_url)!r}")
    if options.prompt is None:
        raise UserError("a chat model needs a prompt template with {text} (prompt=..., --prompt)")
    pairs = options.labels
    if pairs is None:
        if dataset_label_names is None:
            raise UserError("the dataset's labels have no names: pass labels=[...] (--labels) with a name per label id")
        pairs = tuple((str(n), " " + str(n)) for n in dataset_label_names)
    url = options.base_url.rstrip("/")
    url = url if url.endswith("/chat/completions") else url + "/chat/completions"
    caller = Caller(url, options, RemoteStats())
    labels = label_map([n for n, _ in pairs], dataset_label_names, dataset_labels)
    name = f"openai:{model}@{public_url(options.base_url)}"
    answers = [(n, v.strip()) for n, v in pairs]
    return EndpointClassifier(
        "openai", caller, ResponseCache(options.cache_dir), labels, name, model, options.prompt, answers
    )
