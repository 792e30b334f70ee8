"""What breaks under shift: the error analysis of several evaluation sets side by side.

Each set's per-example table gets the slicing columns of `qa_utils.analysis.slicing`; then
`domain_slices` puts the slice metrics of every set in one long table, `domain_calibration`
compares confidence with exact match per set, and `slice_drop_tests` asks, slice by slice,
whether the drop from the reference set (SQuAD dev) to a shifted set differs from the set's
overall drop.

The test of a slice: its excess drop is (reference F1 - shifted F1 within the slice) minus
(reference F1 - shifted F1 over all questions). The two sets hold different questions, so
each is resampled on its own (a stratified bootstrap); the same resamples give the slice and
the overall means, so their dependence is kept. The interval is the percentile interval of
the resampled excess drops; the p-value is two-sided from a normal approximation with the
bootstrap standard error (the bootstrap alone cannot give the small p-values that a
correction over many slices needs). The p-values are adjusted with Holm's step-down method
over every slice of every set tested together, which keeps the chance of any false
"this slice differs" at 5%.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from qa_utils.analysis.slicing import add_features
from qa_utils.analysis.stats import expected_calibration_error
from qa_utils.analysis.tables import SMALL_SLICE, slice_metrics

if TYPE_CHECKING:
    from spacy.language import Language

DOMAIN_SLICES = ("gold_type", "question_word", "answer_length", "context_length")
"""The slices compared across sets (answer types, question words, answer and context length)."""

LEVEL = 0.95


def featured_tables(
    tables: Mapping[str, pd.DataFrame], nlp: Language | None = None
) -> dict[str, pd.DataFrame]:
    """Every set's per-example table with the slicing columns added (`slicing.add_features`)."""
    return {name: add_features(table, nlp) for name, table in tables.items()}


def domain_slices(
    featured: Mapping[str, pd.DataFrame],
    columns: Sequence[str] = DOMAIN_SLICES,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Slice metrics (`tables.slice_metrics`) of every set in one long table with a set column."""
    parts = [
        slice_metrics(table, columns, n_resamples, seed).assign(set=name)
        for name, table in featured.items()
    ]
    long = pd.concat(parts, ignore_index=True)
    return long[["set", *long.columns.drop("set")]]


def side_by_side(long: pd.DataFrame, metric: str = "f1") -> pd.DataFrame:
    """One row per slice value, one column per set: `metric`, the slice's share of the set and
    its number of questions (`<set> n`), so a score of a handful of questions can be told apart.
    """
    index = ["slice", "value"]
    order = long.drop_duplicates(index)[index]
    values = long.pivot(index=index, columns="set", values=metric)
    shares = long.pivot(index=index, columns="set", values="share").add_suffix(" share")
    counts = long.pivot(index=index, columns="set", values="n").add_suffix(" n")
    sets = list(dict.fromkeys(long["set"]))
    wide = values[sets].join(shares[[f"{s} share" for s in sets]])
    wide = wide.join(counts[[f"{s} n" for s in sets]].astype(int))
    return wide.reindex(pd.MultiIndex.from_frame(order))


def domain_calibration(featured: Mapping[str, pd.DataFrame], n_bins: int = 10) -> pd.DataFrame:
    """Per set: mean confidence, exact-match rate, their gap (overconfidence) and the ECE."""
    rows = []
    for name, table in featured.items():
        rated = table[table["confidence"].notna()]
        correct = rated["em"] / 100
        rows.append(
            {
                "set": name,
                "n": len(rated),
                "confidence": 100 * rated["confidence"].mean(),
                "exact_match": 100 * correct.mean(),
                "overconfidence": 100 * (rated["confidence"].mean() - correct.mean()),
                "ece": 100 * expected_calibration_error(rated["confidence"], correct, n_bins),
            }
        )
    return pd.DataFrame(rows)


def resampled_slice_means(
    f1: np.ndarray, codes: np.ndarray, n_values: int, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap means of F1 overall and per slice value, from the same resamples.

    Returns:
        (overall, per_value): shapes (n_resamples,) and (n_resamples, n_values); a value absent
        from a resample gets NaN.
    """
    rng = np.random.default_rng(seed)
    overall, per_value = np.empty(n_resamples), np.empty((n_resamples, n_values))
    for b in range(n_resamples):
        index = rng.integers(0, len(f1), len(f1))
        sums = np.bincount(codes[index], weights=f1[index], minlength=n_values)
        counts = np.bincount(codes[index], minlength=n_values)
        overall[b] = f1[index].mean()
        with np.errstate(invalid="ignore", divide="ignore"):
            per_value[b] = sums / counts
    return overall, per_value


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input order.

    Written out because it is four lines and statsmodels is not a dependency.

    >>> holm([0.01, 0.04, 0.03]).round(2).tolist()
    [0.03, 0.06, 0.06]
    """
    p = np.asarray(p_values, dtype=np.float64)
    order = np.argsort(p, kind="stable")
    stepped = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def column_drop_tests(
    reference: pd.DataFrame, shifted: pd.DataFrame, column: str, n_resamples: int, seed: int
) -> pd.DataFrame:
    """Excess drop of every value of one slicing column, with its interval and raw p-value."""
    found = (*reference[column].astype("category").cat.categories, *shifted[column].unique())
    values = list(dict.fromkeys(found))
    means = []
    for k, table in enumerate((reference, shifted)):
        codes = pd.Categorical(table[column], categories=values).codes.astype(np.int64)
        means.append(
            resampled_slice_means(
                table["f1"].to_numpy(float), codes, len(values), n_resamples, seed + k
            )
        )
    (ref_all, ref_value), (new_all, new_value) = means
    excess = (ref_value - new_value) - (ref_all - new_all)[:, None]
    rows = []
    for j, value in enumerate(values):
        in_ref, in_new = reference[column] == value, shifted[column] == value
        drop = reference.loc[in_ref, "f1"].mean() - shifted.loc[in_new, "f1"].mean()
        observed = drop - (reference["f1"].mean() - shifted["f1"].mean())
        spread = excess[:, j][np.isfinite(excess[:, j])]
        se = spread.std(ddof=1) if len(spread) > 1 else np.nan
        tail = 100 * (1 - LEVEL) / 2
        low, high = np.percentile(spread, [tail, 100 - tail]) if len(spread) else (np.nan,) * 2
        rows.append(
            {
                "slice": column,
                "value": str(value),
                "n_reference": int(in_ref.sum()),
                "n_shifted": int(in_new.sum()),
                "drop": drop,
                "excess": observed,
                "excess_low": low,
                "excess_high": high,
                "p_value": float(2 * norm.sf(abs(observed) / se)) if se > 0 else np.nan,
            }
        )
    return pd.DataFrame(rows)


def slice_drop_tests(
    featured: Mapping[str, pd.DataFrame],
    reference: str = "squad/dev",
    columns: Sequence[str] = DOMAIN_SLICES,
    n_resamples: int = 1000,
    seed: int = 0,
    min_size: int = SMALL_SLICE,
) -> pd.DataFrame:
    """Which slices' drops differ from their set's overall drop (see the module docstring).

    Slices with fewer than `min_size` questions in either set are left out. `p_holm` is the
    Holm-adjusted p-value over all rows; `differs` is p_holm < 0.05.

    Returns:
        set, slice, value, n_reference, n_shifted, drop, excess, excess_low, excess_high,
        p_value, p_holm, differs.
    """
    base = featured[reference]
    parts = []
    for name in (n for n in featured if n != reference):
        for column in columns:
            tests = column_drop_tests(base, featured[name], column, n_resamples, seed)
            parts.append(tests.assign(set=name))
    table = pd.concat(parts, ignore_index=True)
    table = table[(table["n_reference"] >= min_size) & (table["n_shifted"] >= min_size)]
    table = table.reset_index(drop=True)
    table["p_holm"] = holm(table["p_value"].fillna(1.0))
    table["differs"] = table["p_holm"] < 1 - LEVEL
    return table[["set", *table.columns.drop("set")]]
