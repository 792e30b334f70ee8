"""Predictions + scores -> the per-example table every slice, plot and interval is derived from."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pandas as pd
from datasets import Dataset

from qa_utils.core.postprocess import Prediction

RECORD_COLUMNS = (
    "id",
    "title",
    "question",
    "context",
    "gold_answers",
    "gold_starts",
    "prediction",
    "pred_start",
    "pred_end",
    "confidence",
    "em",
    "f1",
    "n_windows",
    "answer_words",
    "question_words",
    "context_words",
)


def count_windows(features: Dataset) -> Counter[str]:
    """How many windows each example was split into."""
    return Counter(features["example_id"][:])


def build_records(
    examples: Dataset,
    predictions: Mapping[str, Prediction],
    per_example: pd.DataFrame,
    windows: Mapping[str, int],
) -> pd.DataFrame:
    """One row per question: the example, our answer, its confidence and its EM/F1 (percent).

    Args:
        examples: the evaluated SQuAD examples.
        predictions: post-processed predictions by id.
        per_example: the scorer's table (id, em, f1).
        windows: number of windows per example id.
    """
    table = examples.to_pandas()
    table["gold_answers"] = [list(a["text"]) for a in table["answers"]]
    table["gold_starts"] = [[int(s) for s in a["answer_start"]] for a in table["answers"]]
    empty = Prediction("", -1, -1, 0.0, [])
    chosen = [predictions.get(i, empty) for i in table["id"]]
    table["prediction"] = [p.text for p in chosen]
    table["pred_start"] = [p.start for p in chosen]
    table["pred_end"] = [p.end for p in chosen]
    table["confidence"] = [p.confidence for p in chosen]
    scores = per_example.set_index("id")
    table["em"] = table["id"].map(scores["em"]).astype(float)
    table["f1"] = table["id"].map(scores["f1"]).astype(float)
    table["n_windows"] = table["id"].map(windows).fillna(0).astype(int)
    table["answer_words"] = [len(a[0].split()) if len(a) else 0 for a in table["gold_answers"]]
    table["question_words"] = table["question"].str.split().str.len()
    table["context_words"] = table["context"].str.split().str.len()
    return table[list(RECORD_COLUMNS)]
