"""Serve a question-answering model over HTTP: FastAPI app, limits, Prometheus metrics.

Start it with one command (Ctrl-C or SIGTERM stops it cleanly)::

    python -m qa_utils serve --model RUN_DIR/model --port 8000

Endpoints:

- ``GET /``: a demo page (``static/demo.html``): paste a passage, ask a question, see the
  answer highlighted in the passage with its score, the n-best list and the latency. It calls
  ``POST /answer`` like any client, so it shows exactly what the API returns, errors included.
- ``POST /answer`` with JSON ``{"question": str, "context": str}`` returns ``{"answer",
  "start", "end", "score", "latency_ms", "model_ms", "nbest"}`` (``latency_ms``: time in the
  service, waiting included; ``model_ms``: the model call alone; ``nbest``: the best
  candidates with text, start, end and score, best first, or null when the answerer gives
  none). Missing fields, wrong types, empty or blank strings and text that is not valid
  Unicode (a lone surrogate) get 422; a question or context over the size limits gets 413,
  each with a readable ``detail``.
- ``GET /health``: ``{"status": "ok", "model": ..., "in_flight": n}`` once the model is loaded.
- ``GET /metrics``: Prometheus text format: requests by endpoint and status, request and
  model latency histograms, requests in flight, requests turned away.

What one request can cost is bounded (`ServiceLimits`, all settable on the command line):

- body bytes: counted while the body streams in, whatever the transfer encoding (a chunked
  body has no Content-Length to check), by the ASGI middleware `BodyLimit`: 413 as soon as
  ``max_body_bytes`` is passed, so a 50 MB body is never held in memory;
- characters: ``max_question_chars`` and ``max_context_chars`` (413);
- tokens: ``max_context_tokens`` of the context, counted by the model's tokenizer before the
  request joins the queue (413): the model's work grows with tokens, not characters (one CJK
  character is one token, about five English ones make a token);
- time: a request not answered within ``request_timeout_s`` (waiting included) gets 503
  with ``Retry-After``; if it was still queued it never reaches the model.

Concurrency: model calls run on a thread pool of ``max_concurrency`` threads (default 1: on a
small CPU one call already uses every core, and a shared Hugging Face fast tokenizer is not
safe to call from several threads at once). Up to ``max_queue`` further requests wait for a
thread; beyond ``max_concurrency + max_queue`` requests in flight the service answers 503
with ``Retry-After: 1`` at once instead of letting latency grow without bound.

Shutdown: on SIGINT/SIGTERM uvicorn stops accepting connections and `DrainingServer` tells the
app: new requests on open connections get 503 at once, queued ones keep being answered until
shortly before ``--graceful-timeout`` ends, and whatever is still waiting then gets 503 with
``Retry-After`` (never a bare 500). Then the app's lifespan closes the thread pool and the
process exits with status 0 (a signal during startup also exits with 0).

Anything with ``.answer(question, context)`` returning an object with ``text``, ``start``,
``end``, ``score`` (and optionally ``nbest``) can be served (`Answerer`): ``--model`` takes a
model folder, ``embedded`` (loaded with `qa_utils.core.inference.QAModel`) or
``package.module:factory``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import logging
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from pydantic import BaseModel, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa_utils.project.text import text_problem

LOGGER = logging.getLogger("qa_utils.serve")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

ENDPOINTS = ("/", "/answer", "/health", "/metrics")
STATIC_DIR = Path(__file__).with_name("static")
"""The demo page's HTML, JavaScript and CSS (package data)."""


RETRY_AFTER_S = 1


class Answer(Protocol):
    """What an answerer returns: the span's text, its character offsets and a confidence.

    An answer may also carry ``nbest``: candidates with text, start, end and score.
    """

    text: str
    start: int
    end: int
    score: float


class Answerer(Protocol):
    """Anything that answers one question about one context.

    An answerer may also have ``count_tokens(text) -> int``, safe to call from another thread
    while it answers; the service then bounds the context's tokens (`QAModel` has it).
    """

    def answer(self, question: str, context: str) -> Answer: ...


@dataclass(frozen=True)
class ServiceLimits:
    """What one request may cost, and the concurrency bounds (see the module docstring)."""

    max_question_chars: int = 1_000
    max_context_chars: int = 20_000
    max_context_tokens: int = 4_096
    max_concurrency: int = 1
    max_queue: int = 256
    request_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        """Refuse bounds that are not positive whole numbers (or a positive, finite time)."""
        for name, low, high in (
            ("max_question_chars", 1, 10_000_000),
            ("max_context_chars", 1, 10_000_000),
            ("max_context_tokens", 1, 10_000_000),
            ("max_concurrency", 1, 1_024),
            ("max_queue", 0, 1_000_000),
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value}")
        timeout = self.request_timeout_s
        if not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
            raise ValueError(f"request_timeout_s must be a positive number, got {timeout}")


class AnswerRequest(BaseModel):
    """Body of POST /answer."""

    question: str
    context: str

    @field_validator("question", "context")
    @classmethod
    def answerable_text(cls, value: str) -> str:
        """Reject empty, whitespace-only and non-Unicode strings: there is nothing to answer."""
        if not value.strip():
            raise ValueError("must not be empty or only whitespace")
        problem = text_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class CandidateResponse(BaseModel):
    """One of the n-best candidates in a POST /answer response."""

    text: str
    start: int
    end: int
    score: float


class AnswerResponse(BaseModel):
    """Body of a successful POST /answer."""

    answer: str
    start: int
    end: int
    score: float
    latency_ms: float
    model_ms: float
    nbest: list[CandidateResponse] | None = None


def candidates(result: Answer) -> list[CandidateResponse] | None:
    """The answer's n-best list for the response, or None when the answerer gives none."""
    nbest = getattr(result, "nbest", None)
    if not nbest:
        return None
    return [
        CandidateResponse(text=c.text, start=int(c.start), end=int(c.end), score=float(c.score))
        for c in nbest
    ]


@dataclass(frozen=True)
class ServiceMetrics:
    """The app's Prometheus metrics, in a registry of its own (several apps per process)."""

    registry: CollectorRegistry
    requests: Counter
    latency: Histogram
    model_latency: Histogram
    in_flight: Gauge
    rejected: Counter


def service_metrics() -> ServiceMetrics:
    """Create the metrics of one app in a fresh `CollectorRegistry`."""
    registry = CollectorRegistry()
    return ServiceMetrics(
        registry=registry,
        requests=Counter(
            "qa_requests", "HTTP requests by endpoint and status.", ["endpoint", "status"],
            registry=registry,
        ),
        latency=Histogram(
            "qa_request_latency_seconds", "Time from request to response, by endpoint.",
            ["endpoint"], buckets=LATENCY_BUCKETS, registry=registry,
        ),
        model_latency=Histogram(
            "qa_model_latency_seconds", "Time of the model call alone.",
            buckets=LATENCY_BUCKETS, registry=registry,
        ),
        in_flight=Gauge(
            "qa_in_flight_requests", "Answer requests admitted and not finished.", registry=registry
        ),
        rejected=Counter(
            "qa_rejected", "Answer requests answered 503: queue full, time budget, shutdown.",
            registry=registry,
        ),
    )  # fmt: skip


def max_body_bytes(limits: ServiceLimits) -> int:
    """Largest request body read at all: the limits in UTF-8 (4 bytes a character) plus JSON.

    JSON escapes (``\\u4e00`` is 6 bytes for one character) can push a body within the
    character limits past this; the body is refused before it is parsed either way.
    """
    return 4 * (limits.max_question_chars + limits.max_context_chars) + 1024


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a request body passes the limit."""

    # An HTTP error, because FastAPI re-raises those when met while reading a body; any other
    # exception there becomes a 400.
    def __init__(self, received: int, limit: int) -> None:
        detail = f"request body is over the limit of {limit} bytes (refused after {received})"
        super().__init__(413, detail)


class BodyLimit:
    """ASGI middleware: count body bytes as they arrive and refuse with 413 past `max_bytes`.

    A declared Content-Length over the limit is refused before anything is read; a chunked
    body (no length) is refused as soon as the bytes received pass it, so at most about
    `max_bytes` of a body is ever held. Starlette's own RequestBodyLimitMiddleware answers a
    declared oversize in plain text, replacing the app's JSON, hence this one.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with a `receive` that counts; answer 413 if it overflows."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            detail = f"request body of {declared} bytes is over the limit of {self.max_bytes} bytes"
            return await JSONResponse({"detail": detail}, 413)(scope, receive, send)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(received, self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or None when absent or not a number (chunked bodies)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def observe(request: Request, call_next: Callable[[Request], Any]) -> Response:
    """Middleware: count requests and time them by endpoint."""
    state, started, status = request.app.state, time.perf_counter(), 500
    endpoint = request.url.path if request.url.path in ENDPOINTS else "other"
    try:
        response = await call_next(request)
        status = response.status_code
        return response
    finally:
        state.metrics.requests.labels(endpoint, str(status)).inc()
        state.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)


def field_name(location: Sequence[Any]) -> str:
    """`('body', 'question')` -> 'question'; the body itself (or a place in it) -> 'body'."""
    if len(location) > 1 and location[0] == "body" and isinstance(location[1], str):
        return ".".join(str(p) for p in location[1:])
    return "body" if location[:1] == ("body",) else ".".join(str(p) for p in location)


def error_message(error: dict[str, Any]) -> str:
    """The readable part of one pydantic/FastAPI validation error."""
    if error["type"] == "json_invalid":
        return f"invalid JSON ({error.get('ctx', {}).get('error', 'cannot be parsed')})"
    return str(error["msg"]).removeprefix("Value error, ")


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one readable `detail` string (and the problems per field in `errors`)."""
    errors = [{"field": field_name(e["loc"]), "message": error_message(e)} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


def check_sizes(body: AnswerRequest, limits: ServiceLimits) -> None:
    """Raise 413 when the question or the context is longer than the limits allow."""
    for name, text, limit in (
        ("question", body.question, limits.max_question_chars),
        ("context", body.context, limits.max_context_chars),
    ):
        if len(text) > limit:
            raise HTTPException(
                413, detail=f"{name} has {len(text)} characters; the limit is {limit}"
            )


def timed_answer(answerer: Answerer, question: str, context: str) -> tuple[Answer, float]:
    """Call the model and measure how long the call took (seconds)."""
    started = time.perf_counter()
    result = answerer.answer(question, context)
    return result, time.perf_counter() - started


def unavailable(state: Any, detail: str) -> HTTPException:
    """A 503 that tells the client when to try again (counted as turned away)."""
    state.metrics.rejected.inc()
    return HTTPException(503, detail=detail, headers={"Retry-After": str(RETRY_AFTER_S)})


def admit(state: Any) -> None:
    """Refuse a request with 503 while draining or with the queue full; else count it in."""
    bound = state.limits.max_concurrency + state.limits.max_queue
    if state.draining:
        raise unavailable(state, "service shutting down; retry later")
    if state.in_flight >= bound:
        raise unavailable(
            state,
            f"service busy: {state.in_flight} requests in flight (limit {bound}); retry later",
        )
    state.in_flight += 1
    state.metrics.in_flight.inc()


async def check_tokens(state: Any, context: str) -> None:
    """413 when the context has more tokens than the limit (counted off the event loop)."""
    count = getattr(state.answerer, "count_tokens", None)
    if count is None:
        return
    tokens = await asyncio.get_running_loop().run_in_executor(state.counter, count, context)
    limit = state.limits.max_context_tokens
    if tokens > limit:
        raise HTTPException(413, detail=f"context has {tokens} tokens; the limit is {limit}")


async def wait_for_answer(state: Any, job: Future, started: float) -> tuple[Answer, float]:
    """The model's answer, or 503 once the time budget or the drain period runs out."""
    waiter = asyncio.wrap_future(job)
    stop = asyncio.ensure_future(state.stop_waiting.wait())
    budget = state.limits.request_timeout_s
    try:
        done, _ = await asyncio.wait(
            {waiter, stop},
            timeout=max(budget - (time.perf_counter() - started), 0.0),
            return_when=asyncio.FIRST_COMPLETED,
        )
    finally:
        stop.cancel()
        if not waiter.done():
            waiter.cancel()  # a queued call leaves the queue; a running one ends unobserved
    if waiter in done:
        return waiter.result()
    if state.stop_waiting.is_set():
        raise unavailable(state, "service shutting down before this request's turn; retry")
    raise unavailable(state, f"not answered within the time budget of {budget:g} s; retry later")


async def run_model(state: Any, body: AnswerRequest, started: float) -> tuple[Answer, float]:
    """Admit the request (or refuse it with 503), bound its tokens, run it on the thread pool."""
    admit(state)
    try:
        await check_tokens(state, body.context)
        job = state.executor.submit(timed_answer, state.answerer, body.question, body.context)
        return await wait_for_answer(state, job, started)
    except HTTPException:
        raise
    except Exception as exc:
        LOGGER.exception("the model failed on a request")
        raise HTTPException(500, detail=f"model failed: {type(exc).__name__}: {exc}") from exc
    finally:
        state.in_flight -= 1
        state.metrics.in_flight.dec()


async def answer_endpoint(body: AnswerRequest, request: Request) -> AnswerResponse:
    """POST /answer: the best answer span, its score and the time it took."""
    state, started = request.app.state, time.perf_counter()
    check_sizes(body, state.limits)
    result, model_s = await run_model(state, body, started)
    state.metrics.model_latency.observe(model_s)
    return AnswerResponse(
        answer=result.text,
        start=int(result.start),
        end=int(result.end),
        score=float(result.score),
        latency_ms=1000 * (time.perf_counter() - started),
        model_ms=1000 * model_s,
        nbest=candidates(result),
    )


async def demo_page() -> FileResponse:
    """GET /: the demo page, which asks POST /answer from the browser."""
    return FileResponse(STATIC_DIR / "demo.html", media_type="text/html")


async def health_endpoint(request: Request) -> dict[str, Any]:
    """GET /health: the service is up and its model loaded."""
    state = request.app.state
    return {"status": "ok", "model": state.model_name, "in_flight": state.in_flight}


async def metrics_endpoint(request: Request) -> Response:
    """GET /metrics: the app's metrics in Prometheus text format."""
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )


def create_app(
    load: Callable[[], Answerer], limits: ServiceLimits = ServiceLimits(), model_name: str = ""
) -> FastAPI:
    """Build the service; `load` runs once at startup and returns the answerer to serve."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        app.state.answerer = await asyncio.to_thread(load)
        app.state.executor = ThreadPoolExecutor(limits.max_concurrency, "qa-model")
        app.state.counter = ThreadPoolExecutor(1, "qa-tokens")
        app.state.stop_waiting, app.state.draining = asyncio.Event(), False
        LOGGER.info("serving %s with %d model thread(s)", model_name, limits.max_concurrency)
        try:
            yield
        finally:
            app.state.counter.shutdown(wait=True, cancel_futures=True)
            app.state.executor.shutdown(wait=True, cancel_futures=True)
            LOGGER.info("model thread pool closed")

    app = FastAPI(title="qa_utils question answering", lifespan=lifespan)
    app.state.limits, app.state.metrics = limits, service_metrics()
    app.state.model_name, app.state.in_flight = model_name or "model", 0
    # Starlette runs the last added middleware first: observe times and counts every answer,
    # the 413s of the body limit included.
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes(limits))
    app.middleware("http")(observe)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_api_route("/", demo_page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/answer", answer_endpoint, methods=["POST"], response_model=AnswerResponse)
    app.add_api_route("/health", health_endpoint, methods=["GET"])
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"])
    return app


def drain_margin(grace_s: float) -> float:
    """How long before the grace period ends the waiting requests get their 503s."""
    return min(1.0, grace_s / 4)


def start_draining(state: Any, grace_s: float | None) -> None:
    """Refuse new requests; answer the ones still waiting 503 before `grace_s` runs out."""
    state.draining = True
    stop = getattr(state, "stop_waiting", None)  # None: the app never started
    if stop is not None and grace_s is not None:  # None: uvicorn waits for every request
        delay = max(grace_s - drain_margin(grace_s), 0.0)
        asyncio.get_running_loop().call_later(delay, stop.set)


class DrainingServer(uvicorn.Server):
    """uvicorn's server, telling the app when shutdown starts so no request is left to a 500.

    uvicorn cancels the requests still running when ``timeout_graceful_shutdown`` ends, and a
    cancelled request gets a bare 500; the app answers them 503 with Retry-After first.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.qa_app = app

    async def shutdown(self, sockets: Any = None) -> None:
        """Start draining the app, then shut down as uvicorn does."""
        start_draining(self.qa_app.state, self.config.timeout_graceful_shutdown)
        await super().shutdown(sockets)


def serve(app: FastAPI, host: str, port: int, log_level: str, graceful_s: float) -> None:
    """Serve `app` until SIGINT/SIGTERM, draining as `DrainingServer` does."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=graceful_s
    )
    DrainingServer(config, app).run()


def is_factory(spec: str) -> bool:
    """Whether `--model` names a `package.module:factory` answerer rather than a model."""
    return ":" in spec and not Path(spec).exists()


def factory_problem(spec: str) -> str | None:
    """Why `package.module:factory` cannot make an answerer, or None."""
    module, _, name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module), name, None)
    except ImportError as err:
        return f"--model {spec}: cannot import {module} ({err})"
    return None if callable(factory) else f"--model {spec}: {module} has no callable {name!r}"


def model_problem(spec: str) -> str | None:
    """Why `--model` cannot be served (checked before the model loads), or None."""
    if is_factory(spec):
        return factory_problem(spec)
    path = Path(spec).expanduser()
    if spec != "embedded" and not path.is_dir():
        return f"model folder {spec} does not exist (train one with notebook 02, or use embedded)"
    # transformers loads only to check a model (a module:factory answerer needs none).
    from qa_utils.core.model import check_model, load_inference_settings

    try:
        check_model(spec, load_inference_settings(spec).max_length)
    except (OSError, ValueError) as err:
        return str(err)
    return None


def trained_or_embedded(model_dir: str | Path) -> str:
    """`model_dir` if it holds a saved model, else "embedded" (an untrained QA head)."""
    return str(model_dir) if (Path(model_dir) / "config.json").is_file() else "embedded"


def load_answerer(spec: str, threads: int = 0) -> Answerer:
    """`package.module:factory` -> factory(); a model folder or 'embedded' -> QAModel.load.

    A model folder is answered with the inference settings saved beside it
    (`qa_utils.core.model.load_inference_settings`); `threads` overrides their thread count.
    """
    if is_factory(spec):
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)()
    # torch and transformers load only to serve a model (a module:factory answerer needs none).
    from qa_utils.core.inference import QAModel
    from qa_utils.core.model import load_inference_settings

    settings = load_inference_settings(spec)
    if threads:
        settings = dataclasses.replace(settings, threads=threads)
    return QAModel.load(spec, settings)
