"""Notebook 06's shift sentences quote the tables they are given, and pick the right verdict."""

from __future__ import annotations

import pandas as pd

from qa_utils.chapter import shift as story


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
    assert "ER +3.0 [-0.5, +6.1], as robust as its SQuAD score predicts." in story.er_sentences(
        trend
    )


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
