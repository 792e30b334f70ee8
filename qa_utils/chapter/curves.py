"""Figures for the fine-tuning chapter: data length distributions and the training curve."""

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
