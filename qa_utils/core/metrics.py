"""SQuAD v1.1 exact match and F1, with the official evaluate-v1.1.py semantics, a scorer and a CLI.

The metric functions give exactly the official values. `score_predictions` scores a whole split
several times faster than the official loop (each prediction and each distinct gold answer is
normalised once, not once per pair and metric) and returns a per-example table.

Command line, used like the official script::

    python -m qa_utils.metrics DATASET.json PREDICTIONS.json
"""

from __future__ import annotations

import json
import re
import string
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from qa_utils.project.text import text_problem

T = TypeVar("T")


_DROP_PUNCTUATION = str.maketrans("", "", string.punctuation)


_ARTICLES = re.compile(r"\b(a|an|the)\b")


PER_EXAMPLE_COLUMNS = ("id", "prediction", "gold_answers", "em", "f1")


def normalize_answer(s: str) -> str:
    """Lower-case, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace.

    Exactly the official normaliser: punctuation is only `string.punctuation`, so unicode
    dashes and quotes are kept, and articles are removed after punctuation.

    >>> normalize_answer("The  Eiffel Tower!")
    'eiffel tower'
    >>> normalize_answer("Café—du Monde (an ‘old’ one)")
    'café—du monde ‘old’ one'
    """
    return " ".join(_ARTICLES.sub(" ", s.lower().translate(_DROP_PUNCTUATION)).split())


def exact_match_score(prediction: str, ground_truth: str) -> bool:
    """Return whether the two answers are equal after `normalize_answer`.

    >>> exact_match_score("the Eiffel tower.", "Eiffel Tower")
    True
    >>> exact_match_score("Eiffel", "Eiffel Tower")
    False
    """
    return normalize_answer(prediction) == normalize_answer(ground_truth)


def _token_f1(
    pred_tokens: list[str], pred_counts: Mapping[str, int], gold_tokens: list[str]
) -> float:
    """Token-overlap F1 (0..1), in the official script's arithmetic so floats match exactly."""
    unmatched = dict(pred_counts)
    num_same = 0  # the size of the multiset intersection, without building a third Counter
    for token in gold_tokens:
        if unmatched.get(token, 0) > 0:
            unmatched[token] -= 1
            num_same += 1
    if num_same == 0:
        return 0.0
    precision = 1.0 * num_same / len(pred_tokens)
    recall = 1.0 * num_same / len(gold_tokens)
    return (2 * precision * recall) / (precision + recall)


def f1_score(prediction: str, ground_truth: str) -> float:
    """Return the token-overlap F1 (0..1) of two answers after `normalize_answer`.

    As in the official script, two answers that both normalise to "" score 0, not 1.

    >>> f1_score("the Eiffel tower", "Eiffel Tower in Paris")
    0.6666666666666666
    >>> f1_score("Paris", "London")
    0.0
    """
    pred_tokens = normalize_answer(prediction).split()
    return _token_f1(pred_tokens, Counter(pred_tokens), normalize_answer(ground_truth).split())


def metric_max_over_ground_truths(
    metric_fn: Callable[[str, str], T], prediction: str, ground_truths: Iterable[str]
) -> T:
    """Return the best score of `prediction` against any of the gold answers.

    >>> metric_max_over_ground_truths(f1_score, "Eiffel", ["Eiffel Tower", "the Eiffel"])
    1.0
    >>> metric_max_over_ground_truths(exact_match_score, "tower", ["Eiffel Tower", "the Eiffel"])
    False
    """
    return max(metric_fn(prediction, ground_truth) for ground_truth in ground_truths)


def _best_scores(prediction: str, ground_truths: Sequence[str]) -> tuple[int, float]:
    """Return (EM 0/1, F1 0..1) of `prediction` against its best gold answers."""
    pred_norm = normalize_answer(prediction)
    pred_tokens = pred_norm.split()
    pred_counts = Counter(pred_tokens)
    em, f1 = 0, 0.0
    for gold in dict.fromkeys(ground_truths):  # duplicates cannot change a maximum
        gold_norm = normalize_answer(gold)
        if gold_norm == pred_norm:
            if pred_tokens:  # equal non-empty token lists: the official F1 is exactly 1.0
                return 1, 1.0
            em = 1  # both empty: EM 1 but, officially, F1 0
            continue
        f1 = max(f1, _token_f1(pred_tokens, pred_counts, gold_norm.split()))
    return em, f1


@dataclass(frozen=True)
class ScoreReport:
    """Scores of a prediction set on a split.

    Attributes:
        exact_match: percent (0-100) of questions whose prediction matches a gold answer.
        f1: mean best token F1, in percent (0-100); both as the official script computes them.
        total: number of questions in the split (missing predictions count, scoring 0).
        missing_ids: question ids without a prediction, in dataset order.
        unknown_ids: prediction ids that are not questions of the split, in prediction order.
        per_example: one row per question (dataset order): id, prediction (None if missing),
            gold_answers (list[str]), em (0.0 or 100.0), f1 (0..100), so slice means are metrics.
    """

    exact_match: float
    f1: float
    total: int
    missing_ids: list[str]
    unknown_ids: list[str]
    per_example: pd.DataFrame

    def summary(self) -> dict[str, float]:
        """Return `{"exact_match": ..., "f1": ...}`, the dict the official script prints."""
        return {"exact_match": self.exact_match, "f1": self.f1}


def _gold_columns(examples: Any) -> tuple[list[str], list[list[str]]]:
    """Return (ids, gold answer texts) from a Dataset or an iterable of example dicts."""
    if hasattr(examples, "column_names"):  # a datasets.Dataset: read two columns, not rows
        columns = examples.select_columns(["id", "answers"]).to_dict()
        return columns["id"], [answers["text"] for answers in columns["answers"]]
    rows = list(examples)
    return [row["id"] for row in rows], [list(row["answers"]["text"]) for row in rows]


def score_predictions(examples: Any, predictions: Mapping[str, str]) -> ScoreReport:
    """Score predictions {question id: answer text} against a split, like evaluate-v1.1.py.

    Args:
        examples: a `datasets.Dataset` from `qa_utils.core.data.load_squad`, or an iterable of dicts
            with "id" and "answers" {"text": [...]}.
        predictions: answer text per question id (the official predictions.json).

    Returns:
        A `ScoreReport`; `exact_match` and `f1` equal the official script's output.

    >>> examples = [{"id": "q1", "answers": {"text": ["Paris", "in Paris"]}},
    ...             {"id": "q2", "answers": {"text": ["1889"]}}]
    >>> report = score_predictions(examples, {"q1": "Paris, France", "q3": "x"})
    >>> report.summary(), report.missing_ids, report.unknown_ids
    ({'exact_match': 0.0, 'f1': 33.33333333333333}, ['q2'], ['q3'])
    """
    ids, golds = _gold_columns(examples)
    if not ids:
        raise ValueError("there are no questions to score")
    texts, ems, f1s = [], [], []
    for qid, gold in zip(ids, golds, strict=True):
        prediction = predictions.get(qid)
        if prediction is not None and not isinstance(prediction, str):
            raise ValueError(
                f"prediction for id {qid!r} must be a string, got {type(prediction).__name__}"
            )
        em, f1 = _best_scores(prediction, gold) if prediction is not None else (0, 0.0)
        texts.append(prediction)
        ems.append(em)
        f1s.append(f1)
    known = set(ids)
    return ScoreReport(
        # Summed in dataset order with the official formula so the floats are identical.
        exact_match=100.0 * sum(ems) / len(ids),
        f1=100.0 * _ordered_sum(f1s) / len(ids),
        total=len(ids),
        missing_ids=[qid for qid, text in zip(ids, texts, strict=True) if text is None],
        unknown_ids=[qid for qid in predictions if qid not in known],
        per_example=_per_example_table(ids, texts, golds, ems, f1s),
    )


def _ordered_sum(values: Iterable[float]) -> float:
    """Add left to right, as the official loop does.

    Plain `sum` compensates rounding from Python 3.12 on, which would change the last bits.
    """
    total = 0.0
    for value in values:
        total += value
    return total


def _per_example_table(ids: list, texts: list, golds: list, ems: list, f1s: list) -> pd.DataFrame:
    """Build the per-example table with EM and F1 in percent."""
    return pd.DataFrame(
        {
            "id": ids,
            "prediction": pd.Series(texts, dtype=object),
            "gold_answers": golds,
            "em": [100.0 * em for em in ems],
            "f1": [100.0 * f1 for f1 in f1s],
        },
        columns=list(PER_EXAMPLE_COLUMNS),
    )


class PredictionFormatError(ValueError):
    """A predictions file that is not a JSON object mapping question ids to answer strings."""


def read_predictions(path: str | Path) -> dict[str, str]:
    """Read an official-format predictions file ({question id: answer text}) and check it."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise PredictionFormatError(f"{path}: cannot read the file ({err.strerror})") from None
    try:
        predictions = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise PredictionFormatError(f"{path}: byte {err.start}: not valid UTF-8") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise PredictionFormatError(f"{path}: {where}: invalid JSON: {err.msg}") from None
    except RecursionError:
        raise PredictionFormatError(f"{path}: JSON nested too deeply") from None
    if not isinstance(predictions, dict):
        kind = type(predictions).__name__
        raise PredictionFormatError(f"{path}: expected a JSON object {{id: answer}}, got {kind}")
    for qid, text in predictions.items():
        if not isinstance(text, str):
            kind = type(text).__name__ if text is not None else "null"
            raise PredictionFormatError(f"{path}: id {qid!r}: expected a string, got {kind}")
        for part, value in (("id", qid), ("answer", text)):
            problem = text_problem(value)
            if problem:
                raise PredictionFormatError(f"{path}: id {qid!r}: {part} {problem}")
    return predictions


def report_ids(report: ScoreReport) -> None:
    """Tell stderr how many questions had no prediction and how many ids were unknown."""
    if report.missing_ids:
        first = ", ".join(report.missing_ids[:3])
        print(
            f"warning: {len(report.missing_ids)} of {report.total} questions have no "
            f"prediction and score 0 (first: {first})",
            file=sys.stderr,
        )
    if report.unknown_ids:
        first = ", ".join(report.unknown_ids[:3])
        print(
            f"warning: {len(report.unknown_ids)} predictions have ids that are not in the "
            f"dataset and were ignored (first: {first})",
            file=sys.stderr,
        )
