"""Detect a drop in answer quality in a stream of per-request scores: a one-sided CUSUM.

The detector (Page 1954) watches per-request F1 (percent, 0..100) as the gold answers come
back. The first `reference` scores give the "normal" mean mu0 and spread sigma0. Every later
score x adds ``(mu0 - x) / sigma0 - k`` to a running sum that is floored at zero; an alarm is
raised when the sum exceeds ``h``. Both parameters are in units of sigma0:

- ``k`` (allowance, default 0.25) is half the smallest drop worth catching: drops of less
  than k standard deviations never accumulate.
- ``h`` (threshold, default 20) trades detection delay against false alarms.

For a drop of delta standard deviations (delta > k) the expected detection delay is about
``h / (delta - k)`` scores after the first shifted score arrives (Wald's approximation, see
`expected_delay`), plus the feedback delay D of the stream. Per-request F1 is nearly binary
(0 or 100), so sigma0 is about 35-45 points: a drop of 30 F1 points (delta ~ 0.8, typical of
distractor sentences) is flagged after ~36 scores; drops below ~10 points (typos) are not
flagged in a stream of a few hundred requests.

Measured on seeded synthetic streams (per-request F1 100 with probability p, uniform 20..80
with probability 0.1, else 0; reference of 200 scores estimated from the stream; 300 streams of
800 scores, `python -m benchmarks.drift`): p 0.75 -> 0.45 at score 500 (mean F1 80 -> 50) is
flagged after a median of 32 and a 95th percentile of 63 shifted scores (96% within 80, 2.7%
alarm before the shift); unshifted streams raise a false alarm in their 600 monitored scores
in 6.3% of runs. For normal data with a known reference the mean run length to a false alarm
is ~3e5 (Siegmund, `false_alarm_run_length`); the noise of an estimated reference mean
shortens it a lot, hence the long default reference window, or pass the offline evaluation's
mean and std as a known reference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True)
class CusumConfig:
    """Parameters of the one-sided (downward) CUSUM detector.

    Attributes:
        reference: Number of first (non-missing) scores that define normal quality.
        k: Allowance, in reference standard deviations (half the smallest drop to catch).
        h: Alarm threshold, in reference standard deviations.
        min_std: Floor of the reference standard deviation, in the scores' units, so that a
            perfect reference window (all 100) does not make one error an alarm.
    """

    reference: int = 200
    k: float = 0.25
    h: float = 20.0
    min_std: float = 5.0


@dataclass(frozen=True)
class DriftResult:
    """Outcome of running the detector over a whole stream of scores.

    Attributes:
        alarm_index: Index (into the scores) of the score that raised the alarm, or None.
        reference_mean: Mean of the reference window.
        reference_std: Its standard deviation (floored at ``min_std``).
        statistic: CUSUM statistic after each score (NaN inside the reference window).
        threshold: ``h``, for plotting against ``statistic``.
    """

    alarm_index: int | None
    reference_mean: float
    reference_std: float
    statistic: np.ndarray
    threshold: float


def reference_stats(values: np.ndarray, config: CusumConfig) -> tuple[float, float, int]:
    """Mean, floored std and end index (exclusive) of the reference window of `values`."""
    seen = np.cumsum(~np.isnan(values))
    available = int(seen[-1]) if len(seen) else 0
    if config.reference < 2 or available < config.reference:
        raise ValueError(
            f"the reference window needs {config.reference} scores (at least 2), "
            f"the stream has {available}"
        )
    end = int(np.searchsorted(seen, config.reference)) + 1
    window = values[:end][~np.isnan(values[:end])]
    return float(window.mean()), max(float(window.std(ddof=1)), config.min_std), end


def cusum_drop(
    scores: ArrayLike,
    config: CusumConfig = CusumConfig(),
    known_reference: tuple[float, float] | None = None,
) -> DriftResult:
    """Run the downward CUSUM over a whole stream at once (NaN scores are skipped).

    The recursion S_t = max(0, S_{t-1} + z_t) equals C_t - min(0, min_{j<=t} C_j) with
    C the cumulative sum of the increments z, which numpy computes without a loop.

    Args:
        scores: Per-request scores in stream order (NaN where no feedback came back).
        config: Detector parameters.
        known_reference: (mean, std) of normal quality, e.g. from the offline evaluation;
            then every score is monitored and `config.reference` is not used.

    >>> result = cusum_drop([80, 60] * 50 + [0] * 10, CusumConfig(reference=100, h=10))
    >>> result.alarm_index, round(result.reference_mean, 1)
    (101, 70.0)
    >>> cusum_drop([90, 0, 0], CusumConfig(h=3.0), known_reference=(80.0, 40.0)).alarm_index
    2
    """
    values = np.asarray(scores, dtype=np.float64)
    if known_reference is None:
        mean, std, end = reference_stats(values, config)
    else:
        mean, std, end = known_reference[0], max(known_reference[1], config.min_std), 0
    steps = np.where(np.isnan(values[end:]), 0.0, (mean - values[end:]) / std - config.k)
    cumulative = np.cumsum(steps)
    monitored = cumulative - np.minimum(np.minimum.accumulate(cumulative), 0.0)
    statistic = np.concatenate([np.full(end, np.nan), monitored])
    above = np.flatnonzero(monitored > config.h)
    alarm = int(above[0]) + end if len(above) else None
    return DriftResult(alarm, mean, std, statistic, config.h)


class CusumDetector:
    """The same detector fed one score at a time, as a live service would use it.

    >>> detector = CusumDetector(CusumConfig(reference=4, h=1.5))
    >>> [detector.update(x) for x in [100, 0, 100, 0, 0, 0, 0]]
    [False, False, False, False, False, False, True]
    """

    def __init__(self, config: CusumConfig = CusumConfig()) -> None:
        self.config = config
        self.reference: list[float] = []
        self.mean = self.std = math.nan
        self.statistic = 0.0
        self.count = 0
        self.alarm_index: int | None = None

    def update(self, score: float) -> bool:
        """Add the next score (NaN = no feedback); return whether the alarm is raised."""
        index, self.count = self.count, self.count + 1
        if math.isnan(score) or self.alarm_index is not None:
            return self.alarm_index is not None
        if len(self.reference) < self.config.reference:
            self.reference.append(score)
            if len(self.reference) == self.config.reference:
                self.mean = float(np.mean(self.reference))
                self.std = max(float(np.std(self.reference, ddof=1)), self.config.min_std)
            return False
        step = (self.mean - score) / self.std - self.config.k
        self.statistic = max(0.0, self.statistic + step)
        if self.statistic > self.config.h:
            self.alarm_index = index
        return self.alarm_index is not None


def expected_delay(drop_in_std: float, config: CusumConfig = CusumConfig()) -> float:
    """Wald's approximate number of shifted scores until the alarm (inf if drop <= k).

    >>> expected_delay(0.75)
    40.0
    """
    excess = drop_in_std - config.k
    return config.h / excess if excess > 0 else math.inf


def false_alarm_run_length(config: CusumConfig = CusumConfig()) -> float:
    """Siegmund's approximation of the mean number of normal N(0, 1) scores to a false alarm.

    >>> f"{false_alarm_run_length():.3g}"
    '3.16e+05'
    """
    k, b = config.k, config.h + 1.166
    if k == 0:
        return b**2
    return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k**2)


def synthetic_f1_stream(
    n: int, shift_at: int | None = None, before: float = 0.75, after: float = 0.45, seed: int = 0
) -> np.ndarray:
    """Per-request F1 (percent) shaped like a real model's: mostly 0 or 100, some partial.

    Each score is 100 with probability p (`before`, then `after` from index `shift_at` on),
    uniform in 20..80 with probability 0.1, else 0, so the mean F1 is 100 p + 5.

    >>> synthetic_f1_stream(6, seed=0).round(1).tolist()
    [100.0, 100.0, 100.0, 100.0, 69.0, 0.0]
    """
    rng = np.random.default_rng(seed)
    p = np.full(n, before)
    if shift_at is not None:
        p[shift_at:] = after
    u, partial = rng.random(n), rng.uniform(20.0, 80.0, n)
    return np.where(u < p, 100.0, np.where(u < p + 0.1, partial, 0.0))
