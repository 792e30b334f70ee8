"""Uncertainty of per-example scores: bootstrap intervals, a paired test, calibration error.

All resampling is vectorised: one matrix of resampled row indices (or random signs) of shape
(n_resamples, n_examples), drawn from an explicitly seeded generator and consumed in chunks so
that memory stays bounded on the full dev set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    pass


CHUNK_ELEMENTS = 4_000_000
"""Resample-matrix elements materialised at once (about 32 MB of float64)."""


def _chunks(n_resamples: int, n: int) -> list[int]:
    """Split `n_resamples` into chunk sizes whose (chunk, n) matrices stay under CHUNK_ELEMENTS."""
    size = max(1, CHUNK_ELEMENTS // max(n, 1))
    return [min(size, n_resamples - i) for i in range(0, n_resamples, size)]


def bootstrap_means(values: ArrayLike, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of `n_resamples` bootstrap resamples of the rows of `values`.

    Args:
        values: Shape (n,) or (n, k): one row per example, one column per metric. Columns
            share the resampled rows, so their intervals come from the same resamples.
        n_resamples: Number of bootstrap resamples.
        seed: Seed of the generator that draws the resample indices.

    Returns:
        Shape (n_resamples,) or (n_resamples, k).
    """
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n == 0:
        return np.full((n_resamples, *values.shape[1:]), np.nan)
    rng = np.random.default_rng(seed)
    parts = []
    for size in _chunks(n_resamples, n * (values[0].size)):
        index = rng.integers(0, n, size=(size, n), dtype=np.int32)
        parts.append(values[index].mean(axis=1))
    return np.concatenate(parts)


def bootstrap_ci(
    values: ArrayLike, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap confidence interval of the mean of each column of `values`.

    >>> low, high = bootstrap_ci([0, 100, 100, 0, 100, 100, 100, 0], seed=0)
    >>> bool(low < 62.5 < high), bool(0 <= low and high <= 100)
    (True, True)
    >>> [float(x) for x in bootstrap_ci([100.0, 100.0, 100.0])]
    [100.0, 100.0]
    """
    means = bootstrap_means(values, n_resamples, seed)
    tail = 100 * (1 - level) / 2
    return np.percentile(means, tail, axis=0), np.percentile(means, 100 - tail, axis=0)


@dataclass(frozen=True)
class PairedTest:
    """Result of comparing two systems on the same examples (system a minus system b)."""

    difference: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int


def sign_flip_p_value(diffs: np.ndarray, n_resamples: int, rng: np.random.Generator) -> float:
    """Two-sided paired randomisation p-value: how often random sign flips beat the observed mean.

    Under the null hypothesis the two systems are exchangeable on each example, so each
    difference is as likely to have either sign. The +1s make the estimate a valid p-value.
    """
    observed = abs(diffs.mean())
    tolerance = 1e-9 * max(1.0, observed)
    hits = 0
    for size in _chunks(n_resamples, len(diffs)):
        signs = rng.integers(0, 2, size=(size, len(diffs)), dtype=np.int8) * 2 - 1
        hits += int(np.sum(np.abs(signs @ diffs) / len(diffs) >= observed - tolerance))
    return (hits + 1) / (n_resamples + 1)


def format_p_value(p_value: float, n_resamples: int) -> str:
    """A resampling p-value for prose: at the floor (hits + 1) / (n + 1), say it is a bound.

    With `n_resamples` resamples no p-value below 1 / (n_resamples + 1) can come out, so a
    value there means "at most that", not "exactly that".

    >>> format_p_value(1 / 1001, 1000)
    'p ≤ 0.001 (the smallest 1,000 resamples can give)'
    >>> format_p_value(40 / 1001, 1000), format_p_value(1.0, 1000)
    ('p = 0.040', 'p = 1.000')
    """
    short = short_p_value(p_value, n_resamples)
    if "≤" in short:
        return f"{short} (the smallest {n_resamples:,} resamples can give)"
    return short


def short_p_value(p_value: float, n_resamples: int) -> str:
    """`format_p_value` without its explanation, for figure labels and table cells.

    >>> short_p_value(1 / 1001, 1000), short_p_value(0.35, 1000), short_p_value(4e-4, 10_000)
    ('p ≤ 0.001', 'p = 0.350', 'p = 4.0e-04')
    """
    floor = 1 / (n_resamples + 1)
    if p_value <= floor * (1 + 1e-9):
        return f"p ≤ {floor:.2g}"
    return f"p = {p_value:.3f}" if p_value >= 0.001 else f"p = {p_value:.1e}"


def p_value_cell(p_value: float, n_resamples: int) -> str:
    """`short_p_value` as a table cell, without "p" and "=".

    >>> p_value_cell(1 / 1001, 1000), p_value_cell(0.35, 1000)
    ('≤ 0.001', '0.350')
    """
    return short_p_value(p_value, n_resamples).removeprefix("p ").removeprefix("= ")


def paired_test(
    a: ArrayLike, b: ArrayLike, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> PairedTest:
    """Compare two per-example score arrays aligned on the same examples.

    The p-value comes from a paired sign-flip randomisation test; the interval of the
    difference of means from a paired bootstrap (both use `n_resamples`).

    >>> same = paired_test([100, 0, 100, 50], [100, 0, 100, 50], seed=0)
    >>> same.difference, same.ci_low, same.ci_high, same.p_value
    (0.0, 0.0, 0.0, 1.0)
    """
    first, second = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if first.ndim != 1 or first.shape != second.shape or len(first) == 0:
        raise ValueError(
            f"paired_test needs two equally long, non-empty 1-D arrays, got {first.shape} "
            f"and {second.shape}"
        )
    diffs = first - second
    rng = np.random.default_rng(seed)
    low, high = bootstrap_ci(diffs, n_resamples, int(rng.integers(2**31)), level)
    p_value = sign_flip_p_value(diffs, n_resamples, rng)
    return PairedTest(float(diffs.mean()), float(low), float(high), p_value, len(diffs))


def calibration_table(confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10) -> pd.DataFrame:
    """Bin examples by confidence into equal-width bins and compare confidence with accuracy.

    Args:
        confidence: Model confidence per example, in [0, 1].
        correct: 1 where the answer is right (exact match), else 0.
        n_bins: Number of equal-width bins over [0, 1].

    Returns:
        One row per bin: lower, upper, n, confidence (mean), accuracy (mean); empty bins
        have n = 0 and NaN means.

    >>> calibration_table([0.05, 0.95, 0.9], [0, 1, 0], n_bins=2)[["n", "accuracy"]].values.tolist()
    [[1.0, 0.0], [2.0, 0.5]]
    """
    conf = np.clip(np.asarray(confidence, dtype=np.float64), 0.0, 1.0)
    hit = np.asarray(correct, dtype=np.float64)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    n = np.bincount(bins, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(bins, weights=conf, minlength=n_bins) / n
        accuracy = np.bincount(bins, weights=hit, minlength=n_bins) / n
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "n": n,
            "confidence": mean_conf,
            "accuracy": accuracy,
        }
    )


def expected_calibration_error(
    confidence: ArrayLike, correct: ArrayLike, n_bins: int = 10
) -> float:
    """Count-weighted mean gap between confidence and accuracy over confidence bins (0..1).

    >>> expected_calibration_error([0.9, 0.9, 0.1, 0.1], [1, 0, 0, 0])
    0.25
    """
    table = calibration_table(confidence, correct, n_bins)
    used = table[table["n"] > 0]
    gaps = (used["confidence"] - used["accuracy"]).abs()
    return round(float((gaps * used["n"]).sum() / used["n"].sum()), 12)


def unpaired_difference(
    a: np.ndarray, b: np.ndarray, n_resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Difference of the means of two independent samples, with a percentile bootstrap CI."""
    diffs = bootstrap_means(a, n_resamples, seed) - bootstrap_means(b, n_resamples, seed + 1)
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(diffs, [tail, 100 - tail])
    return float(np.mean(a) - np.mean(b)), float(low), float(high)


@dataclass(frozen=True)
class SpreadTest:
    """Is the spread of group means larger than sampling noise? (`group_spread_test`)."""

    observed: float
    null_mean: float
    null_low: float
    null_high: float
    p_value: float
    groups: int
    n: int


def group_mean_sd(values: np.ndarray, codes: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """SD (ddof=1) across groups of the group means, for each row of `values` (shape (r, n))."""
    sums = np.stack([np.bincount(codes, weights=row, minlength=len(sizes)) for row in values])
    return (sums / sizes).std(axis=1, ddof=1)


def group_spread_test(
    values: ArrayLike, groups: ArrayLike, n_permutations: int = 1000, seed: int = 0
) -> SpreadTest:
    """Permutation test of the spread of per-group means (e.g. per-article mean F1).

    Statistic: the standard deviation across groups of the group means. Under the null
    hypothesis group membership does not matter, so shuffling the values across groups (each
    group keeping its size) gives the spread that sampling noise alone produces.

    Returns:
        The observed spread, the null distribution's mean and 95% range, the permutation
        p-value ((hits + 1) / (n_permutations + 1), hits = null spreads >= observed), and the
        number of groups and values.

    >>> test = group_spread_test([0, 0, 0, 100, 100, 100], ["a", "a", "a", "b", "b", "b"], 200)
    >>> round(test.observed, 1), test.p_value < 0.2
    (70.7, True)
    """
    scores = np.asarray(values, dtype=np.float64)
    codes = np.unique(np.asarray(groups), return_inverse=True)[1].ravel()
    sizes = np.bincount(codes)
    if scores.ndim != 1 or len(scores) != len(codes) or len(sizes) < 2:
        raise ValueError(
            f"group_spread_test needs one value per group label and at least two groups, got "
            f"{scores.shape} values and {len(sizes)} groups"
        )
    observed = float(group_mean_sd(scores[None, :], codes, sizes)[0])
    rng, null = np.random.default_rng(seed), []
    for size in _chunks(n_permutations, len(scores)):
        shuffled = rng.permuted(np.broadcast_to(scores, (size, len(scores))), axis=1)
        null.append(group_mean_sd(shuffled, codes, sizes))
    spreads = np.concatenate(null)
    hits = int(np.sum(spreads >= observed - 1e-9 * max(1.0, observed)))
    low, high = np.percentile(spreads, [2.5, 97.5])
    return SpreadTest(
        observed, float(spreads.mean()), float(low), float(high),
        (hits + 1) / (n_permutations + 1), len(sizes), len(scores),
    )  # fmt: skip
