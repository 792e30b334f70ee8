"""Tests of qa_utils.serve with a real HTTP client on 127.0.0.1 (uvicorn in a thread/process)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest
from prometheus_client import generate_latest

from qa_utils.core.inference import Answer, Candidate
from qa_utils.serve import main as serve_main
from qa_utils.serving import harness
from qa_utils.serving.app import (
    BodyLimit,
    BodyTooLarge,
    ServiceLimits,
    create_app,
    trained_or_embedded,
)
from qa_utils.serving.harness import serve_in_thread
from qa_utils.serving.replay import ReplayConfig, replay, stream_summary

REPO = Path(__file__).resolve().parents[2]
FAKE_MODULE = """
import time

from qa_utils.core.inference import Answer, Candidate

class FirstWord:
    def answer(self, question, context):
        word = context.split()[0]
        return Answer(word, 0, len(word), 0.5)

class Slow(FirstWord):
    def answer(self, question, context):
        time.sleep(0.4)
        return super().answer(question, context)
"""


class FirstWord:
    """Answers with the first word of the context, after a short pause."""

    def __init__(self, pause_s: float = 0.002) -> None:
        self.pause_s = pause_s

    def answer(self, question: str, context: str) -> Answer:
        time.sleep(self.pause_s)
        word = context.split()[0]
        return Answer(word, 0, len(word), 0.5)


class WithNBest:
    """Answers with the first two words of the context as its n-best list."""

    def answer(self, question: str, context: str) -> Answer:
        first, second = context.split()[:2]
        nbest = (
            Candidate(first, 0, len(first), 0.75),
            Candidate(second, len(first) + 1, len(first) + 1 + len(second), 0.25),
        )
        return Answer(first, 0, len(first), 0.75, nbest)


class Blocking:
    """Holds every call until `release` is set, to fill the service up on purpose."""

    def __init__(self) -> None:
        self.started, self.release = threading.Event(), threading.Event()
        self.calls = 0

    def answer(self, question: str, context: str) -> Answer:
        self.calls += 1
        self.started.set()
        self.release.wait(20)
        return Answer("x", 0, 1, 1.0)


class CharTokens(FirstWord):
    """Counts one token a character, as a tokenizer does for CJK text."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.answered = 0

    def count_tokens(self, text: str) -> int:
        return len(text)

    def answer(self, question: str, context: str) -> Answer:
        self.answered += 1
        return super().answer(question, context)


class Broken:
    """Fails on every call."""

    def answer(self, question: str, context: str) -> Answer:
        raise RuntimeError("boom")


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    """Poll `condition` until it holds (fail after `timeout_s`)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


BODY = {"question": "Where is Velmora?", "context": "Velmora is on the Grell Sea."}
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def url():
    """A service answering with FirstWord, small input limits, a queue of 200."""
    limits = ServiceLimits(max_question_chars=50, max_context_chars=200, max_queue=200)
    with serve_in_thread(create_app(FirstWord, limits, "first-word")) as address:
        yield address


def test_answer_returns_span_score_and_latency(url):
    body = httpx.post(f"{url}/answer", json=BODY).json()
    assert body["answer"] == "Velmora" and (body["start"], body["end"]) == (0, 7)
    assert body["score"] == 0.5 and body["latency_ms"] >= body["model_ms"] > 0


def test_answer_has_no_nbest_when_the_answerer_gives_none(url):
    assert httpx.post(f"{url}/answer", json=BODY).json()["nbest"] is None


def test_answer_returns_the_answerers_nbest_best_first():
    with serve_in_thread(create_app(WithNBest)) as address:
        body = httpx.post(f"{address}/answer", json=BODY).json()
    assert (body["answer"], body["score"]) == ("Velmora", 0.75)
    assert body["nbest"] == [
        {"text": "Velmora", "start": 0, "end": 7, "score": 0.75},
        {"text": "is", "start": 8, "end": 10, "score": 0.25},
    ]


def test_root_serves_the_demo_page_and_its_script(url):
    page = httpx.get(f"{url}/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for needed in ('id="context"', 'id="question"', 'id="nbest"', 'src="static/demo.js"'):
        assert needed in page.text
    script = httpx.get(f"{url}/static/demo.js")
    assert script.status_code == 200 and 'fetch("answer"' in script.text
    assert httpx.get(f"{url}/static/demo.css").status_code == 200
    assert httpx.get(f"{url}/static/missing.js").status_code == 404


def test_health(url):
    assert httpx.get(f"{url}/health").json() == {
        "status": "ok",
        "model": "first-word",
        "in_flight": 0,
    }


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({}, 422, "question: Field required; context: Field required"),
        ({"question": "Who?"}, 422, "context: Field required"),
        ({**BODY, "question": ""}, 422, "question: must not be empty or only whitespace"),
        ({**BODY, "context": " \n"}, 422, "context: must not be empty or only whitespace"),
        ({**BODY, "question": 7}, 422, "question: Input should be a valid string"),
        ({**BODY, "context": "x" * 201}, 413, "context has 201 characters; the limit is 200"),
        ({**BODY, "question": "q" * 51}, 413, "question has 51 characters; the limit is 50"),
        (
            {**BODY, "context": "Velmora \ud800"},
            422,
            "context: holds a lone surrogate (U+D800) at character 8, which is not valid Unicode",
        ),
        ({**BODY, "question": "\udfff?"}, 422, "question: holds a lone surrogate (U+DFFF)"),
    ],
)
def test_malformed_requests_get_4xx_with_a_readable_detail(url, body, status, detail):
    # json.dumps escapes a lone surrogate ("\\ud800"), as a hostile client would send it
    content = json.dumps(body).encode()
    response = httpx.post(f"{url}/answer", content=content, headers=JSON)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


def test_invalid_json_and_oversized_bodies_are_refused(url):
    response = httpx.post(f"{url}/answer", content=b"{not json", headers=JSON)
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body: invalid JSON")
    response = httpx.post(f"{url}/answer", content=b" " * 5000, headers=JSON)
    assert response.status_code == 413
    assert response.json()["detail"] == (
        "request body of 5000 bytes is over the limit of 2024 bytes"
    )


def chunks(total: int, size: int = 64 * 1024, sent: list | None = None) -> Iterator[bytes]:
    """A JSON body of about `total` bytes in chunks: no Content-Length, so sent chunked."""
    yield b'{"question": "Where?", "context": "'
    for _ in range(total // size):
        if sent is not None:
            sent.append(size)
        yield b"x" * size
    yield b'"}'


@pytest.mark.parametrize("total", [3_000, 1_000_000])
def test_chunked_bodies_are_counted_while_they_stream_in(url, total):
    response = httpx.post(f"{url}/answer", content=chunks(total, size=1000), headers=JSON)
    assert response.status_code == 413
    assert response.json()["detail"].startswith("request body is over the limit of 2024 bytes")
    assert httpx.post(f"{url}/answer", json=BODY).status_code == 200  # the service is fine


def test_the_body_limit_stops_reading_as_soon_as_the_bound_is_passed():
    pulled, sent = [], []

    async def endless_body() -> dict:  # a client that would stream forever
        pulled.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    async def read_all(scope, receive, send) -> None:
        while (await receive())["more_body"]:
            pass

    limited = BodyLimit(read_all, max_bytes=2500)
    scope = {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}
    with pytest.raises(BodyTooLarge, match="over the limit of 2500 bytes"):
        asyncio.run(limited(scope, endless_body, send))
    assert len(pulled) == 3 and sent == []  # 3,000 bytes read, then nothing more
    declared = {"type": "http", "headers": [(b"content-length", b"2501")]}
    asyncio.run(limited(declared, endless_body, send))
    assert len(pulled) == 3 and sent[0]["status"] == 413  # refused before reading a byte


def test_contexts_over_the_token_bound_are_refused_before_the_queue():
    answerer = CharTokens()
    limits = ServiceLimits(max_context_tokens=20)
    with serve_in_thread(create_app(lambda: answerer, limits)) as address:
        ok = httpx.post(f"{address}/answer", json={**BODY, "context": "Velmora is by sea."})
        refused = httpx.post(f"{address}/answer", json={**BODY, "context": "巴" * 21})
    assert ok.status_code == 200 and refused.status_code == 413
    assert refused.json()["detail"] == "context has 21 tokens; the limit is 20"
    assert answerer.answered == 1


def test_requests_past_their_time_budget_get_503_and_queued_ones_never_run():
    blocking = Blocking()
    limits = ServiceLimits(max_concurrency=1, request_timeout_s=0.3)
    with serve_in_thread(create_app(lambda: blocking, limits)) as address:
        with ThreadPoolExecutor(3) as pool:
            answers = list(pool.map(lambda _: httpx.post(f"{address}/answer", json=BODY,
                                                         timeout=30), range(3)))  # fmt: skip
        blocking.release.set()
        metrics = httpx.get(f"{address}/metrics").text
    assert [r.status_code for r in answers] == [503] * 3
    assert {r.headers["retry-after"] for r in answers} == {"1"}
    assert answers[0].json()["detail"] == (
        "not answered within the time budget of 0.3 s; retry later"
    )
    assert blocking.calls == 1  # the two queued requests left the queue unanswered
    assert "qa_rejected_total 3.0" in metrics


def test_shutdown_answers_what_the_drain_period_cannot_503_with_retry_after_never_500():
    blocking = Blocking()
    service = create_app(lambda: blocking)
    with ThreadPoolExecutor(4) as pool:
        with serve_in_thread(service, graceful_s=0.6) as address:
            post = partial(httpx.post, f"{address}/answer", json=BODY, timeout=30)
            futures = [pool.submit(post) for _ in range(4)]
            wait_until(lambda: service.state.in_flight == 4)  # one running, three queued
            threading.Timer(0.9, blocking.release.set).start()  # after the drain period
        results = [f.result() for f in futures]
    assert [r.status_code for r in results] == [503] * 4
    assert {r.headers["retry-after"] for r in results} == {"1"}
    assert results[0].json()["detail"].startswith("service shutting down")
    assert blocking.calls == 1


def test_hundred_concurrent_requests_all_succeed_and_p95_is_reported(url):
    stream = pd.DataFrame(
        {"seq": range(100), "id": [f"q{i}" for i in range(100)], **{k: [v] * 100 for k, v in
         BODY.items()}}
    )  # fmt: skip
    log = replay(url, stream, ReplayConfig(rate=0, concurrency=100, max_requests=100))
    assert len(log) == 100 and (log["status"] == 200).all(), log["error"].unique()
    assert (log["prediction"] == "Velmora").all()
    summary = stream_summary(log.assign(em=100.0, f1=100.0))
    assert 0 < summary["latency_p50_ms"] <= summary["latency_p95_ms"]
    metrics = httpx.get(f"{url}/metrics").text
    assert 'qa_requests_total{endpoint="/answer",status="200"}' in metrics
    assert "qa_request_latency_seconds_bucket" in metrics and "qa_in_flight_requests 0.0" in metrics


def test_metrics_are_prometheus_text_and_per_app(url):
    response = httpx.get(f"{url}/metrics")
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE qa_model_latency_seconds histogram" in response.text
    first, second = create_app(FirstWord), create_app(FirstWord)  # no clash in one process
    first.state.metrics.requests.labels("/answer", "200").inc()
    counted = 'qa_requests_total{endpoint="/answer",status="200"} 1.0'
    assert counted in generate_latest(first.state.metrics.registry).decode()
    assert "qa_requests_total{" not in generate_latest(second.state.metrics.registry).decode()


def test_requests_beyond_the_bound_get_503_at_once():
    blocking = Blocking()
    app = create_app(lambda: blocking, ServiceLimits(max_concurrency=1, max_queue=0))
    with serve_in_thread(app) as address, httpx.Client(timeout=30) as client:
        first = threading.Thread(
            target=client.post, args=(f"{address}/answer",), kwargs={"json": BODY}
        )
        first.start()
        assert blocking.started.wait(20)
        busy = client.post(f"{address}/answer", json=BODY)
        blocking.release.set()
        first.join(20)
        assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
        assert busy.json()["detail"].startswith("service busy: 1 requests in flight (limit 1)")
        assert "qa_rejected_total 1.0" in client.get(f"{address}/metrics").text


def test_model_errors_become_500_with_the_reason():
    with serve_in_thread(create_app(Broken)) as address:
        response = httpx.post(f"{address}/answer", json=BODY)
    assert response.status_code == 500
    assert response.json()["detail"] == "model failed: RuntimeError: boom"


def test_shutdown_lets_the_request_in_flight_finish_and_closes_the_pool():
    blocking = Blocking()
    app = create_app(lambda: blocking)
    results = []
    with serve_in_thread(app) as address:
        request = threading.Thread(
            target=lambda: results.append(httpx.post(f"{address}/answer", json=BODY, timeout=30))
        )
        request.start()
        assert blocking.started.wait(20)
        threading.Timer(0.5, blocking.release.set).start()
    request.join(20)
    assert results and results[0].status_code == 200
    assert app.state.executor._shutdown  # the lifespan closed the model thread pool


def test_bad_limits_and_bad_model_are_refused(capsys):
    with pytest.raises(ValueError, match="max_concurrency must be a whole number from 1 to"):
        create_app(FirstWord, ServiceLimits(max_concurrency=0))
    assert serve_main(["--model", "no/such/folder"]) == 2
    assert "model folder no/such/folder does not exist" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_command_line_service_stops_cleanly_on_a_signal(tmp_path, signum):
    (tmp_path / "fake_answerers.py").write_text(FAKE_MODULE)
    port = harness.free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    command = [sys.executable, "-m", "qa_utils.serve", "--model", "fake_answerers:FirstWord"]
    process = subprocess.Popen(
        [*command, "--port", str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        harness.wait_until_healthy(f"http://127.0.0.1:{port}", 120, process)
        answer = httpx.post(f"http://127.0.0.1:{port}/answer", json=BODY).json()["answer"]
        process.send_signal(signum)
        _, log = process.communicate(timeout=60)
    finally:
        process.kill()
    assert answer == "Velmora" and process.returncode == 0, log
    assert "model thread pool closed" in log and "Application shutdown complete" in log


SHORT_CONTEXTS = (
    "Velmora is a fishing town on the Grell Sea. Its stone breakwater was added in 1902.",
    "The ferry to Oskar Island leaves Velmora harbour twice a day, at nine and at four.",
    "Velmora's lighthouse was designed by Ines Marr and first lit in the winter of 1871.",
    "Every August the town holds a regatta; in 2019 forty-two boats took part in it.",
)
QUESTIONS = ("When was the breakwater added?", "Where does the ferry go?", "Who designed it?")


def real_model_stream(n: int) -> pd.DataFrame:
    """`n` short questions for a real model, laid out as `replay.make_stream` does."""
    rows = [(QUESTIONS[i % 3], SHORT_CONTEXTS[i % 4]) for i in range(n)]
    return pd.DataFrame(
        {"seq": range(n), "id": [f"r{i}" for i in range(n)], "question": [q for q, _ in rows],
         "context": [c for _, c in rows]}
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_real_model_service_answers_a_hundred_concurrent_requests_and_stops_cleanly(tmp_path):
    # the command-line service with its default limits (1 model thread, a queue of 256),
    # loading the embedded MiniLM the way `--model RUN_DIR/model` falls back to it
    model = trained_or_embedded(tmp_path / "no_model_here")
    service = harness.start_service(model, tmp_path / "service.log")
    try:
        one = httpx.post(f"{service.url}/answer", json=BODY, timeout=60).json()
        # 20,000 CJK characters pass the character limit but are 20,000 tokens (about 80
        # windows of work): refused at once, whatever the queue
        cjk = {"question": "哪里?", "context": "巴黎铁塔" * 5_000}
        too_many = httpx.post(f"{service.url}/answer", json=cjk, timeout=60)
        stream = real_model_stream(100)
        config = ReplayConfig(rate=0, concurrency=100, max_requests=100, timeout_s=120)
        log = replay(service.url, stream, config)
        metrics = httpx.get(f"{service.url}/metrics").text
    finally:
        status = service.stop()
    assert one["answer"] == BODY["context"][one["start"] : one["end"]] and 0 <= one["score"] <= 1
    top = one["nbest"][0]  # the n-best of the one inference path, the answer first
    assert (top["text"], top["start"], top["score"]) == (one["answer"], one["start"], one["score"])
    assert too_many.status_code == 413
    assert too_many.json()["detail"] == "context has 20000 tokens; the limit is 4096"
    assert len(log) == 100 and (log["status"] == 200).all(), log["error"].unique()
    assert log["prediction"].map(lambda answer: any(answer in c for c in SHORT_CONTEXTS)).all()
    summary = stream_summary(log.assign(em=0.0, f1=0.0))
    assert summary["errors"] == 0 and 0 < summary["latency_p50_ms"] <= summary["latency_p95_ms"]
    # the service timed all of them too (the single request, the refused one, the hundred)
    assert 'qa_requests_total{endpoint="/answer",status="200"} 101.0' in metrics
    assert 'qa_requests_total{endpoint="/answer",status="413"} 1.0' in metrics
    assert 'qa_request_latency_seconds_count{endpoint="/answer"} 102.0' in metrics
    assert "qa_rejected_total 0.0" in metrics
    assert status == 0 and "model thread pool closed" in service.log()


def start_fake_service(tmp_path: Path, answerer: str, *flags: str) -> subprocess.Popen:
    """`python -m qa_utils.serve` with an answerer of FAKE_MODULE (no model to load).

    Its log (the access log included) is its stdout.
    """
    (tmp_path / "fake_answerers.py").write_text(FAKE_MODULE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    command = [sys.executable, "-m", "qa_utils.serve", "--model", f"fake_answerers:{answerer}"]
    return subprocess.Popen(
        [*command, *flags], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


def peak_rss_during(pid: int, action: Callable[[], object]) -> tuple[object, int]:
    """Run `action`; return its result and the most the process's RSS grew meanwhile (bytes)."""
    process, peak, done = psutil.Process(pid), [0], threading.Event()
    base = process.memory_info().rss

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss - base)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = action()
        time.sleep(0.2)  # the server may still be reading what the client sent
    finally:
        done.set()
        sampler.join()
    return result, peak[0]


@pytest.mark.slow
def test_a_50_mb_chunked_body_is_refused_with_413_and_costs_the_server_no_memory(tmp_path):
    port = harness.free_port()
    process = start_fake_service(tmp_path, "FirstWord", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    try:
        harness.wait_until_healthy(url, 120, process)
        sent: list[int] = []
        body = chunks(50 * 2**20, size=2**20, sent=sent)
        post = partial(httpx.post, f"{url}/answer", content=body, headers=JSON, timeout=120)
        response, grown = peak_rss_during(process.pid, post)
        after = httpx.post(f"{url}/answer", json=BODY).status_code
    finally:
        process.terminate()
        process.communicate(timeout=60)
    assert response.status_code == 413 and after == 200
    assert sum(sent) >= 50 * 2**20  # the client did stream all of it
    assert grown < 50 * 2**20, f"the server grew by {grown / 2**20:.0f} MB"


@pytest.mark.slow
def test_sigterm_with_more_queued_work_than_the_drain_period_answers_503_not_500(tmp_path):
    port = harness.free_port()
    flags = ("--port", str(port), "--graceful-timeout", "1.5")
    process = start_fake_service(tmp_path, "Slow", *flags)
    url = f"http://127.0.0.1:{port}"

    def post() -> int | str:
        try:
            response = httpx.post(f"{url}/answer", json=BODY, timeout=60)
        except httpx.ConnectError:
            return "refused"  # sent after the listener closed: fine, another replica would take it
        assert response.status_code != 503 or response.headers["retry-after"] == "1"
        return response.status_code

    try:
        harness.wait_until_healthy(url, 120, process)
        with ThreadPoolExecutor(20) as pool:
            futures = [pool.submit(post) for _ in range(20)]  # 8 s of work at 0.4 s each
            wait_until(lambda: httpx.get(f"{url}/health").json()["in_flight"] >= 10)
            process.send_signal(signal.SIGTERM)  # 1.5 s to drain: about 4 more answers
            statuses = [f.result() for f in futures]
        log, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert 500 not in statuses and statuses.count(503) >= 5 and 200 in statuses, statuses
    assert process.returncode == 0 and "Traceback" not in log and " 500" not in log, log
