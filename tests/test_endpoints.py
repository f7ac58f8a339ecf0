"""Classifiers behind HTTP endpoints, against a real local server (tests/endpoint_server.py,
its own process, 127.0.0.1 only) serving the shared MiniLM SST-2 model in both API styles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import ROOT, eval_argv, free_port, torchrun_command

import textrobust
from textrobust.classifiers import ModelOptions
from textrobust.classifiers.http import Caller, EndpointError, RemoteStats, parse_answer, retry_after
from textrobust.cli import main
from textrobust.errors import UserError

SERVER = ROOT / "tests" / "endpoint_server.py"
SPECS = ["delete:p=0.1", "typo:p=0.05"]
TEMPLATE = "Review: {text}\nIs this review positive or negative? Answer:"
KEY_ENV, KEY = "TEXTROBUST_TEST_KEY", "sk-test-5ecret-9f3a1c"
LIMIT, STEPS = 6, 12


class Server:
    """The test server in a subprocess; ``start`` blocks until it listens."""

    def __init__(self, model: Path, log: Path, port: int | None = None, *extra: str) -> None:
        self.model, self.log, self.port, self.extra = model, log, port or free_port(), extra
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        env = dict(os.environ, **{KEY_ENV: KEY})
        cmd = [
            sys.executable,
            str(SERVER),
            "--model",
            str(self.model),
            "--port",
            str(self.port),
            "--log",
            str(self.log),
            "--template",
            TEMPLATE,
            "--require-key-env",
            KEY_ENV,
            *self.extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(180)
        assert line and line[0].strip() == "ready", "the test server did not start"
        return self

    def faults(self, plan: list[str], unsure_modulus: int = 0, latency: float = 0.0) -> None:
        body = {"plan": plan, "unsure_modulus": unsure_modulus, "latency": latency}
        r = requests.post(self.url + "/_faults", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert r.status_code == 200

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def answered(self) -> list[str]:
        """Every input the server answered in time, in order (both lives of a restarted server)."""
        if not self.log.exists():
            return []
        rows = [json.loads(l) for l in self.log.read_text().splitlines() if l.strip()]
        return [t for r in rows if not r["late"] for t in r["inputs"]]


@pytest.fixture(scope="module")
def minilm(shared) -> Path:
    return shared / "models/minilm-l6-sst2"


@pytest.fixture(scope="module")
def sst2(shared) -> str:
    return str(shared / "data/sst2")


@pytest.fixture(scope="module")
def server(minilm, tmp_path_factory):
    s = Server(minilm, tmp_path_factory.mktemp("server") / "answers.jsonl").start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def reference(minilm, sst2, tmp_path_factory):
    """The in-process Hugging Face run the endpoint runs must equal (and its examples.jsonl)."""
    out = tmp_path_factory.mktemp("reference")
    report = textrobust.evaluate(
        str(minilm), dataset=sst2, perturbations=SPECS, max_steps=STEPS, limit=LIMIT, output_dir=out
    )
    return report, (out / "examples.jsonl").read_bytes()


def options(**kw) -> ModelOptions:
    base = dict(api_key_env=KEY_ENV, timeout=5.0, backoff=0.05, max_retries=6, concurrency=4, inputs_per_request=4)
    return ModelOptions(**(base | kw))


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)


def run(model, sst2, out, **kw):
    return textrobust.evaluate(
        model, dataset=sst2, perturbations=SPECS, max_steps=STEPS, limit=LIMIT, output_dir=out, **kw
    )


def flips(report) -> list:
    return [(r["index"], r["clean_prediction"], r["first_flip"]) for r in report.records]


def test_hf_endpoint_equals_in_process_and_pays_once_per_input(server, sst2, reference, tmp_path):
    server.faults([])
    before = len(server.answered())
    report = run(server.url + "/classify", sst2, tmp_path, model_options=options())
    assert flips(report) == flips(reference[0])
    assert (tmp_path / "examples.jsonl").read_bytes() == reference[1]
    remote = report.to_json()["remote"]
    sent = server.answered()[before:]
    # every distinct input went out exactly once, and the report says so
    assert len(sent) == len(set(sent)) == remote["inputs_sent"] > 0
    assert (
        remote["requests"]
        == json.loads((tmp_path / "report.json").read_text())["remote"]["requests"]
        >= remote["inputs_sent"] / 4
    )
    assert remote["retries"] == remote["failures"] == 0
    assert remote["inputs_sent"] <= report.model_calls
    assert "## Remote calls" in (tmp_path / "report.md").read_text()
    # a rerun into the same directory is answered from the response cache: nothing is sent
    again = run(server.url + "/classify", sst2, tmp_path, model_options=options(), overwrite=True)
    assert flips(again) == flips(report) and len(server.answered()) == before + len(sent)
    assert (
        again.to_json()["remote"]["requests"] == 0 and again.to_json()["remote"]["cache_hits"] == remote["inputs_sent"]
    )


def test_chat_endpoint_equals_in_process_and_never_leaks_the_key(server, sst2, reference, tmp_path, capsys):
    server.faults([])
    before = len(server.answered())
    out = tmp_path / "out"
    chat = [
        "--base-url",
        server.url + "/v1",
        "--api-key-env",
        KEY_ENV,
        "--prompt",
        TEMPLATE,
        "--labels",
        "negative,positive",
    ]
    code = main(eval_argv("openai:minilm-sst2", sst2, out, SPECS, limit=LIMIT, max_steps=STEPS, extra=chat))
    shown = capsys.readouterr()
    assert code == 0, shown.err
    assert (out / "examples.jsonl").read_bytes() == reference[1]
    remote = json.loads((out / "report.json").read_text())["remote"]
    sent = server.answered()[before:]
    assert remote["requests"] == remote["inputs_sent"] == len(sent) == len(set(sent)) > 0  # one text per chat request
    assert remote["total_tokens"] == remote["prompt_tokens"] + remote["completion_tokens"] > remote["requests"]
    assert remote["unparseable"] == 0 and "requests" in shown.out
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["prompt"] == TEMPLATE and run_json["model"] == f"openai:minilm-sst2@{server.url}/v1"
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in shown.out + shown.err
    # a wrong key: the server echoes what it got, our one-line error does not
    os.environ[KEY_ENV] = "sk-wrong-key-7777"
    with pytest.raises(UserError) as err:
        run(
            "openai:minilm-sst2",
            sst2,
            tmp_path / "bad",
            prompt=TEMPLATE,
            model_options=options(base_url=server.url + "/v1"),
        )
    assert "HTTP 401" in str(err.value) and "sk-wrong-key-7777" not in str(err.value) and "\n" not in str(err.value)


def test_chat_answers_are_cached_per_answer_length(server, sst2, tmp_path):
    """A chat answer depends on max_tokens, so the response cache keys it: the same settings
    pay nothing again; another max_new_tokens asks every text again (and run.json says which)."""
    server.faults([])
    cache = str(tmp_path / "cache")

    def chat(name: str, **kw) -> tuple[dict, dict]:
        report = run(
            "openai:minilm-sst2",
            sst2,
            tmp_path / name,
            prompt=TEMPLATE,
            model_options=options(base_url=server.url + "/v1", cache_dir=cache, **kw),
        )
        return report.to_json()["remote"], json.loads((tmp_path / name / "run.json").read_text())

    first, first_run = chat("first")
    again, _ = chat("again")
    shorter, shorter_run = chat("shorter", max_new_tokens=4)
    assert first["inputs_sent"] > 0 and again["inputs_sent"] == 0 and again["cache_hits"] > 0
    assert shorter["inputs_sent"] == first["inputs_sent"]
    assert first_run["max_new_tokens"] == 16 and shorter_run["max_new_tokens"] == 4
    with pytest.raises(UserError, match="max_new_tokens"):
        options(max_new_tokens=0)


def test_unparseable_answers_are_counted_and_scored_wrong(server, sst2, tmp_path):
    server.faults([], unsure_modulus=3)
    report = run("openai:minilm", sst2, tmp_path, prompt=TEMPLATE, model_options=options(base_url=server.url + "/v1"))
    server.faults([], unsure_modulus=0)
    remote = report.to_json()["remote"]
    data = textrobust.text.data.load_text_examples(sst2, limit=LIMIT)
    unsure_clean = [i for i, t in zip(data.ids, data.texts) if len(t) % 3 == 0]
    assert (
        unsure_clean
        and remote["unparseable"] >= len(unsure_clean)
        and "wrong prediction" in remote["unparseable_policy"]
    )
    for r in report.records:
        if r["index"] in unsure_clean:  # never guessed: the clean answer names no label, so the example counts as wrong
            assert r["clean_prediction"] == -1 and set(r["first_flip"].values()) == {0}
    assert report.clean_accuracy.k <= LIMIT - len(unsure_clean)


def test_faults_are_retried_and_nothing_is_lost_or_duplicated(server, sst2, reference, tmp_path):
    plan = ["429", "500", "slow", "drop", "500", "ok", "429"]
    server.faults(plan)
    before = len(server.answered())
    report = run(server.url + "/classify", sst2, tmp_path, model_options=options(timeout=1.0, concurrency=2))
    assert (tmp_path / "examples.jsonl").read_bytes() == reference[1]
    remote = report.to_json()["remote"]
    assert remote["retries"] == len(plan) - 1 and remote["failures"] == 0
    sent = server.answered()[before:]
    assert len(sent) == len(set(sent)) == remote["inputs_sent"]  # the late answer to "slow" is not counted


def test_server_killed_mid_run_ends_it_cleanly_and_resume_completes_identically(server, minilm, sst2, tmp_path, capsys):
    # several engine rounds; example 8 is misclassified, so it finishes in the first one
    steps, limit = 60, 10
    expected = tmp_path / "expected"
    textrobust.evaluate(
        str(minilm), dataset=sst2, perturbations=SPECS, max_steps=steps, limit=limit, output_dir=expected
    )
    server.faults([], latency=0.1)
    before = len(server.answered())
    out = tmp_path / "out"
    client = ["--max-retries", "2", "--timeout", "2", "--concurrency", "2", "--api-key-env", KEY_ENV]
    args = eval_argv(server.url + "/classify", sst2, out, SPECS, limit=limit, max_steps=steps, extra=client)
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("code", main(args)))
    worker.start()
    examples = out / "examples.jsonl"
    deadline = time.monotonic() + 300
    while worker.is_alive() and time.monotonic() < deadline:
        if examples.exists() and examples.read_bytes().count(b"\n") >= 1:
            break
        time.sleep(0.005)
    server.stop()  # killed mid-run: the client retries, then gives up
    worker.join(300)
    assert result.get("code") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: endpoint") and "--resume" in err[0]
    finished = examples.read_bytes().count(b"\n")
    assert 1 <= finished < limit  # what finished is kept
    paid = server.answered()[before:]
    server.start()  # restarted on the same address (later tests use it too)
    assert main(args + ["--resume"]) == 0
    assert (out / "examples.jsonl").read_bytes() == (expected / "examples.jsonl").read_bytes()
    answered = server.answered()[before:]
    assert len(answered) == len(set(answered)) > len(paid)  # nothing asked twice across the two lives
    report = json.loads((out / "report.json").read_text())
    assert report["resumed_examples"] == finished
    assert report["remote"]["inputs_sent"] == len(answered) - len(paid)


def test_answer_parsing_and_retry_after():
    choices = [("negative", "negative"), ("positive", "positive")]
    assert parse_answer("Positive.", choices) == 1
    assert parse_answer("  NEGATIVE ", choices) == 0
    assert parse_answer("The review is negative.", choices) == 0
    assert parse_answer("positive or negative", choices) is None
    assert parse_answer("I am not sure", choices) is None
    assert parse_answer("non-negative", choices) is None
    assert parse_answer("great", [("negative", "terrible"), ("positive", "great")]) == 1
    assert retry_after("2") == 2.0 and retry_after(None) is None and retry_after("soon") is None
    assert 0 <= retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_bad_endpoint_options_are_one_line_errors(sst2, monkeypatch, tmp_path):
    with pytest.raises(UserError, match="needs --base-url"):
        run("openai:m", sst2, None, prompt=TEMPLATE)
    with pytest.raises(UserError, match="prompt template"):
        run("openai:m", sst2, None, model_options=ModelOptions(base_url="http://127.0.0.1:9/v1"))
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(UserError, match=f"{KEY_ENV}, but that environment variable is not set"):
        run("http://127.0.0.1:9/classify", sst2, None, model_options=ModelOptions(api_key_env=KEY_ENV))
    with pytest.raises(UserError, match="concurrency"):
        ModelOptions(concurrency=0)


def test_retries_wait_for_retry_after_then_back_off_exponentially(server):
    """The waits between attempts: the server's Retry-After (1 s here) for a 429, else
    backoff * 2**attempt; each capped at max_wait. A recorder stands in for time.sleep."""
    server.faults(["429", "500", "500"])
    waits: list[float] = []
    stats = RemoteStats()
    caller = Caller(server.url + "/classify", options(backoff=0.05), stats, sleep=waits.append)
    answer = caller.post({"inputs": ["a charming film"]})
    assert waits == [1.0, 0.1, 0.2] and stats.retries == 3 and stats.failures == 0
    assert isinstance(answer, list) and {d["label"] for d in answer[0]} == {"negative", "positive"}
    server.faults(["429", "429"])
    waits.clear()
    Caller(server.url + "/classify", options(max_wait=0.25), RemoteStats(), sleep=waits.append).post({"inputs": ["x"]})
    assert waits == [0.25, 0.25]  # Retry-After 1 s, capped
    # an endpoint that stays down: one line, which says whether anything was kept
    server.faults(["500", "500"])
    down = Caller(server.url + "/classify", options(max_retries=1), RemoteStats(), sleep=waits.append)
    with pytest.raises(EndpointError) as err:
        down.post({"inputs": ["x"]})
    assert "failed 2 times (last: HTTP 500)" in str(err.value) and "nothing was kept" in str(err.value)
    server.faults([])


def test_bench_endpoint_script_runs_and_agrees_with_the_naive_loop(minilm, sst2, tmp_path):
    """scripts/bench_endpoint.py, tiny: the naive loop sends one request per draw, our engine's
    first flips equal the loop's, and it sends fewer texts (the figures: docs/models.md)."""
    out = tmp_path / "bench.json"
    args = ["--model", str(minilm), "--dataset", sst2, "--limit", "3", "--max-steps", "4", "--latency", "0"]
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_endpoint.py"), *args, "--json", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["naive_requests"] == 3 * (1 + len(SPECS) * 4)
    for name in ("ours_1", "ours_16"):
        assert figures[name + "_first_flips_agree"] is True
        assert 3 <= figures[name + "_inputs_sent"] < figures["naive_requests"]
    assert figures["ours_16_requests"] < figures["ours_1_requests"] == figures["ours_1_inputs_sent"]
    assert "naive/ours" in done.stdout


def test_endpoint_under_torchrun_two_processes_equals_one_and_sums_the_remote_section(
    server, sst2, reference, tmp_path
):
    """Two CPU processes (torchrun, gloo) split the examples; each calls the endpoint and keeps its
    own cache file (responses.rank1.jsonl); the main process writes the same examples.jsonl as the
    one-process run and a remote section summed over both, which the server's log confirms."""
    server.faults([])
    before = len(server.answered())
    out = tmp_path / "out"
    extra = ["--api-key-env", KEY_ENV, "--concurrency", "2"]
    args = eval_argv(server.url + "/classify", sst2, out, SPECS, limit=LIMIT, max_steps=STEPS, extra=extra)
    command = torchrun_command(2)
    env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES="", **{KEY_ENV: KEY})

    def launch(*more: str) -> dict:
        done = subprocess.run(
            [*command, "-m", "textrobust", *args, *more], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert KEY not in done.stdout + done.stderr
        return json.loads((out / "report.json").read_text())

    report = launch()
    assert (out / "examples.jsonl").read_bytes() == reference[1]
    assert report["processes"] == 2
    sent = server.answered()[before:]
    assert report["remote"]["inputs_sent"] == len(sent) == len(set(sent)) > 0
    assert (out / "responses.jsonl").stat().st_size > 0 and (out / "responses.rank1.jsonl").stat().st_size > 0
    again = launch("--overwrite")  # both processes read both cache files: nothing is sent
    assert (out / "examples.jsonl").read_bytes() == reference[1]
    assert again["remote"]["requests"] == 0 and again["remote"]["cache_hits"] == len(sent)
    assert len(server.answered()) == before + len(sent)
