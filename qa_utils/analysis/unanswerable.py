"""Unanswerable questions (SQuAD 2.0): abstaining, thresholds, selective answering, calibration.

Every function takes the per-example table of a SQuAD 2.0 split
(`qa_utils.core.records.build_records`: is_impossible, abstained, na_prob, answer_f1, em, f1)
and follows the official evaluate-v2.0.py: a question whose no-answer probability exceeds the
threshold t counts as abstaining, which scores 100 on an unanswerable question and 0 on an
answerable one; below it, the question scores its answer's `answer_f1` (or `answer_em`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import logit

from qa_utils.analysis.stats import calibration_table, expected_calibration_error
from qa_utils.analysis.tables import SMALL_SLICE, metric_row

GOLD = ("answerable", "unanswerable")
PREDICTED = ("answered", "abstained")


def abstain_confusion(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of answerable/unanswerable (rows) against answered/abstained (columns).

    >>> t = pd.DataFrame({"is_impossible": [True, True, False], "abstained": [True, False, False]})
    >>> abstain_confusion(t).values.tolist()
    [[1, 0], [1, 1]]
    """
    gold = pd.Categorical(np.where(table["is_impossible"], GOLD[1], GOLD[0]), categories=GOLD)
    said = pd.Categorical(np.where(table["abstained"], PREDICTED[1], PREDICTED[0]), PREDICTED)
    counts = pd.crosstab(gold, said, dropna=False).reindex(index=GOLD, columns=PREDICTED)
    counts = counts.fillna(0).astype(int)
    counts.index.name, counts.columns.name = "gold", "prediction"
    return counts


def breakdown(table: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """EM and F1 with 95% bootstrap intervals over all, answerable and unanswerable questions.

    Returns:
        One row per group (group: all, HasAns, NoAns, as the official keys): n, em, em_low,
        em_high, f1, f1_low, f1_high, small.
    """
    groups = {
        "all": table,
        "HasAns": table[~table["is_impossible"]],
        "NoAns": table[table["is_impossible"]],
    }
    rows = [
        {"group": name, **metric_row(rows, n_resamples, seed, SMALL_SLICE)}
        for name, rows in groups.items()
    ]
    return pd.DataFrame(rows)


def has_na_probs(table: pd.DataFrame) -> bool:
    """Whether the table carries a no-answer probability for every question."""
    return "na_prob" in table and bool(table["na_prob"].notna().all()) and len(table) > 0


def threshold_curve(table: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """EM or F1 (overall, answerable, unanswerable) and coverage at every distinct threshold.

    At threshold t a question answers when its na_prob is at most t (as the official
    `--na-prob-thresh`). The first row, threshold -inf, abstains on every question.

    Returns:
        Columns threshold, score, has_score, no_score, answered (share of questions answered).

    >>> t = pd.DataFrame({"na_prob": [0.1, 0.8], "is_impossible": [False, True],
    ...                   "answer_f1": [50.0, 0.0]})
    >>> threshold_curve(t)["score"].tolist()
    [50.0, 75.0, 25.0]
    """
    order = table.sort_values("na_prob", kind="stable")
    probs = order["na_prob"].to_numpy(dtype=np.float64)
    impossible = order["is_impossible"].to_numpy(dtype=bool)
    answered = order[f"answer_{metric}"].to_numpy(dtype=np.float64)
    abstained = 100.0 * impossible
    # Cut after the last question of each distinct na_prob: everything up to it answers.
    cuts = np.r_[0, np.flatnonzero(np.r_[probs[1:] != probs[:-1], True]) + 1]
    rows = {"threshold": np.r_[-np.inf, probs[cuts[1:] - 1]], "answered": cuts / len(probs)}
    for name, mask in (("score", None), ("has_score", ~impossible), ("no_score", impossible)):
        keep = np.ones(len(probs), bool) if mask is None else mask
        gain = np.r_[0.0, np.cumsum(np.where(keep, answered - abstained, 0.0))][cuts]
        rows[name] = (keep @ abstained + gain) / max(int(keep.sum()), 1)
    return pd.DataFrame(rows)


def to_null_diff(na_prob: float | np.ndarray, finite: bool = True) -> float | np.ndarray:
    """The score difference T behind a no-answer probability: logit(na_prob).

    Our na_prob is sigmoid(null_diff), so this undoes it. With `finite`, a probability of 0
    or 1 (or the curve's -inf, abstain on all) maps to the last difference float64 tells
    apart, for drawing; without, to -inf or inf, for saying.

    >>> [round(float(to_null_diff(p)), 2) for p in (0.5, 1.5e-6, 1.0)]
    [0.0, -13.41, 36.04]
    >>> float(to_null_diff(-np.inf, finite=False))
    -inf
    """
    if not finite:
        return logit(np.clip(na_prob, 0.0, 1.0))
    info = np.finfo(np.float64)
    return logit(np.clip(na_prob, info.tiny, 1.0 - info.eps))


def lowest_risk(coverage: pd.DataFrame, questions: int, min_questions: int = 20) -> pd.Series:
    """The row of `coverage_risk` with the lowest risk among those answering `min_questions`+.

    A handful of surest questions can have any risk by chance, so coverages below
    `min_questions` of the `questions` are left out (all rows if none reaches it).

    >>> curve = pd.DataFrame({"coverage": [0.25, 0.5, 1.0], "risk": [0.0, 0.2, 0.4]})
    >>> float(lowest_risk(curve, 4, min_questions=2)["coverage"])
    0.5
    """
    counts = np.rint(coverage["coverage"] * questions)
    kept = coverage[counts >= min_questions]
    kept = coverage if kept.empty else kept
    return kept.loc[kept["risk"].idxmin()]


def best_row(curve: pd.DataFrame) -> pd.Series:
    """The row of `threshold_curve` with the highest score (the lowest threshold among ties)."""
    return curve.loc[curve["score"].idxmax()]


def curve_at(curve: pd.DataFrame, threshold: float) -> pd.Series:
    """The row of `threshold_curve` in force at `threshold` (the last one not above it)."""
    return curve[curve["threshold"] <= threshold].iloc[-1]


def coverage_risk(table: pd.DataFrame, metric: str = "f1") -> tuple[pd.DataFrame, float]:
    """Risk of selective answering against coverage, answering the lowest na_probs first.

    Coverage is the share of questions answered; risk is 1 - mean answer score / 100 among
    them (answering an unanswerable question is wrong). Questions with equal na_prob enter
    together.

    Returns:
        (columns coverage, risk; the area under the curve, AURC: the coverage-weighted mean
        risk, lower is better).

    >>> t = pd.DataFrame({"na_prob": [0.1, 0.2, 0.9], "is_impossible": [False, False, True],
    ...                   "answer_f1": [100.0, 50.0, 0.0]})
    >>> curve, area = coverage_risk(t)
    >>> curve["risk"].round(3).tolist(), round(area, 4)
    ([0.0, 0.25, 0.5], 0.25)
    """
    curve = threshold_curve(table, metric).iloc[1:]
    order = table.sort_values("na_prob", kind="stable")
    scores = order[f"answer_{metric}"].to_numpy(dtype=np.float64) / 100.0
    counts = np.rint(curve["answered"].to_numpy() * len(order)).astype(int)
    risk = 1.0 - np.cumsum(scores)[counts - 1] / counts
    coverage = counts / len(order)
    area = float(np.sum(risk * np.diff(np.r_[0.0, coverage])))
    return pd.DataFrame({"coverage": coverage, "risk": risk}), area


def na_calibration(table: pd.DataFrame, n_bins: int = 10) -> tuple[pd.DataFrame, float] | None:
    """Reliability of the no-answer probability (against is_impossible) and its ECE.

    None when the na_probs are not probabilities (outside [0, 1], like raw score differences).
    """
    probs = table["na_prob"]
    if not has_na_probs(table) or probs.min() < 0 or probs.max() > 1:
        return None
    unanswerable = table["is_impossible"].astype(float)
    return (
        calibration_table(probs, unanswerable, n_bins),
        expected_calibration_error(probs, unanswerable, n_bins),
    )


@dataclass
class AbstentionAnalysis:
    """The SQuAD 2.0 tables of one prediction file; the threshold ones need na_probs."""

    confusion: pd.DataFrame
    curve: pd.DataFrame | None = None
    best: pd.Series | None = None
    coverage: pd.DataFrame | None = None
    aurc: float | None = None
    calibration: pd.DataFrame | None = None
    ece: float | None = None


def analyse_abstention(table: pd.DataFrame) -> AbstentionAnalysis:
    """Every SQuAD 2.0 table of a per-example table (threshold tables only with na_probs)."""
    result = AbstentionAnalysis(abstain_confusion(table))
    if not has_na_probs(table):
        return result
    result.curve = threshold_curve(table)
    result.best = best_row(result.curve)
    result.coverage, result.aurc = coverage_risk(table)
    calibrated = na_calibration(table)
    if calibrated is not None:
        result.calibration, result.ece = calibrated
    return result
