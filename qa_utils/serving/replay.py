"""Online evaluation of a served model: replay a question stream, score delayed feedback, drift.

A replay client sends the questions of a stream to a running `qa_utils.serve` service on a
schedule (request i is due at i / rate seconds) from a pool of `concurrency` client threads,
so at most that many requests are open at once: when the service falls behind, due requests
wait in the client for a free thread (logged as `wait_ms`, not part of the latency) and go
out later than scheduled. It sends at most `max_requests` requests and schedules none after
`max_seconds` seconds. Gold answers come back as delayed feedback: the answer to request i
is known once request i + D has been sent, as labels trickle in after the fact in a real
service. From the log this module derives, per position in the stream:

- rolling EM/F1 over the last `window` requests whose feedback has arrived (official
  `exact_match_score` / `f1_score`, in percent), so quality curves lag by D requests;
- rolling latency percentiles (p50, p95) over the last `window` requests, and throughput
  (completed requests per second over the last few seconds);
- the one-sided CUSUM of `qa_utils.serving.drift` on per-request F1: an alarm at feedback index j is
  raised at stream position j + D, so the detection delay in requests is D plus the
  detector's own delay (about h / (delta - k) shifted scores, see `qa_utils.serving.drift`).

A stream can switch in the middle to perturbed questions (`make_stream` with a perturbation
from `qa_utils.robustness`) to watch the curves move and the detector fire.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.core.metrics import exact_match_score, f1_score, metric_max_over_ground_truths
from qa_utils.serving.drift import CusumConfig, DriftResult, cusum_drop

LOG_COLUMNS = (
    "seq", "id", "scheduled_s", "sent_s", "done_s", "wait_ms", "latency_ms", "server_ms",
    "model_ms", "status", "prediction", "score", "error",
)  # fmt: skip


def make_stream(clean: Dataset, shifted: Dataset | None = None, shift_at: int = 0) -> pd.DataFrame:
    """The questions to replay, in order: clean ones, then (from `shift_at`) shifted ones.

    Args:
        clean: Examples to send.
        shifted: The same examples perturbed (same ids and order), e.g. `add_distractors(clean)`.
        shift_at: Position in the stream where the perturbed versions take over.

    Returns:
        Columns seq, id, question, context, gold_answers, shifted.
    """
    stream = pd.DataFrame(
        {"id": clean["id"], "question": clean["question"], "context": clean["context"]}
    )
    stream["gold_answers"] = [list(a["text"]) for a in clean["answers"]]
    stream["shifted"] = False
    if shifted is not None:
        if list(shifted["id"]) != list(clean["id"]):
            raise ValueError("the shifted examples must have the same ids, in the same order")
        late = np.arange(len(stream)) >= shift_at
        stream.loc[late, "question"] = np.array(shifted["question"], dtype=object)[late]
        stream.loc[late, "context"] = np.array(shifted["context"], dtype=object)[late]
        stream["shifted"] = late
    stream.insert(0, "seq", np.arange(len(stream)))
    return stream


@dataclass(frozen=True)
class ReplayConfig:
    """How the replay client loads the service.

    Attributes:
        rate: Requests offered per second (0: send as fast as the client threads allow).
        max_requests: Most requests sent.
        max_seconds: No request is scheduled after this many seconds.
        concurrency: Client threads, hence the most requests open at once.
        timeout_s: Per-request timeout; a request that exceeds it is logged as an error.
    """

    rate: float = 20.0
    max_requests: int = 500
    max_seconds: float = 120.0
    concurrency: int = 4
    timeout_s: float = 30.0


def send_one(client: httpx.Client, url: str, row: Any, timeout_s: float) -> dict[str, Any]:
    """POST one question; return status, answer, server and model times or error, wall times.

    `server_ms` is the service's `latency_ms` (its whole handling, waiting for the model thread
    included) and `model_ms` its `model_ms` (the model call alone).
    """
    sent, result = time.perf_counter(), {"status": 0, "prediction": None, "score": np.nan}
    try:
        response = client.post(
            f"{url}/answer", json={"question": row.question, "context": row.context},
            timeout=timeout_s,
        )  # fmt: skip
        body = response.json()
        result["status"] = response.status_code
        if response.status_code == 200:
            result.update(prediction=body["answer"], score=body["score"])
            result.update(server_ms=body["latency_ms"], model_ms=body["model_ms"])
        else:
            result["error"] = str(body.get("detail", body))
    except (httpx.HTTPError, ValueError) as exc:
        result["error"] = f"{type(exc).__name__}: {exc}"
    return {**result, "sent": sent, "done": time.perf_counter()}


def replay(url: str, stream: pd.DataFrame, config: ReplayConfig = ReplayConfig()) -> pd.DataFrame:
    """Send the stream's questions to the service at `url` and log every request.

    Returns:
        One row per request sent, in stream order: the columns `LOG_COLUMNS`. Times are
        seconds from the start of the replay; wait_ms is how long a due request waited for
        a free client thread (non-zero when the service cannot keep up with the rate).
    """
    rows, started, jobs = stream.head(config.max_requests), time.perf_counter(), []
    limits = httpx.Limits(max_connections=config.concurrency)
    with (
        httpx.Client(limits=limits) as client,
        ThreadPoolExecutor(config.concurrency, thread_name_prefix="replay") as pool,
    ):
        for i, row in enumerate(rows.itertuples(index=False)):
            due = started + (i / config.rate if config.rate > 0 else 0.0)
            if due - started > config.max_seconds:
                break
            time.sleep(max(0.0, due - time.perf_counter()))
            jobs.append((row, due, pool.submit(send_one, client, url, row, config.timeout_s)))
        results = [(row, due, job.result()) for row, due, job in jobs]
    return log_table(results, started)


def log_table(results: list[tuple[Any, float, dict[str, Any]]], started: float) -> pd.DataFrame:
    """Turn (stream row, due time, `send_one` result) triples into the replay log."""
    records = [
        {
            "seq": row.seq, "id": row.id, "scheduled_s": due - started,
            "sent_s": r["sent"] - started, "done_s": r["done"] - started,
            "wait_ms": 1000 * max(0.0, r["sent"] - due),
            "latency_ms": 1000 * (r["done"] - r["sent"]),
            "server_ms": r.get("server_ms", np.nan), "model_ms": r.get("model_ms", np.nan),
            "status": r["status"],
            "prediction": r["prediction"], "score": r["score"], "error": r.get("error", ""),
        }
        for row, due, r in results
    ]  # fmt: skip
    return pd.DataFrame(records, columns=list(LOG_COLUMNS))


def request_scores(prediction: str | None, golds: list[str]) -> tuple[float, float]:
    """EM and F1 (percent) of one answer against its gold answers; NaN when it failed."""
    if not isinstance(prediction, str) or not len(golds):
        return np.nan, np.nan
    em = metric_max_over_ground_truths(exact_match_score, prediction, golds)
    return 100.0 * em, 100.0 * metric_max_over_ground_truths(f1_score, prediction, golds)


def score_log(log: pd.DataFrame, stream: pd.DataFrame, delay: int = 0) -> pd.DataFrame:
    """Add per-request EM/F1 (percent; NaN for failed requests) and when feedback arrives.

    Args:
        log: The output of `replay`.
        stream: The stream it replayed (for gold answers and the shifted flag).
        delay: Feedback delay D: the gold answer of request i is known at position i + D.
    """
    scored = log.merge(stream[["seq", "gold_answers", "shifted"]], on="seq", how="left")
    answered = zip(scored["prediction"], scored["status"], strict=True)
    predictions = [p if status == 200 else None for p, status in answered]
    pairs = zip(predictions, scored["gold_answers"], strict=True)
    scores = np.array([request_scores(p, g) for p, g in pairs], dtype=np.float64).reshape(-1, 2)
    scored["em"], scored["f1"] = scores[:, 0], scores[:, 1]
    scored["feedback_at"] = scored["seq"] + delay
    return scored


def stream_drift(
    scored: pd.DataFrame,
    config: CusumConfig | None = None,
    known_reference: tuple[float, float] | None = None,
) -> tuple[DriftResult, int | None]:
    """Run the CUSUM on per-request F1 in feedback order.

    Returns:
        The detector's result (indices into the scored rows, in seq order) and the stream
        position at which the alarm was raised (the alarming request's `feedback_at`), or None.
    """
    ordered = scored.sort_values("seq")
    result = cusum_drop(ordered["f1"].to_numpy(), config or CusumConfig(), known_reference)
    if result.alarm_index is None:
        return result, None
    return result, int(ordered["feedback_at"].iloc[result.alarm_index])


def throughput(done_s: np.ndarray, window_s: float) -> np.ndarray:
    """Completed requests per second over the `window_s` seconds before each completion."""
    done_s = np.asarray(done_s, dtype=np.float64)
    order = np.sort(done_s)
    count = np.searchsorted(order, done_s, "right") - np.searchsorted(
        order, done_s - window_s, "right"
    )
    return count / np.clip(np.minimum(done_s, window_s), 1e-3, None)


def online_curves(
    scored: pd.DataFrame,
    window: int = 50,
    delay: int = 0,
    drift: DriftResult | None = None,
    window_s: float = 5.0,
) -> pd.DataFrame:
    """Rolling quality, latency and throughput at each position of the stream.

    Quality at position t averages the last `window` requests with feedback (seq <= t - D);
    the CUSUM statistic is placed at the position where its score arrived.

    Returns:
        Columns seq, em, f1, cusum, latency_p50, latency_p95 (ms), throughput_rps.
    """
    s = scored.sort_values("seq").reset_index(drop=True)
    rolling = s[["em", "f1"]].rolling(window, min_periods=max(1, window // 5)).mean()
    latency = s["latency_ms"].where(s["status"] == 200).rolling(window, min_periods=1)
    curves = pd.DataFrame({"seq": s["seq"], "em": rolling["em"].shift(delay)})
    curves["f1"] = rolling["f1"].shift(delay)
    statistic = drift.statistic if drift is not None else np.full(len(s), np.nan)
    curves["cusum"] = pd.Series(statistic).shift(delay)
    curves["latency_p50"], curves["latency_p95"] = latency.quantile(0.5), latency.quantile(0.95)
    curves["throughput_rps"] = throughput(s["done_s"].to_numpy(), window_s)
    return curves


def stream_seconds(log: pd.DataFrame) -> float:
    """Seconds from the first request sent to the last one finished (a `replay` log)."""
    return float(log["done_s"].max() - log["sent_s"].min())


def answered_per_second(log: pd.DataFrame) -> float:
    """Requests answered (status 200) per second of `stream_seconds` (NaN for no time)."""
    elapsed = stream_seconds(log)
    return int((log["status"] == 200).sum()) / elapsed if elapsed > 0 else float("nan")


def stream_summary(
    scored: pd.DataFrame, shift_at: int | None = None, alarm_at: int | None = None
) -> pd.Series:
    """Requests, errors, EM/F1 before and after the shift, latency percentiles, throughput,
    and when the drift alarm was raised relative to the shift."""
    ok = scored["status"] == 200
    latency = scored.loc[ok, "latency_ms"]
    before = scored["seq"] < (shift_at if shift_at is not None else len(scored))
    return pd.Series(
        {
            "requests": len(scored),
            "errors": int((~ok).sum()),
            "f1_before_shift": scored.loc[before, "f1"].mean(),
            "f1_after_shift": scored.loc[~before, "f1"].mean(),
            "em_before_shift": scored.loc[before, "em"].mean(),
            "em_after_shift": scored.loc[~before, "em"].mean(),
            "latency_p50_ms": latency.quantile(0.5),
            "latency_p95_ms": latency.quantile(0.95),
            "latency_p99_ms": latency.quantile(0.99),
            "throughput_rps": answered_per_second(scored),
            "alarm_at": alarm_at,
            "detection_delay": None
            if alarm_at is None or shift_at is None
            else alarm_at - shift_at,
        }
    )
