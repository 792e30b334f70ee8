"""Notebook 02's helpers: repeated answers in a context, and what a training curve shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.chapter.curves import loss_curve_sentence, repeated_answer_share, token_lengths
from qa_utils.core.model import load_tokenizer


def _examples(pairs: list[tuple[str, str]]) -> Dataset:
    return Dataset.from_dict(
        {
            "question": ["Where is it?"] * len(pairs),
            "context": [c for c, _ in pairs],
            "answers": [{"text": [a], "answer_start": [c.index(a)]} for c, a in pairs],
        }
    )


WARNED = "sequence-length-is-longer-than-the-specified-maximum"


def test_token_lengths_count_long_contexts_without_the_tokenizer_warning():
    tokenizer = load_tokenizer("embedded")
    long = " ".join(["Paris"] * (tokenizer.model_max_length + 10))
    lengths = token_lengths(
        _examples([(long, "Paris"), ("Paris is in France.", "Paris")]), tokenizer
    )
    assert lengths["context"].tolist() == [tokenizer.model_max_length + 10, 5]
    assert lengths["question"].tolist() == [4, 4] and lengths["answer"].tolist() == [1, 1]
    assert WARNED not in tokenizer.deprecation_warnings
    tokenizer([long], add_special_tokens=False)  # the same call with the warning on
    assert tokenizer.deprecation_warnings[WARNED]


def test_repeated_answers_are_counted():
    examples = _examples([("Paris is in France.", "Paris"), ("1889 and 1889 again.", "1889")])
    assert repeated_answer_share(examples) == 0.5


def _history(losses: list[float], rates: list[float] | None = None) -> pd.DataFrame:
    steps = range(5, 5 * len(losses) + 5, 5)
    return pd.DataFrame({"step": steps, "loss": losses, "learning_rate": rates or 1e-4})


def _window(mean: float, spread: float, n: int) -> list[float]:
    return [mean + spread * (-1) ** i for i in range(n)]  # standard deviation ~ spread


def test_a_curve_falling_beyond_its_noise_is_still_falling():
    losses = list(np.linspace(5.0, 1.0, 50) + np.tile([0.02, -0.02], 25))
    sentence = loss_curve_sentence(_history(losses), mean_loss=2.9)
    assert "fell from 5.02 to 0.98" in sentence and "mean over the whole run, 2.90" in sentence
    assert "still falling: the mean of the last 10 logged values" in sentence
    assert "would likely still help" not in sentence
    assert "cannot say whether more steps or data would help." in sentence


def test_a_drop_within_the_noise_is_nearly_flat():
    """The audited quick run: 1.89 to 1.80 over 40 logged values each, spread ~0.21."""
    losses = [5.0] * 120 + _window(1.89, 0.21, 40) + _window(1.80, 0.21, 40)
    sentence = loss_curve_sentence(_history(losses), mean_loss=2.4)
    assert "nearly flat: the mean of the last 40 logged values is 1.800 against 1.890" in sentence
    assert "95% interval -0.185 to +0.005" in sentence and "p = 0.062" in sentence


def test_a_rising_curve_says_so():
    losses = [2.2] * 30 + _window(2.0, 0.05, 10) + _window(2.5, 0.05, 10)
    sentence = loss_curve_sentence(_history(losses), mean_loss=2.8)
    assert "it is rising" in sentence and "went from 2.20 to 2.45" in sentence
    assert "p < 0.001" in sentence


def test_the_learning_rate_decay_is_named_only_when_it_decays():
    losses = list(np.linspace(4.0, 2.0, 50))
    decaying = loss_curve_sentence(_history(losses, list(np.linspace(1e-4, 0, 50))), 3.0)
    assert "peak 1.0e-04, last logged 0.0e+00" in decaying and "its decay also lowers" in decaying
    assert "decay" not in loss_curve_sentence(_history(losses), 3.0)


def test_too_few_logged_losses_are_not_tested():
    sentence = loss_curve_sentence(_history([5, 4, 3, 2, 1.5, 1.2]), mean_loss=2.8)
    assert "Too few losses were logged (6)" in sentence and "falling" not in sentence


def test_a_run_without_logged_loss_gives_its_mean():
    sentence = loss_curve_sentence(pd.DataFrame({"train_runtime": [3.0]}), mean_loss=4.5)
    assert "too short" in sentence and "4.50" in sentence
