"""Notebook 06's shift sentences quote the tables they are given, and pick the right verdict."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qa_utils.chapter import shift as story
from qa_utils.serving.replay import ReplayConfig


def test_drop_and_er_sentences_quote_the_tables():
    table = pd.DataFrame({"set": ["squad/dev", "squadshifts/amazon"], "f1": [72.04, 50.0],
                          "drop": [0.0, 22.04], "drop_low": [0.0, 20.5],
                          "drop_high": [0.0, 23.6]})  # fmt: skip
    assert story.drop_sentence(table, "it") == (
        "it scores 72.0 F1 on SQuAD dev; loses 22.0 [20.5, 23.6] on squadshifts/amazon "
        "(F1 points, 95% intervals)."
    )
    unclear = table.assign(drop_low=[0.0, -1.0])
    assert "no clear drop, 22.0 [-1.0, 23.6]" in story.drop_sentence(unclear)
    trend = pd.DataFrame({"set": ["squadshifts/amazon"], "shifted_f1": [50.0], "predicted": [47.0],
                          "er": [3.0], "er_low": [-0.5], "er_high": [6.1]})  # fmt: skip
    assert (
        "ER +3.0 [-0.5, +6.1], not measurably more or less robust (the interval holds 0) than "
        "its SQuAD score predicts." in story.er_sentences(trend)
    )
    assert "more robust than its" in story.er_sentences(trend.assign(er_low=0.5))


def test_slice_sentences_name_the_largest_excess_and_handle_none():
    tests = pd.DataFrame({"set": ["a", "a", "b"], "slice": ["question_word"] * 3,
                          "value": ["why", "who", "how"], "excess": [4.0, -9.0, 12.5],
                          "differs": [True, True, False]})  # fmt: skip
    text = story.slice_test_sentence(tests, top=1)
    assert text.startswith("2 of 3 slices") and text.endswith(
        "lose less: a question_word = who (-9.0)."
    )
    both = story.slice_test_sentence(tests)
    assert both.endswith(
        "lose more: a question_word = why (+4.0); lose less: a question_word = who (-9.0)."
    )
    assert story.slice_test_sentence(tests.assign(differs=False)).startswith("0 of 3")
    long = pd.DataFrame({"set": ["a", "a"], "slice": ["question_word"] * 2, "value": ["why", "who"],
                         "f1": [40.0, 70.0], "small": [False, True]})  # fmt: skip
    assert story.hardest_sentence(long) == (
        "The hardest question word with at least 30 questions: a: *why* (40.0)."
    )
    assert story.hardest_sentence(long.assign(small=True)).startswith("No value")


def test_calibration_sentence_says_which_way_the_model_errs():
    table = pd.DataFrame({"set": ["a", "b"], "overconfidence": [-11.66, -6.3], "ece": [11.7, 6.6]})
    assert story.calibration_sentence(table) == (
        "The model is under-confident on every set; mean confidence minus exact-match rate: "
        "-11.7 points on a (ECE 11.7); -6.3 points on b (ECE 6.6)."
    )
    assert "some sets" in story.calibration_sentence(table.assign(overconfidence=[2.0, -1.0]))


def test_robustness_alarm_and_lowering_sentences():
    table = pd.DataFrame({"condition": ["clean", "typos", "distractor"], "drop": [0.0, 1.0, 9.0],
                          "drop_low": [0.0, -0.5, 6.0], "drop_high": [0.0, 2.5, 12.0]})  # fmt: skip
    assert story.robustness_sentence(table) == (
        "The largest drop is distractor's, 9.0 [6.0, 12.0] F1 points; the conditions whose drop "
        "interval excludes 0: distractor."
    )
    assert story.lowering_sentence(table).endswith("above 0): distractor.")
    assert story.lowering_sentence(table.assign(drop_low=-1.0)).startswith("No perturbation")
    assert story.alarm_sentence(50, None, 100).startswith("No alarm")
    assert "12 requests after" in story.alarm_sentence(50, 62, 100)
    assert "false alarm" in story.alarm_sentence(50, 40, 100)


def test_display_tables_blank_the_reference_rows_and_word_p_values():
    table = pd.DataFrame({"set": ["squad/dev", "b"], "f1": [70.123, 60.0], "drop": [0.0, 10.1],
                          "drop_low": [-5.6, 4.0], "drop_high": [5.1, 16.0],
                          "em_drop": [0.0, 9.0]})  # fmt: skip
    shown = story.shift_display(table)
    assert shown.iloc[0][["drop", "drop_low", "drop_high", "em_drop"]].tolist() == [""] * 4
    assert shown.iloc[0]["f1"] == 70.12 and shown.iloc[1]["drop_low"] == 4.0
    probes = pd.DataFrame({"condition": ["clean", "typos", "rewrites"], "drop": [0.0, 8.5, 2.9],
                           "drop_low": [0.0, 5.2, 0.5], "drop_high": [0.0, 11.9, 5.3],
                           "p_value": [1.0, 1 / 1001, 0.0219]})  # fmt: skip
    shown = story.robustness_display(probes, 1000)
    assert shown["p_value"].tolist() == ["", "≤ 0.001", "0.022"]
    assert shown.iloc[0]["drop"] == "" and shown.iloc[1]["drop"] == 8.5


def test_above_line_and_slice_summary_sentences_quote_both_runs():
    full = pd.DataFrame({"set": ["new_wiki", "reddit", "amazon"], "er_low": [-3.2, 4.2, 11.9]})
    sample = full.assign(er_low=[-7.2, -2.3, 6.2])
    text = story.above_line_sentence(full, sample)
    assert "above 0) on reddit, amazon; in this run's sample, on amazon (a sample's" in text
    assert story.above_line_sentence(full, full).endswith("on reddit, amazon.")
    assert "on no set" in story.above_line_sentence(full.assign(er_low=-1.0), full)
    full_tests = pd.DataFrame({"slice": ["gold_type", "gold_type", "question_word",
                                         "answer_length", "context_length"],
                               "differs": [True, True, True, False, False]})  # fmt: skip
    tests = full_tests.assign(differs=False).head(3)
    assert story.slice_summary_sentence(tests, full_tests) == (
        "Slices that lose significantly more or less than their set as a whole: 0 of 3 in this "
        "run's sample; 3 of 5 with every question of the four sets (the committed run), "
        "2 answer-type and 1 question-word slices, none by answer length or context length."
    )
    assert story.slice_summary_sentence(tests, tests).endswith("(the committed run).")


def test_latency_sentence_splits_model_time_model_wait_transport_and_client_wait():
    seq = np.arange(10)
    curves = pd.DataFrame({"seq": seq, "latency_p50": [50.0] * 5 + [60, 80, 100, 150, 200],
                           "latency_p95": [70.0] * 5 + [90, 120, 300, 250, 240]})  # fmt: skip
    scored = pd.DataFrame({"seq": seq, "status": 200, "model_ms": [30.0] * 10,
                           "server_ms": [40.0] * 5 + [170.0] * 5,
                           "latency_ms": [50.0] * 5 + [190.0] * 5,
                           "wait_ms": [0.0] * 6 + [400.0] * 4})  # fmt: skip
    text = story.latency_sentence(curves, scored, shift_at=5)
    assert text.startswith("Rolling median latency was 50 ms just before the shift and 200 ms")
    assert "peaked at 300 ms (request 7)" in text
    assert (
        "before the shift 30 ms in the model, 10 ms waiting in the service for its model thread "
        "and 10 ms in transport, of a latency of 50 ms; after it 30 ms in the model, 140 ms "
        "waiting in the service for its model thread and 20 ms in transport, of a latency of "
        "190 ms."
    ) in text
    assert "waited a median of 0 ms in the client" in text


def test_replay_sentence_says_when_the_service_fell_behind():
    log = pd.DataFrame({"status": [200] * 9 + [503], "sent_s": np.linspace(0.5, 2.75, 10),
                        "done_s": np.linspace(0.5, 5.0, 10),
                        "wait_ms": [0.0] * 5 + [100.0, 200, 300, 400, 500]})  # fmt: skip
    slow = story.replay_sentence(ReplayConfig(rate=20.0, concurrency=4), log)
    assert "offered 20 requests per second, with at most 4 open at once" in slow
    # from the first request sent (0.5 s) to the last done (5.0 s), as replay.stream_summary
    assert "10 requests finished in 4.5 s, 9 answered (2.0 per second), 1 failed" in slow
    assert "answered fewer per second than were offered (2.0 against 20), so it fell" in slow
    assert "a median of 50 ms (at most 500)" in slow
    kept = story.replay_sentence(ReplayConfig(rate=2.0, concurrency=16), log)
    assert "at most 16 open at once" in kept and "kept up" in kept


def test_slices_display_blanks_small_slices_and_shows_shares_in_percent():
    long = pd.DataFrame({
        "set": ["squad/dev"] * 2 + ["squadshifts/reddit"] * 2, "slice": "question_word",
        "value": ["what", "why"] * 2, "f1": [71.23, 20.0, 60.04, 80.0],
        "share": [0.5, 0.0125, 0.4, 0.05], "n": [200, 5, 160, 29],
    })  # fmt: skip
    shown = story.slices_display(long)
    assert list(shown.columns) == [("dev", "F1"), ("dev", "share %"), ("reddit", "F1"),
                                   ("reddit", "share %")]  # fmt: skip
    assert list(shown[("dev", "F1")]) == [71.2, ""]
    assert list(shown[("reddit", "F1")]) == [60.0, ""]
    assert list(shown[("dev", "share %")]) == [50.0, 1.2]


def test_drift_benchmark_sentence_reads_the_committed_json(tmp_path):
    folder = tmp_path / "benchmarks" / "reference"
    folder.mkdir(parents=True)
    numbers = {"runs": 300, "length": 800, "shift_at": 500, "bound": 80, "wald_delay": 36.02,
               "delay_median": 32.0, "delay_p95": 63.0, "within_bound": 0.9633,
               "early": 0.0267, "false_alarm": 0.0633, "monitored": 600}  # fmt: skip
    (folder / "drift.json").write_text(json.dumps(numbers))
    text = story.drift_benchmark_sentence(tmp_path)
    assert "a median of 32 shifted scores after the shift and 63 at the 95th percentile" in text
    assert "within 80 scores in 96.3%" in text and "2.7% raised it before" in text
    assert "6.3% of unshifted streams" in text and "Wald's estimate 36" in text
    with pytest.raises(FileNotFoundError, match="no committed drift benchmark"):
        story.drift_benchmark_sentence(tmp_path / "nowhere")


def test_stream_display_keeps_counts_as_integers():
    summary = pd.Series({"requests": 100, "errors": 0, "f1_before_shift": 66.404,
                         "alarm_at": 81, "detection_delay": 31})  # fmt: skip
    shown = story.stream_display(summary)
    assert (
        str(shown.loc["stream", "requests"]) == "100"
        and shown.loc["stream", "f1_before_shift"] == 66.4
    )
    quiet = story.stream_display(summary.replace({81: None, 31: None}))
    assert pd.isna(quiet.loc["stream", "alarm_at"]) and str(quiet["errors"].dtype) == "Int64"
