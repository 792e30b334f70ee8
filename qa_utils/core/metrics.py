"""SQuAD exact match and F1 with the official semantics (evaluate-v1.1.py and evaluate-v2.0.py).

The metric functions give exactly the official values. `score_predictions` scores a whole split
several times faster than the official loop (each prediction and each distinct gold answer is
normalised once, not once per pair and metric) and returns a per-example table. A SQuAD 2.0
split (one with `is_impossible`) is scored like evaluate-v2.0.py: an empty answer is right for
an unanswerable question, HasAns/NoAns breakdowns, and with no-answer probabilities the
threshold (`--na-prob-thresh`) and the best thresholds (`best_exact`, `best_f1`).

Command line, used like the official scripts::

    python -m qa_utils.metrics DATASET.json PREDICTIONS.json [--na-prob-file NA_PROBS.json]
"""

from __future__ import annotations

import json
import math
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

V2_COLUMNS = ("is_impossible", "abstained", "na_prob", "answer_em", "answer_f1")
"""Columns the per-example table of a SQuAD 2.0 split adds (see `ScoreReport`)."""

IMPOSSIBLE = "is_impossible"


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
            SQuAD 2.0 adds `V2_COLUMNS`: is_impossible, abstained (the answer is empty or its
            na_prob exceeds the threshold), na_prob, and answer_em/answer_f1, the scores of the
            prediction text before the threshold (em/f1 are after it).
        official: SQuAD 2.0 only: the dict evaluate-v2.0.py prints (None for v1.1).
    """

    exact_match: float
    f1: float
    total: int
    missing_ids: list[str]
    unknown_ids: list[str]
    per_example: pd.DataFrame
    official: dict[str, float] | None = None

    def summary(self) -> dict[str, float]:
        """The dict the official script prints: `{"exact_match", "f1"}` (v1.1) or v2.0's."""
        if self.official is not None:
            return dict(self.official)
        return {"exact_match": self.exact_match, "f1": self.f1}


def is_squad_v2(examples: Any) -> bool:
    """Whether examples are SQuAD 2.0: a Dataset with an is_impossible column, or rows with it.

    >>> is_squad_v2([{"id": "q", "answers": {"text": []}, "is_impossible": True}])
    True
    """
    if hasattr(examples, "column_names"):
        return IMPOSSIBLE in examples.column_names
    return any(IMPOSSIBLE in row for row in examples)


def _gold_columns(examples: Any) -> tuple[list[str], list[list[str]], bool]:
    """Return (ids, gold answer texts, is SQuAD 2.0) from a Dataset or an iterable of dicts."""
    if hasattr(examples, "column_names"):  # a datasets.Dataset: read two columns, not rows
        columns = examples.select_columns(["id", "answers"]).to_dict()
        golds = [answers["text"] for answers in columns["answers"]]
        return columns["id"], golds, is_squad_v2(examples)
    rows = list(examples)
    golds = [list(row["answers"]["text"]) for row in rows]
    return [row["id"] for row in rows], golds, is_squad_v2(rows)


def _check_texts(ids: list[str], predictions: Mapping[str, Any]) -> None:
    """Raise ValueError for a prediction of one of `ids` that is not a string."""
    for qid in ids:
        prediction = predictions.get(qid)
        if prediction is not None and not isinstance(prediction, str):
            raise ValueError(
                f"prediction for id {qid!r} must be a string, got {type(prediction).__name__}"
            )


def score_predictions(
    examples: Any,
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None = None,
    na_prob_thresh: float = 1.0,
) -> ScoreReport:
    """Score predictions {question id: answer text} against a split, like the official script.

    Args:
        examples: a `datasets.Dataset` from `qa_utils.core.data.load_squad`, or an iterable of dicts
            with "id" and "answers" {"text": [...]} (and "is_impossible" for SQuAD 2.0).
        predictions: answer text per question id (the official predictions.json).
        na_probs: SQuAD 2.0 only: no-answer probability per question id (`--na-prob-file`).
        na_prob_thresh: SQuAD 2.0 only: a question whose na_prob exceeds it counts as
            answered with "" (`--na-prob-thresh`).

    Returns:
        A `ScoreReport`; `summary()` equals the output of evaluate-v1.1.py, or of
        evaluate-v2.0.py for a SQuAD 2.0 split.

    >>> examples = [{"id": "q1", "answers": {"text": ["Paris", "in Paris"]}},
    ...             {"id": "q2", "answers": {"text": ["1889"]}}]
    >>> report = score_predictions(examples, {"q1": "Paris, France", "q3": "x"})
    >>> report.summary(), report.missing_ids, report.unknown_ids
    ({'exact_match': 0.0, 'f1': 33.33333333333333}, ['q2'], ['q3'])
    """
    ids, golds, v2 = _gold_columns(examples)
    if not ids:
        raise ValueError("there are no questions to score")
    _check_texts(ids, predictions)
    if v2:
        return _score_v2(ids, golds, predictions, na_probs, na_prob_thresh)
    if na_probs is not None:
        raise ValueError("no-answer probabilities apply to SQuAD 2.0 datasets only")
    texts, ems, f1s = [], [], []
    for qid, gold in zip(ids, golds, strict=True):
        prediction = predictions.get(qid)
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


# --- SQuAD 2.0 (evaluate-v2.0.py) ----------------------------------------------------------------
# Scores keep the official script's types (int 0/1, float F1) and are added with the built-in
# `sum` in the same order, so the totals are the same floats, bit for bit.

Score = int | float


def v2_gold_answers(texts: Sequence[str]) -> list[str]:
    """The gold answers evaluate-v2.0.py scores against: those not normalising to "", else [""].

    >>> v2_gold_answers(["The", "Paris"]), v2_gold_answers([])
    (['Paris'], [''])
    """
    return [text for text in texts if normalize_answer(text)] or [""]


def v2_f1(prediction: str, gold: str) -> Score:
    """evaluate-v2.0.py's compute_f1: when either side is empty, 1 if both are, else 0.

    >>> v2_f1("", ""), v2_f1("the", ""), v2_f1("Paris", ""), v2_f1("in Paris", "Paris")
    (1, 1, 0, 0.6666666666666666)
    """
    pred_tokens = normalize_answer(prediction).split()
    return _v2_token_f1(pred_tokens, Counter(pred_tokens), normalize_answer(gold).split())


def _v2_token_f1(pred_tokens: list[str], pred_counts: Mapping[str, int], gold: list[str]) -> Score:
    """`v2_f1` on token lists: an int when either is empty or nothing overlaps, else a float."""
    if not gold or not pred_tokens:
        return int(gold == pred_tokens)
    return _token_f1(pred_tokens, pred_counts, gold) or 0


def v2_scores(prediction: str, gold_texts: Sequence[str]) -> tuple[int, Score]:
    """(EM, F1) of one prediction as evaluate-v2.0.py computes them (the first maximum wins).

    >>> v2_scores("", []), v2_scores("", ["Paris"]), v2_scores("paris!", ["London", "Paris"])
    ((1, 1), (0, 0), (1, 1.0))
    """
    pred_norm = normalize_answer(prediction)
    pred_tokens = pred_norm.split()
    pred_counts = Counter(pred_tokens)
    best_em, best_f1 = None, None
    for gold in dict.fromkeys(v2_gold_answers(gold_texts)):  # duplicates cannot change a max
        gold_norm = normalize_answer(gold)
        em = int(gold_norm == pred_norm)
        f1 = _v2_token_f1(pred_tokens, pred_counts, gold_norm.split())
        best_em = em if best_em is None or em > best_em else best_em
        best_f1 = f1 if best_f1 is None or f1 > best_f1 else best_f1
    assert best_em is not None and best_f1 is not None  # v2_gold_answers is never empty
    return best_em, best_f1


def best_threshold(
    na_probs: Sequence[float],
    gains: Sequence[Score],
    start: Score,
    total: int,
    initial: float = 0.0,
) -> tuple[float, float]:
    """The official find_best_thresh: the score of the best no-answer threshold, and that threshold.

    Starting from `start` (every question abstains), questions are answered in increasing
    order of na_prob (ties in the given order) and `gains[i]` is what answering question i
    adds; the threshold is the na_prob of the last question answered at the best score
    (`initial`, officially 0.0, when abstaining on all of them is best). Abstain when na_prob
    exceeds it.

    Args:
        na_probs: no-answer probability (or any score that grows with it) per question.
        gains: answered minus abstained score per question.
        start: the score when every question abstains.
        total: the number of questions the score is divided by.
        initial: the threshold returned when no threshold beats abstaining everywhere.

    Returns:
        (100 * best score / total, threshold).

    >>> best_threshold([0.1, 0.9, 0.5], [1.0, -1, 0.5], start=1, total=3)
    (83.33333333333333, 0.5)
    """
    best = current = start
    threshold = initial
    for i in sorted(range(len(na_probs)), key=na_probs.__getitem__):
        current += gains[i]
        if current > best:
            best, threshold = current, na_probs[i]
    return 100.0 * best / total, threshold


def _v2_block(exact: Mapping[str, Score], f1: Mapping[str, Score], ids: list[str]) -> dict:
    """exact, f1 (percent) and total over `ids` (a missing score counts 0)."""
    return {
        "exact": 100.0 * sum(exact.get(qid, 0) for qid in ids) / len(ids),
        "f1": 100.0 * sum(f1.get(qid, 0) for qid in ids) / len(ids),
        "total": len(ids),
    }


def _v2_summary(
    ids: list[str], has_answer: Mapping[str, bool], exact: Mapping, f1: Mapping
) -> dict[str, Any]:
    """The official dict: exact, f1, total, then HasAns_* and NoAns_* when there are such."""
    out = _v2_block(exact, f1, ids)
    for prefix, wanted in (("HasAns", True), ("NoAns", False)):
        group = [qid for qid in ids if has_answer[qid] is wanted]
        if group:
            out.update({f"{prefix}_{k}": v for k, v in _v2_block(exact, f1, group).items()})
    return out


def _v2_best(
    texts: Mapping[str, str], raw: Mapping[str, Score], na_probs: Mapping, has: Mapping
) -> tuple[float, float]:
    """best_* and best_*_thresh of one raw score (the official find_best_thresh)."""
    ordered_ids = [qid for qid in na_probs if qid in raw]  # the na-prob file's order
    gains = [raw[q] if has[q] else (-1 if texts[q] else 0) for q in ordered_ids]
    start = sum(1 for qid in raw if not has[qid])
    return best_threshold([na_probs[q] for q in ordered_ids], gains, start, len(has))


def _check_na_probs(na_probs: Mapping[str, Any], answered: Iterable[str]) -> None:
    """Raise ValueError unless every answered question has a na_prob (the official KeyError)."""
    lacking = [qid for qid in answered if qid not in na_probs]
    if lacking:
        first = ", ".join(lacking[:3])
        raise ValueError(
            f"no-answer probabilities lack {len(lacking)} predicted questions (first: {first})"
        )


def _score_v2(
    ids: list[str],
    golds: list[list[str]],
    predictions: Mapping[str, str],
    na_probs: Mapping[str, float] | None,
    thresh: float,
) -> ScoreReport:
    """Score a SQuAD 2.0 split exactly like evaluate-v2.0.py (missing predictions score 0)."""
    has = {qid: bool(gold) for qid, gold in zip(ids, golds, strict=True)}
    gold_of = dict(zip(ids, golds, strict=True))
    texts = {qid: predictions[qid] for qid in ids if qid in predictions}
    probs = dict(na_probs) if na_probs is not None else dict.fromkeys(predictions, 0.0)
    _check_na_probs(probs, texts)
    raw = {qid: v2_scores(text, gold_of[qid]) for qid, text in texts.items()}
    raw_em = {qid: s[0] for qid, s in raw.items()}
    raw_f1 = {qid: s[1] for qid, s in raw.items()}
    over = {qid: probs[qid] > thresh for qid in texts}
    exact = {q: float(not has[q]) if over[q] else s for q, s in raw_em.items()}
    f1 = {q: float(not has[q]) if over[q] else s for q, s in raw_f1.items()}
    summary = _v2_summary(ids, has, exact, f1)
    if na_probs is not None:
        summary["best_exact"], summary["best_exact_thresh"] = _v2_best(texts, raw_em, probs, has)
        summary["best_f1"], summary["best_f1_thresh"] = _v2_best(texts, raw_f1, probs, has)
    table = _v2_table(ids, golds, texts, (exact, f1, raw_em, raw_f1), (na_probs or {}, over))
    known = set(ids)
    return ScoreReport(
        exact_match=summary["exact"],
        f1=summary["f1"],
        total=len(ids),
        missing_ids=[qid for qid in ids if qid not in texts],
        unknown_ids=[qid for qid in predictions if qid not in known],
        per_example=table,
        official=summary,
    )


def _v2_table(
    ids: list[str], golds: list, texts: Mapping[str, str], scores: tuple, probs: tuple
) -> pd.DataFrame:
    """The per-example table of a SQuAD 2.0 split (`PER_EXAMPLE_COLUMNS` + `V2_COLUMNS`)."""
    exact, f1, raw_em, raw_f1 = scores
    na_probs, over = probs  # na_prob is NaN where no probability was given
    answered = [
        qid in texts and not over[qid] and bool(normalize_answer(texts[qid])) for qid in ids
    ]
    table = _per_example_table(
        ids,
        [texts.get(qid) for qid in ids],
        golds,
        [exact.get(qid, 0) for qid in ids],
        [f1.get(qid, 0) for qid in ids],
    )
    table["is_impossible"] = [not gold for gold in golds]
    table["abstained"] = [qid in texts and not a for qid, a in zip(ids, answered, strict=True)]
    table["na_prob"] = [float(na_probs.get(qid, float("nan"))) for qid in ids]
    table["answer_em"] = [100.0 * raw_em.get(qid, 0) for qid in ids]
    table["answer_f1"] = [100.0 * raw_f1.get(qid, 0) for qid in ids]
    return table


class PredictionFormatError(ValueError):
    """A predictions file that is not a JSON object mapping question ids to answer strings."""


def _read_json_object(path: str | Path, shape: str) -> dict[str, Any]:
    """Read a JSON object from `path`; errors name the file and say what is wrong, on one line."""
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise PredictionFormatError(f"{path}: cannot read the file ({err.strerror})") from None
    try:
        content = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise PredictionFormatError(f"{path}: byte {err.start}: not valid UTF-8") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise PredictionFormatError(f"{path}: {where}: invalid JSON: {err.msg}") from None
    except RecursionError:
        raise PredictionFormatError(f"{path}: JSON nested too deeply") from None
    if not isinstance(content, dict):
        kind = type(content).__name__
        raise PredictionFormatError(f"{path}: expected a JSON object {shape}, got {kind}")
    return content


def _kind(value: Any) -> str:
    """The JSON name of a value's type, for error messages."""
    return type(value).__name__ if value is not None else "null"


def read_predictions(path: str | Path) -> dict[str, str]:
    """Read an official-format predictions file ({question id: answer text}) and check it."""
    predictions = _read_json_object(path, "{id: answer}")
    for qid, text in predictions.items():
        if not isinstance(text, str):
            raise PredictionFormatError(f"{path}: id {qid!r}: expected a string, got {_kind(text)}")
        for part, value in (("id", qid), ("answer", text)):
            problem = text_problem(value)
            if problem:
                raise PredictionFormatError(f"{path}: id {qid!r}: {part} {problem}")
    return predictions


def read_na_probs(path: str | Path) -> dict[str, float]:
    """Read an official-format no-answer probability file ({question id: number}), in file order."""
    na_probs = _read_json_object(path, "{id: probability}")
    for qid, value in na_probs.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PredictionFormatError(
                f"{path}: id {qid!r}: expected a number, got {_kind(value)}"
            )
        if not math.isfinite(value):
            raise PredictionFormatError(
                f"{path}: id {qid!r}: expected a finite number, got {value}"
            )
    return na_probs


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
