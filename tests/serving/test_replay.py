"""Tests of qa_utils.serving.replay: stream replay against a service, delayed feedback, drift.

With feedback delayed by D requests, the detector's documented bound (tests/serving/
test_drift.py) becomes D + MAX_DELAY shifted scores.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from types import SimpleNamespace

import httpx
import numpy as np
import pandas as pd
import pytest
from datasets import Dataset, concatenate_datasets
from matplotlib.figure import Figure

from qa_utils import plots
from qa_utils.core.data import load_squad
from qa_utils.core.inference import Answer
from qa_utils.robustness.perturb import add_distractors
from qa_utils.serving import replay
from qa_utils.serving.app import ServiceLimits, create_app
from qa_utils.serving.drift import (
    CusumConfig,
)
from qa_utils.serving.harness import serve_in_thread

FIXTURES = Path(__file__).parents[1] / "fixtures"


MAX_DELAY = 80


def fake_log(f1: list[float]) -> pd.DataFrame:
    """A scored replay log with the given per-request F1 and steady latency."""
    n = len(f1)
    return pd.DataFrame(
        {
            "seq": np.arange(n),
            "status": 200,
            "em": f1,
            "f1": f1,
            "latency_ms": np.linspace(10, 20, n),
            "sent_s": np.arange(n) * 0.1,
            "done_s": np.arange(n) * 0.1 + 0.01,
            "feedback_at": np.arange(n) + 3,
        }
    )


def test_rolling_quality_lags_by_the_feedback_delay():
    scored = fake_log([100.0] * 10 + [0.0] * 10)
    curves = replay.online_curves(scored, window=4, delay=3)
    assert curves["f1"].iloc[12] == 100.0  # request 9 is the newest with feedback at 12
    assert curves["f1"].iloc[13] == 75.0
    assert curves["f1"].iloc[16] == 0.0
    assert curves["latency_p95"].iloc[-1] <= 20.0
    assert curves["throughput_rps"].iloc[-1] == pytest.approx(20 / 1.91)  # 20 done in 1.91 s


def test_answered_per_second_counts_from_first_sent_to_last_done():
    log = pd.DataFrame({"status": [200, 200, 503, 200], "sent_s": [1.0, 1.5, 2.0, 2.5],
                        "done_s": [1.5, 2.0, 2.5, 3.0]})  # fmt: skip
    assert replay.stream_seconds(log) == 2.0
    assert replay.answered_per_second(log) == 1.5  # 3 answered in 2 s
    assert np.isnan(replay.answered_per_second(log.iloc[:1].assign(done_s=1.0)))


def test_send_one_records_the_service_and_model_times():
    def answer(request: httpx.Request) -> httpx.Response:
        body = {"answer": "1902", "score": 0.9, "latency_ms": 42.0, "model_ms": 30.0}
        return httpx.Response(200, json=body)

    row = SimpleNamespace(seq=0, id="q0", question="When?", context="In 1902.")
    with httpx.Client(transport=httpx.MockTransport(answer)) as client:
        result = replay.send_one(client, "http://service", row, timeout_s=5.0)
    assert (result["server_ms"], result["model_ms"], result["prediction"]) == (42.0, 30.0, "1902")
    log = replay.log_table([(row, 0.0, result)], started=0.0)
    assert list(log.columns) == list(replay.LOG_COLUMNS)
    assert (log.loc[0, "server_ms"], log.loc[0, "model_ms"]) == (42.0, 30.0)


def test_send_one_leaves_the_times_blank_on_a_refusal():
    def busy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"detail": "service busy"})

    row = SimpleNamespace(seq=0, id="q0", question="When?", context="In 1902.")
    with httpx.Client(transport=httpx.MockTransport(busy)) as client:
        result = replay.send_one(client, "http://service", row, timeout_s=5.0)
    log = replay.log_table([(row, 0.0, result)], started=0.0)
    assert log.loc[0, "status"] == 503 and log.loc[0, "error"] == "service busy"
    assert np.isnan(log.loc[0, "model_ms"]) and np.isnan(log.loc[0, "server_ms"])


def test_score_log_uses_the_official_metrics_and_skips_failures():
    log = pd.DataFrame(
        {
            "seq": [0, 1, 2],
            "status": [200, 200, 503],
            "prediction": ["the Denver Broncos", "x", None],
        }
    )
    stream = pd.DataFrame(
        {"seq": [0, 1, 2], "gold_answers": [["Denver Broncos"], ["y"], ["z"]], "shifted": False}
    )
    scored = replay.score_log(log, stream, delay=5)
    assert scored["em"].tolist()[:2] == [100.0, 0.0] and np.isnan(scored["f1"].iloc[2])
    assert scored["feedback_at"].tolist() == [5, 6, 7]


class Memoriser:
    """Right on about 80% of the exact (question, context) pairs it knows, wrong otherwise."""

    def __init__(self, examples: Dataset) -> None:
        self.gold = {
            (q, c): a["text"][0]
            for q, c, a in zip(
                examples["question"], examples["context"], examples["answers"], strict=True
            )
        }

    def answer(self, question: str, context: str) -> Answer:
        gold = self.gold.get((question, context))
        if gold is not None and zlib.crc32(question.encode()) % 5:
            return Answer(gold, 0, len(gold), 0.9)
        return Answer("Velmora", 0, 7, 0.1)


@pytest.fixture(scope="module")
def clean() -> Dataset:
    """The mini fixture eight times over: a stream of 200 questions."""
    return concatenate_datasets([load_squad(FIXTURES / "mini_squad.json")] * 8)


@pytest.fixture(scope="module")
def url(clean):
    app = create_app(lambda: Memoriser(clean), ServiceLimits(max_concurrency=2), "memoriser")
    with serve_in_thread(app) as address:
        yield address


REPLAY = replay.ReplayConfig(rate=0, concurrency=8, max_requests=200, max_seconds=60)


DETECTOR = CusumConfig(reference=80)


DELAY = 10


def test_replayed_shift_to_distractors_is_flagged_and_plotted(url, clean):
    stream = replay.make_stream(clean, add_distractors(clean, seed=0), shift_at=120)
    log = replay.replay(url, stream, REPLAY)
    assert len(log) == 200 and (log["status"] == 200).all()
    scored = replay.score_log(log, stream, DELAY)
    drift, alarm_at = replay.stream_drift(scored, DETECTOR)
    assert alarm_at is not None and 120 <= alarm_at <= 120 + DELAY + MAX_DELAY
    summary = replay.stream_summary(scored, shift_at=120, alarm_at=alarm_at)
    assert summary["f1_before_shift"] > 60 > 20 > summary["f1_after_shift"]
    assert summary["detection_delay"] == alarm_at - 120 and summary["errors"] == 0
    curves = replay.online_curves(scored, window=30, delay=DELAY, drift=drift)
    assert curves["f1"].iloc[119] > curves["f1"].iloc[-1]
    fig = plots.plot_online(curves, 120, alarm_at, drift.threshold)
    assert isinstance(fig, Figure) and tuple(fig.get_size_inches()) == plots.SIZES["tall"]


def test_replayed_unshifted_stream_raises_no_alarm(url, clean):
    stream = replay.make_stream(clean)
    scored = replay.score_log(replay.replay(url, stream, REPLAY), stream, DELAY)
    assert replay.stream_drift(scored, DETECTOR)[1] is None


def test_replay_respects_its_bounds_and_logs_failures(clean):
    stream = replay.make_stream(clean)
    slow = replay.ReplayConfig(rate=2.0, max_requests=50, max_seconds=0.4, timeout_s=2)
    log = replay.replay("http://127.0.0.1:9", stream, slow)  # nothing listens on port 9
    assert len(log) == 1 and log["status"].tolist() == [0]
    assert log["error"].iloc[0].startswith("ConnectError")
    few = replay.replay("http://127.0.0.1:9", stream, replay.ReplayConfig(rate=0, max_requests=3))
    assert len(few) == 3


def test_make_stream_checks_ids(clean):
    with pytest.raises(ValueError, match="same ids, in the same order"):
        replay.make_stream(clean, clean.select(range(5)), shift_at=2)
