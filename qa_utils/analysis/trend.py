"""The published trend of shifted F1 against SQuAD F1, and effective robustness.

Miller et al. (2020) evaluated about a hundred SQuAD models on the SQuADShifts sets and found
their shifted F1 close to a line against their SQuAD F1: a model's drop is mostly predicted by
how good it is on SQuAD. A model is *effectively robust* when its shifted F1 lies above that
line, and the distance is its effective robustness (Taori et al., 2020):
ER = our shifted F1 - the line's prediction at our SQuAD F1.

The line is fitted by least squares on logit-transformed scores, logit(F1 / 100), the scale
on which the distribution-shift studies this analysis follows fit their trends (Recht et al.,
2019; Taori et al., 2020). Why not on F1 itself: F1 is bounded by 0 and 100, and models
near the ceiling lose fewer points in absolute terms than weaker ones, so a straight line on
raw F1 bends at both ends; on the logit scale the published points lie on a line (correlation
above 0.95 on every set), and the line's predictions stay inside (0, 100) for any SQuAD
score.

The published SQuAD scores are SQuAD v1.1 *test* scores; ours is measured on the public dev
set, which is drawn the same way (Rajpurkar et al., 2016), so a dev score stands in for the
test score. That substitution is not covered by any interval here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy.special import expit, logit

SQUAD_COLUMN = "squad_v11_test_f1"
"""The published SQuAD v1.1 test F1 column of the leaderboard file."""

LEVEL = 0.95


def read_published(path: str | Path) -> pd.DataFrame:
    """Read the published SQuADShifts results (one row per model, F1 in percent).

    Raises:
        ValueError: a missing `model` or `SQUAD_COLUMN` column, or a score outside [0, 100],
            named with the file, the row and the column.
    """
    table = pd.read_csv(path)
    for column in ("model", SQUAD_COLUMN):
        if column not in table:
            raise ValueError(f"{path}: missing column {column!r}")
    scores = table.filter(regex=r"_(f1|em)$")
    numbers = scores.apply(pd.to_numeric, errors="coerce")
    bad = scores.notna() & ~((numbers >= 0) & (numbers <= 100))
    if bad.to_numpy().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        value = scores.iloc[:, col].tolist()[row]  # a Python value, for a readable repr
        raise ValueError(
            f"{path}: row {row}: {scores.columns[col]} {value!r} is not a score in [0, 100]"
        )
    return table


def to_logit(f1: ArrayLike) -> np.ndarray:
    """F1 in percent on the logit scale, logit(F1 / 100), clipped away from 0 and 100.

    >>> float(to_logit(50.0))
    0.0
    """
    return logit(np.clip(np.asarray(f1, dtype=np.float64) / 100, 1e-6, 1 - 1e-6))


def from_logit(value: ArrayLike) -> np.ndarray:
    """The inverse of `to_logit`: a logit back to F1 in percent.

    >>> float(from_logit(0.0))
    50.0
    """
    return 100 * expit(np.asarray(value, dtype=np.float64))


@dataclass(frozen=True)
class TrendLine:
    """logit(shifted F1) = intercept + slope * logit(SQuAD F1), fitted on `n_models` models."""

    slope: float
    intercept: float
    n_models: int
    residual_sd: float

    def predict(self, squad_f1: ArrayLike) -> np.ndarray:
        """The shifted F1 (percent) the line predicts at a SQuAD F1 (percent).

        >>> float(TrendLine(1.0, 0.0, 2, 0.0).predict(80.0))
        80.0
        """
        return from_logit(self.intercept + self.slope * to_logit(squad_f1))


def fit_line(squad_f1: ArrayLike, shifted_f1: ArrayLike) -> TrendLine:
    """Least-squares line through (logit SQuAD F1, logit shifted F1) of the published models."""
    x, y = to_logit(squad_f1), to_logit(shifted_f1)
    if len(x) < 3:
        raise ValueError(f"a trend needs at least 3 models with both scores, got {len(x)}")
    slope, intercept = np.polyfit(x, y, 1)
    residuals = y - (intercept + slope * x)
    return TrendLine(float(slope), float(intercept), len(x), float(residuals.std(ddof=2)))


def trend_points(published: pd.DataFrame, shift_set: str) -> pd.DataFrame:
    """The published models with both a SQuAD and a `shift_set` F1: model, squad, shifted."""
    column = f"{shift_set}_f1"
    if column not in published:
        raise KeyError(f"the published results have no column {column!r}")
    both = published.dropna(subset=[SQUAD_COLUMN, column])
    return pd.DataFrame(
        {"model": both["model"], "squad": both[SQUAD_COLUMN], "shifted": both[column]}
    ).reset_index(drop=True)


def refit_lines(points: pd.DataFrame, n_resamples: int, seed: int) -> np.ndarray:
    """Slopes and intercepts of lines fitted to bootstrap resamples of the published models.

    Returns:
        Shape (n_resamples, 2): slope, intercept of each refit.
    """
    x, y = to_logit(points["squad"]), to_logit(points["shifted"])
    index = np.random.default_rng(seed).integers(0, len(x), size=(n_resamples, len(x)))
    xs, ys = x[index], y[index]
    # The least-squares slope and intercept of every resample at once (np.polyfit fits one).
    dx = xs - xs.mean(axis=1, keepdims=True)
    slope = (dx * (ys - ys.mean(axis=1, keepdims=True))).sum(axis=1) / (dx**2).sum(axis=1)
    return np.column_stack([slope, ys.mean(axis=1) - slope * xs.mean(axis=1)])


def effective_robustness(
    points: pd.DataFrame,
    squad_means: ArrayLike,
    shifted_means: ArrayLike,
    squad_f1: float,
    shifted_f1: float,
    seed: int = 0,
) -> dict[str, float]:
    """Our effective robustness on one set, with two 95% percentile intervals.

    Args:
        points: the published models (`trend_points`).
        squad_means, shifted_means: bootstrap means of our per-question F1 on SQuAD dev and
            on the shifted set (`qa_utils.analysis.stats.bootstrap_means`), equally many.
        squad_f1, shifted_f1: our F1 on the two sets.
        seed: seed of the resampling of the published models.

    Returns:
        squad_f1, shifted_f1, predicted (the line at our SQuAD F1), er, and the intervals
        er_q_low/er_q_high (our questions resampled, the line fixed) and er_low/er_high (our
        questions and the published models resampled, the line refitted each time).
    """
    squad_means, shifted_means = np.asarray(squad_means), np.asarray(shifted_means)
    line = fit_line(points["squad"], points["shifted"])
    questions_only = shifted_means - line.predict(squad_means)
    lines = refit_lines(points, len(squad_means), seed)
    both = shifted_means - from_logit(lines[:, 1] + lines[:, 0] * to_logit(squad_means))
    tail = 100 * (1 - LEVEL) / 2
    predicted = float(line.predict(squad_f1))
    q_low, q_high = np.percentile(questions_only, [tail, 100 - tail])
    low, high = np.percentile(both, [tail, 100 - tail])
    return {
        "squad_f1": squad_f1,
        "shifted_f1": shifted_f1,
        "predicted": predicted,
        "er": shifted_f1 - predicted,
        "er_q_low": float(q_low),
        "er_q_high": float(q_high),
        "er_low": float(low),
        "er_high": float(high),
    }


def trend_table(
    published: pd.DataFrame,
    ours: pd.DataFrame,
    bootstrap: Mapping[str, np.ndarray],
    reference: str = "squad/dev",
    seed: int = 0,
) -> pd.DataFrame:
    """The fitted line and our effective robustness for every shifted set of `ours`.

    Args:
        published: the published results (`read_published`).
        ours: our scores, one row per set with columns set and f1 (`shift.shift_table`); set
            names end with the published column's prefix (`squadshifts/new_wiki`).
        bootstrap: bootstrap means of our per-question F1 per set name, the same number of
            resamples for every set.
        reference: the name of our SQuAD row.

    Returns:
        One row per shifted set: set, models, slope, intercept, residual_sd, and the values of
        `effective_robustness`.
    """
    f1 = ours.set_index("set")["f1"]
    rows = []
    for name in (n for n in ours["set"] if n != reference):
        points = trend_points(published, name.rsplit("/", 1)[-1])
        line = fit_line(points["squad"], points["shifted"])
        er = effective_robustness(
            points, bootstrap[reference], bootstrap[name], f1[reference], f1[name], seed
        )
        rows.append(
            {
                "set": name,
                "models": line.n_models,
                "slope": line.slope,
                "intercept": line.intercept,
                "residual_sd": line.residual_sd,
                **er,
            }
        )
    return pd.DataFrame(rows)


def nearest_models(
    published: pd.DataFrame, shift_set: str, squad_f1: float, k: int = 5
) -> pd.DataFrame:
    """The `k` published models whose SQuAD F1 is closest to `squad_f1`, with their residual.

    The residual is the model's shifted F1 minus the line's prediction at its SQuAD F1 (its own
    effective robustness), so ours can be set beside its neighbours'.
    """
    points = trend_points(published, shift_set)
    line = fit_line(points["squad"], points["shifted"])
    points["residual"] = points["shifted"] - line.predict(points["squad"])
    order = (points["squad"] - squad_f1).abs().sort_values(kind="stable").index[:k]
    return points.loc[order].sort_values("squad").reset_index(drop=True)


def verdict(er_low: float, er_high: float) -> str:
    """Whether an effective-robustness interval lies above 0, below it, or holds it.

    An interval that holds 0 does not show equal robustness, only that this sample cannot
    tell the model from the line; the phrase says so and reads before "its SQuAD score
    predicts".

    >>> verdict(0.5, 3.0), verdict(-4.0, -1.0)
    ('more robust than', 'less robust than')
    >>> verdict(-1.0, 2.0)
    'not measurably more or less robust (the interval holds 0) than'
    """
    if er_low > 0:
        return "more robust than"
    if er_high < 0:
        return "less robust than"
    return "not measurably more or less robust (the interval holds 0) than"
