"""Helpers of notebook 02: data lengths, repeated answers, and what a training curve shows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from datasets import Dataset
from scipy import stats
from transformers.tokenization_utils_base import PreTrainedTokenizerBase


def token_lengths(examples: Dataset, tokenizer: PreTrainedTokenizerBase) -> pd.DataFrame:
    """Question, context and first-answer lengths in tokens, one row per example.

    Contexts longer than the model's maximum are the point of the count, so the tokenizer's
    warning about them is turned off (`verbose=False`).
    """

    def count(texts: list[str]) -> list[int]:
        encoded = tokenizer(texts, add_special_tokens=False, verbose=False)
        return [len(ids) for ids in encoded["input_ids"]]

    return pd.DataFrame(
        {
            "question": count(examples["question"][:]),
            "context": count(examples["context"][:]),
            "answer": count([a["text"][0] for a in examples["answers"][:]]),
        }
    )


ANNOTATED_SHARE = 0.75
"""How often the rebuilt training file's offset of a repeated answer is the annotated one
(`../shared/squad/README.md`: "about 3 times in 4"): a cited estimate, not a measurement."""


def repeated_answer_share(examples: Dataset) -> float:
    """Share of examples whose first answer text occurs more than once in its context.

    Only these can carry a wrong offset in a file whose offsets were recovered by searching
    for the answer text (`train-v1.1-rebuilt.json`).
    """
    texts, contexts = [a["text"][0] for a in examples["answers"][:]], examples["context"][:]
    repeated = [context.count(text) > 1 for text, context in zip(texts, contexts, strict=True)]
    return sum(repeated) / max(len(repeated), 1)


def format_p(p_value: float) -> str:
    """A p-value to three decimals, '<0.001' below (1,000 resamples' floor is 1/1001).

    >>> format_p(0.000999000999000999), format_p(0.1104)
    ('<0.001', '0.110')
    """
    return "<0.001" if p_value < 0.001 else f"{p_value:.3f}"


def p_phrase(p_value: float) -> str:
    """'p = 0.110' or 'p < 0.001', for a sentence.

    >>> p_phrase(0.1104), p_phrase(0.0002)
    ('p = 0.110', 'p < 0.001')
    """
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


MIN_WINDOW = 5
"""Fewest logged losses per window for `loss_curve_sentence` to test whether the loss falls."""


def window_change(before: np.ndarray, late: np.ndarray) -> tuple[float, float, float, float]:
    """Mean of `late` minus mean of `before`, its 95% interval and p-value (Welch's t-test).

    Welch's test, which does not assume that the two windows are equally noisy.
    """
    test = stats.ttest_ind(late, before, equal_var=False)
    interval = test.confidence_interval(0.95)
    difference = float(late.mean() - before.mean())
    return difference, float(interval.low), float(interval.high), float(test.pvalue)


def trend_clause(before: np.ndarray, late: np.ndarray) -> str:
    """Whether the loss still falls between two windows of logged values, beyond their noise."""
    difference, low, high, p_value = window_change(before, late)
    trend = "still falling" if high < 0 else "rising" if low > 0 else "nearly flat"
    return (
        f"Over the last fifth of the run it is {trend}: the mean of the last {len(late)} logged "
        f"values is {late.mean():.3f} against {before.mean():.3f} for the {len(before)} before "
        f"them (difference {difference:+.3f}, 95% interval {low:+.3f} to {high:+.3f}, Welch's "
        f"t-test {p_phrase(p_value)})."
    )


def decay_clause(history: pd.DataFrame) -> str:
    """What the curve cannot say, and the learning rate's share in the end of the curve."""
    clause = "The curve alone cannot say whether more steps or data would help"
    rates = history["learning_rate"].dropna() if "learning_rate" in history else pd.Series()
    if len(rates) and rates.iloc[-1] < rates.max() / 2:
        clause += (
            f"; the learning rate decays over the run (peak {rates.max():.1e}, last logged "
            f"{rates.iloc[-1]:.1e}), and its decay also lowers the loss at the end"
        )
    return clause + "."


def loss_curve_sentence(history: pd.DataFrame, mean_loss: float) -> str:
    """What a training history shows: where the loss started and ended, and if it still falls.

    "Still falling" compares the logged losses of the last fifth of the logged steps with those
    of the fifth before it, and says so only when the drop is larger than their noise.
    """
    losses = history["loss"].dropna().to_numpy() if "loss" in history else np.array([])
    if len(losses) < 2:
        return f"The run was too short to log its loss; its mean loss was {mean_loss:.2f}."
    verb = "fell" if losses[-1] < losses[0] else "went"
    text = (
        f"The logged loss {verb} from {losses[0]:.2f} to {losses[-1]:.2f}; the mean over the "
        f"whole run, {mean_loss:.2f}, includes the early steps, so it is not where the run ended. "
    )
    fifth = len(losses) // 5
    if fifth < MIN_WINDOW:
        return text + f"Too few losses were logged ({len(losses)}) to tell whether it still falls."
    late, before = losses[-fifth:], losses[-2 * fifth : -fifth]
    return text + trend_clause(before, late) + " " + decay_clause(history)
