"""Predictions -> the per-example table every slice, plot and interval is derived from.

One row per question: the example (id, title, question, context, gold answers and their
starts, lengths in words), the prediction with its character span, confidence and window
count, and its EM/F1 in percent. On SQuAD 2.0 data the table adds `V2_COLUMNS`:
is_impossible, abstained, na_prob and answer_em/answer_f1 (see `build_records`).
`build_records` is the one builder: evaluation writes its table as records.parquet, the
analysis builds it from any official prediction file, and the robustness probes from each
perturbed condition.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.core.metrics import (
    V2_COLUMNS,
    ScoreReport,
    best_threshold,
    is_squad_v2,
    score_predictions,
    v2_scores,
)
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
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> ScoredTable:
    """Score `predictions` against `examples` and build the per-example table.

    Args:
        examples: SQuAD-format examples (a `Dataset` or a list of row dicts).
        predictions: our `Prediction`s by id, or the answer texts of any prediction file.
        windows: windows per example id, when known (NaN otherwise).
        na_probs: SQuAD 2.0: no-answer probability by id (a `--na-prob-file`).
        na_prob_thresh: SQuAD 2.0: questions whose na_prob exceeds it count as abstaining.

    Questions without a prediction get an empty one and score 0 (confidence 0 for ours);
    predictions for ids that are not in the dataset are left out and reported. Texts carry no
    confidence (NaN) and their span is their first occurrence in the context. SQuAD 2.0
    examples are scored like evaluate-v2.0.py and add is_impossible, abstained, na_prob and
    answer_em/answer_f1: the scores of what it answers when it does not abstain (the text of
    a prediction file; the best span of ours, whose na_prob is their own).
    """
    texts = {k: p if isinstance(p, str) else p.text for k, p in predictions.items()}
    v2 = is_squad_v2(examples)
    if na_probs is None and v2:
        na_probs = own_na_probs(predictions)
    report = score_predictions(examples, texts, na_probs, na_prob_thresh)
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
    if not v2:
        return ScoredTable(table[list(RECORD_COLUMNS)], report)
    table = table.join(report.per_example.set_index("id")[list(V2_COLUMNS)], on="id")
    if ours:
        _score_best_spans(table, predictions)
    return ScoredTable(table[[*RECORD_COLUMNS, *V2_COLUMNS]], report)


def own_na_probs(predictions: Mapping[str, Any]) -> dict[str, float] | None:
    """The no-answer probabilities of our SQuAD 2.0 predictions, or None if they have none."""
    probs = {k: p.na_prob for k, p in predictions.items() if isinstance(p, Prediction)}
    if not probs or any(v is None for v in probs.values()):
        return None
    return probs


def _score_best_spans(table: pd.DataFrame, predictions: Mapping[str, Any]) -> None:
    """Set answer_em/answer_f1 to the scores of each prediction's best span (v2 semantics).

    Questions without a prediction keep 0, as they score.
    """
    scores = []
    for qid, gold in zip(table["id"], table["gold_answers"], strict=True):
        p = predictions.get(qid)
        if p is None:
            scores.append((0, 0))
            continue
        span = p.best_span() if isinstance(p, Prediction) else {"text": p}
        scores.append(v2_scores(span["text"] if span else "", gold))
    table["answer_em"] = [100.0 * em for em, _ in scores]
    table["answer_f1"] = [100.0 * f1 for _, f1 in scores]


def tune_null_threshold(
    examples: Any, predictions: Mapping[str, Prediction], metric: str = "f1"
) -> tuple[float, float]:
    """The null-score threshold that maximises EM or F1 on validation examples (SQuAD 2.0).

    Like the official best_f1_thresh, but on our `null_diff` (null score minus best span
    score) and with each question's best span as its answer, so the threshold can move
    either way from the one the predictions were made with.

    Args:
        examples: SQuAD 2.0 validation examples (with is_impossible).
        predictions: our predictions of them, made in SQuAD 2.0 mode (`null_diff` set).
        metric: "f1" or "exact".

    Returns:
        (the best score in percent, the threshold: abstain when null_diff exceeds it;
        -inf when abstaining on every question is best).
    """
    if not is_squad_v2(examples) or metric not in ("f1", "exact"):
        raise ValueError("tuning needs SQuAD 2.0 examples and metric 'f1' or 'exact'")
    columns = dataset_columns(examples, ["id", "answers"])
    pick = 1 if metric == "f1" else 0
    diffs, gains, start = [], [], 0
    for qid, answers in zip(columns["id"], columns["answers"], strict=True):
        p = predictions.get(qid)
        if p is None or p.null_diff is None:
            raise ValueError(f"question {qid!r} has no SQuAD 2.0 prediction (null_diff)")
        span = p.best_span()
        # Abstaining scores "" (1 where there is no answer); answering gains the difference.
        abstained = v2_scores("", answers["text"])[pick]
        diffs.append(p.null_diff)
        gains.append(v2_scores(span["text"] if span else "", answers["text"])[pick] - abstained)
        start += abstained
    return best_threshold(diffs, gains, start, len(diffs), initial=-math.inf)
