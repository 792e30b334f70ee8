"""Notebook 02's helpers: repeated answers in a context, and what a training curve shows."""

from __future__ import annotations

import pandas as pd
from datasets import Dataset

from qa_utils.chapter.curves import loss_curve_sentence, repeated_answer_share


def _examples(pairs: list[tuple[str, str]]) -> Dataset:
    return Dataset.from_dict(
        {
            "context": [c for c, _ in pairs],
            "answers": [{"text": [a], "answer_start": [c.index(a)]} for c, a in pairs],
        }
    )


def test_repeated_answers_are_counted():
    examples = _examples([("Paris is in France.", "Paris"), ("1889 and 1889 again.", "1889")])
    assert repeated_answer_share(examples) == 0.5


def test_a_falling_curve_asks_for_more_steps():
    history = pd.DataFrame(
        {"step": range(5, 55, 5), "loss": [5, 4, 3.5, 3, 2.8, 2.6, 2.4, 2.2, 2, 1.8]}
    )
    sentence = loss_curve_sentence(history, mean_loss=2.9)
    assert "fell from 5.00 to 1.80" in sentence and "mean over the whole run, 2.90" in sentence
    assert "still falling (2.30 to 1.90)" in sentence


def test_a_flat_curve_says_so():
    history = pd.DataFrame({"step": range(5, 55, 5), "loss": [5, 3, 2, 2, 2, 2, 2, 2, 2, 2]})
    assert "flat or rising" in loss_curve_sentence(history, mean_loss=2.4)


def test_a_run_without_logged_loss_gives_its_mean():
    sentence = loss_curve_sentence(pd.DataFrame({"train_runtime": [3.0]}), mean_loss=4.5)
    assert "too short" in sentence and "4.50" in sentence
