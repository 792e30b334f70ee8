"""Predictions -> the per-example table every slice, plot and interval is derived from.

One row per question: the example (id, title, question, context, gold answers and their
starts, lengths in words), the prediction with its character span, confidence and window
count, and its EM/F1 in percent. `build_records` is the one builder: evaluation writes its
table as records.parquet, the analysis builds it from any official prediction file, and the
robustness probes from each perturbed condition.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.core.metrics import ScoreReport, score_predictions
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


@dataclass
class ScoredTable:
    """The per-example table, with the scorer's report (exact totals, missing/unknown ids)."""

    table: pd.DataFrame
    report: ScoreReport

    @property
    def missing_ids(self) -> list[str]:
        """Questions without a prediction (scored 0), in dataset order."""
        return list(self.report.missing_ids)

    @property
    def unknown_ids(self) -> list[str]:
        """Prediction ids that are not questions of the dataset."""
        return list(self.report.unknown_ids)


def count_windows(features: Dataset) -> Counter[str]:
    """How many windows each example was split into."""
    return Counter(features["example_id"][:])


def dataset_columns(examples: Any, names: Sequence[str]) -> dict[str, list]:
    """Columns of a `datasets.Dataset` (read once through Arrow) or of a list of row dicts."""
    if hasattr(examples, "select_columns"):
        return examples.select_columns(list(names)).to_dict()
    rows = list(examples)
    return {name: [row[name] for row in rows] for name in names}


def examples_table(examples: Any) -> pd.DataFrame:
    """The dataset columns of the per-example table, from `qa_utils.core.data.load_squad` output."""
    columns = dataset_columns(examples, ["id", "title", "question", "context", "answers"])
    answers = columns.pop("answers")
    table = pd.DataFrame(columns)
    table["gold_answers"] = [list(a["text"]) for a in answers]
    table["gold_starts"] = [[int(s) for s in a["answer_start"]] for a in answers]
    table["answer_words"] = [len(a[0].split()) if a else 0 for a in table["gold_answers"]]
    table["question_words"] = table["question"].str.split().str.len()
    table["context_words"] = table["context"].str.split().str.len()
    return table


def locate_prediction(context: str, prediction: str) -> int:
    """Character offset of a prediction in its context (first occurrence), or -1 if absent.

    Official prediction files carry text only; when the text occurs more than once the first
    occurrence is taken, which can misplace a correct-looking span in another sentence.

    >>> locate_prediction("The ferry runs twice a day.", "twice a day"), locate_prediction("x", "")
    (15, -1)
    >>> locate_prediction("İzmir and Paris", "PARIS")  # "İ".lower() is two characters
    10
    """
    if not prediction.strip():
        return -1
    found = context.find(prediction)
    if found >= 0:
        return found
    # Case-insensitive on the context itself: lower() can change a text's length, and the
    # offset must be one in the context.
    match = re.search(re.escape(prediction), context, re.IGNORECASE)
    return match.start() if match else -1


def _spans(table: pd.DataFrame, chosen: list[Prediction | str | None]) -> list[tuple[int, int]]:
    """Character span of each prediction: its own, else located in the context, else (-1, -1)."""
    spans = []
    for context, p in zip(table["context"], chosen, strict=True):
        if isinstance(p, Prediction):
            spans.append((p.start, p.end))
            continue
        start = locate_prediction(context, p) if p else -1
        spans.append((start, start + len(p)) if start >= 0 else (-1, -1))
    return spans


def build_records(
    examples: Any,
    predictions: Mapping[str, Prediction] | Mapping[str, str],
    windows: Mapping[str, int] | None = None,
) -> ScoredTable:
    """Score `predictions` against `examples` and build the per-example table.

    Args:
        examples: SQuAD-format examples (a `Dataset` or a list of row dicts).
        predictions: our `Prediction`s by id, or the answer texts of any prediction file.
        windows: windows per example id, when known (NaN otherwise).

    Questions without a prediction get an empty one and score 0 (confidence 0 for ours);
    predictions for ids that are not in the dataset are left out and reported. Texts carry no
    confidence (NaN) and their span is their first occurrence in the context.
    """
    texts = {k: p if isinstance(p, str) else p.text for k, p in predictions.items()}
    report = score_predictions(examples, texts)
    table = examples_table(examples)
    ours = any(isinstance(p, Prediction) for p in predictions.values())
    empty = Prediction("", -1, -1, 0.0, []) if ours else ""
    chosen = [predictions.get(i, empty) for i in table["id"]]
    table["prediction"] = [p if isinstance(p, str) else p.text for p in chosen]
    spans = _spans(table, chosen)
    table["pred_start"] = [s for s, _ in spans]
    table["pred_end"] = [e for _, e in spans]
    table["confidence"] = [p.confidence if isinstance(p, Prediction) else np.nan for p in chosen]
    scores = report.per_example.set_index("id")[["em", "f1"]].astype(float)
    table = table.join(scores, on="id")
    table[["em", "f1"]] = table[["em", "f1"]].fillna(0.0)
    table["n_windows"] = (
        table["id"].map(windows).fillna(0).astype(int) if windows is not None else np.nan
    )
    return ScoredTable(table[list(RECORD_COLUMNS)], report)
