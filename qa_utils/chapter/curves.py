"""Helpers of notebook 02: data lengths, repeated answers, and what a training curve shows."""

from __future__ import annotations

import pandas as pd
from datasets import Dataset
from transformers.tokenization_utils_base import PreTrainedTokenizerBase


def token_lengths(examples: Dataset, tokenizer: PreTrainedTokenizerBase) -> pd.DataFrame:
    """Question, context and first-answer lengths in tokens, one row per example."""

    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]

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


def loss_curve_sentence(history: pd.DataFrame, mean_loss: float) -> str:
    """What a training history shows: where the loss started and ended, and if it still falls.

    "Still falling" compares the mean logged loss of the last fifth of the logged steps with
    that of the fifth before it.
    """
    losses = history["loss"].dropna().to_numpy() if "loss" in history else []
    if len(losses) < 2:
        return f"The run was too short to log its loss; its mean loss was {mean_loss:.2f}."
    fifth = max(1, len(losses) // 5)
    late, before = losses[-fifth:].mean(), losses[-2 * fifth : -fifth].mean()
    trend = "still falling" if late < before else "flat or rising"
    return (
        f"The logged loss fell from {losses[0]:.2f} to {losses[-1]:.2f}; the mean over the whole "
        f"run, {mean_loss:.2f}, sits above where it ended because it includes the early steps. "
        f"Over the last fifth of the run it is {trend} ({before:.2f} to {late:.2f}), so "
        + (
            "more steps or data would likely still help."
            if late < before
            else "more of the same steps would buy little."
        )
    )
