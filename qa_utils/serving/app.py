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
  none). Missing fields, wrong types and empty or blank strings get 422, a question or context
  over the size limits gets 413, each with a readable ``detail``.
- ``GET /health``: ``{"status": "ok", "model": ..., "in_flight": n}`` once the model is loaded.
- ``GET /metrics``: Prometheus text format: requests by endpoint and status, request and
  model latency histograms, requests in flight, requests turned away.

Concurrency: model calls run on a thread pool of ``max_concurrency`` threads (default 1: on a
small CPU one call already uses every core, and a shared Hugging Face fast tokenizer is not
safe to call from several threads at once). Up to ``max_queue`` further requests wait for a
thread; beyond ``max_concurrency + max_queue`` requests in flight the service answers 503
with ``Retry-After: 1`` at once instead of letting latency grow without bound.

Shutdown: on SIGINT/SIGTERM uvicorn stops accepting connections, lets the requests in flight
finish (at most ``--graceful-timeout`` seconds), then the app's lifespan closes the thread
pool and the process exits with status 0 (a signal during startup also exits with 0).

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
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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

LOGGER = logging.getLogger("qa_utils.serve")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

ENDPOINTS = ("/", "/answer", "/health", "/metrics")
STATIC_DIR = Path(__file__).with_name("static")
"""The demo page's HTML, JavaScript and CSS (package data)."""


class Answer(Protocol):
    """What an answerer returns: the span's text, its character offsets and a confidence.

    An answer may also carry ``nbest``: candidates with text, start, end and score.
    """

    text: str
    start: int
    end: int
    score: float


class Answerer(Protocol):
    """Anything that answers one question about one context."""

    def answer(self, question: str, context: str) -> Answer: ...


@dataclass(frozen=True)
class ServiceLimits:
    """Input sizes and concurrency bounds of the service (see the module docstring)."""

    max_question_chars: int = 1_000
    max_context_chars: int = 20_000
    max_concurrency: int = 1
    max_queue: int = 256


class AnswerRequest(BaseModel):
    """Body of POST /answer."""

    question: str
    context: str

    @field_validator("question", "context")
    @classmethod
    def not_blank(cls, value: str) -> str:
        """Reject empty and whitespace-only strings: there is nothing to answer."""
        if not value.strip():
            raise ValueError("must not be empty or only whitespace")
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
            "qa_rejected", "Answer requests turned away (503) with the queue full.",
            registry=registry,
        ),
    )  # fmt: skip


def max_body_bytes(limits: ServiceLimits) -> int:
    """Largest request body read at all: the limits in UTF-8 (4 bytes a character) plus JSON."""
    return 4 * (limits.max_question_chars + limits.max_context_chars) + 1024


async def observe(request: Request, call_next: Callable[[Request], Any]) -> Response:
    """Middleware: refuse oversized bodies early, count requests and time them by endpoint."""
    state, started, status = request.app.state, time.perf_counter(), 500
    endpoint = request.url.path if request.url.path in ENDPOINTS else "other"
    try:
        header = request.headers.get("content-length", "")
        length = int(header) if header.isdigit() else 0
        if length > max_body_bytes(state.limits):
            status = 413
            return JSONResponse(
                {"detail": f"request body of {length} bytes is over the limit of "
                 f"{max_body_bytes(state.limits)} bytes"}, status_code=413,
            )  # fmt: skip
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


async def run_model(state: Any, body: AnswerRequest) -> tuple[Answer, float]:
    """Admit the request (or refuse it with 503) and run the model on the thread pool."""
    bound = state.limits.max_concurrency + state.limits.max_queue
    if state.in_flight >= bound:
        state.metrics.rejected.inc()
        raise HTTPException(
            503,
            detail=f"service busy: {state.in_flight} requests in flight (limit {bound}); "
            "retry later",
            headers={"Retry-After": "1"},
        )
    state.in_flight += 1
    state.metrics.in_flight.inc()
    loop = asyncio.get_running_loop()
    try:
        call = (timed_answer, state.answerer, body.question, body.context)
        return await loop.run_in_executor(state.executor, *call)
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
    result, model_s = await run_model(state, body)
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
    if limits.max_concurrency < 1 or limits.max_queue < 0:
        raise ValueError("max_concurrency must be at least 1 and max_queue at least 0")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        app.state.answerer = await asyncio.to_thread(load)
        app.state.executor = ThreadPoolExecutor(limits.max_concurrency, "qa-model")
        LOGGER.info("serving %s with %d model thread(s)", model_name, limits.max_concurrency)
        try:
            yield
        finally:
            app.state.executor.shutdown(wait=True, cancel_futures=True)
            LOGGER.info("model thread pool closed")

    app = FastAPI(title="qa_utils question answering", lifespan=lifespan)
    app.state.limits, app.state.metrics = limits, service_metrics()
    app.state.model_name, app.state.in_flight = model_name or "model", 0
    app.middleware("http")(observe)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_api_route("/", demo_page, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/answer", answer_endpoint, methods=["POST"], response_model=AnswerResponse)
    app.add_api_route("/health", health_endpoint, methods=["GET"])
    app.add_api_route("/metrics", metrics_endpoint, methods=["GET"])
    return app


def model_problem(spec: str) -> str | None:
    """Why `--model` cannot be served (checked before anything slow is imported), or None."""
    if spec == "embedded" or (":" in spec and not Path(spec).exists()):
        return None
    path = Path(spec).expanduser()
    if not path.is_dir():
        return f"model folder {spec} does not exist (train one with notebook 02, or use embedded)"
    if not (path / "config.json").is_file():
        return f"{spec} is not a model folder: it has no config.json"
    return None


def trained_or_embedded(model_dir: str | Path) -> str:
    """`model_dir` if it holds a saved model, else "embedded" (an untrained QA head)."""
    return str(model_dir) if (Path(model_dir) / "config.json").is_file() else "embedded"


def load_answerer(spec: str, threads: int = 0) -> Answerer:
    """`package.module:factory` -> factory(); a model folder or 'embedded' -> QAModel.load.

    A model folder is answered with the inference settings saved beside it
    (`qa_utils.core.model.load_inference_settings`); `threads` overrides their thread count.
    """
    if ":" in spec and not Path(spec).exists():
        module, _, name = spec.partition(":")
        return getattr(importlib.import_module(module), name)()
    # torch and transformers load only to serve a model (a module:factory answerer needs none).
    from qa_utils.core.inference import QAModel
    from qa_utils.core.model import load_inference_settings

    settings = load_inference_settings(spec)
    if threads:
        settings = dataclasses.replace(settings, threads=threads)
    return QAModel.load(spec, settings)
