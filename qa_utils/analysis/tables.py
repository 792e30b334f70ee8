"""Error analysis that explains the score, derived from the per-example table.

The per-example table (`qa_utils.core.records.build_records`: one row per question) comes
either from our records.parquet or from any official SQuAD v1.1 or 2.0 prediction file (the
SQuAD 2.0 tables are in `qa_utils.analysis.unanswerable`).
`qa_utils.analysis.slicing.add_features` adds the slicing columns; everything else here (slice
metrics with bootstrap intervals, error categories, the answer-type confusion, calibration,
the paired comparison) is a function of that table. The `analyse` command writes it all to a
folder (`qa_utils.workflow.report`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from qa_utils.analysis.answer_types import ANSWER_TYPES
from qa_utils.analysis.slicing import (
    ERROR_CATEGORIES,
    SLICES,
    add_features,
    ordered,
)
from qa_utils.analysis.stats import (
    bootstrap_ci,
    calibration_table,
    expected_calibration_error,
    paired_test,
)
from qa_utils.core.data import load_squad
from qa_utils.core.metrics import read_na_probs, read_predictions
from qa_utils.project.io import read_table

if TYPE_CHECKING:
    from spacy.language import Language


SMALL_SLICE = 30
"""Slices with fewer examples than this are flagged: their intervals are wide and unstable."""


class InputFileError(ValueError):
    """A user-supplied file is missing, unreadable or not in the expected format."""


def merge_records(table: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Add confidence, pred_start/pred_end and n_windows from our records where the texts agree.

    Rows whose prediction differs from the record's keep NaN confidence (and their located
    pred_start): a confidence belongs to the answer it was computed for.
    """
    source = records.drop_duplicates("id").set_index("id")
    same = table["id"].map(source["prediction"]) == table["prediction"]
    out = table.copy()
    for column in ("confidence", "pred_start", "pred_end", "n_windows"):
        if column not in source:
            continue
        values = table["id"].map(source[column]).where(same)
        out[column] = (
            values.fillna(out[column]).astype(out[column].dtype) if column in out else values
        )
    return out


def metric_row(scores: pd.DataFrame, n_resamples: int, seed: int, min_size: int) -> dict[str, Any]:
    """Count, EM and F1 means and their bootstrap intervals for a group of rows."""
    low, high = bootstrap_ci(scores[["em", "f1"]].to_numpy(), n_resamples, seed)
    return {
        "n": len(scores),
        "em": scores["em"].mean(),
        "em_low": low[0],
        "em_high": high[0],
        "f1": scores["f1"].mean(),
        "f1_low": low[1],
        "f1_high": high[1],
        "small": len(scores) < min_size,
    }


def overall_metrics(table: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> pd.DataFrame:
    """EM and F1 over all questions with 95% bootstrap intervals (one row)."""
    return pd.DataFrame([metric_row(table, n_resamples, seed, SMALL_SLICE)])


def slice_metrics(
    table: pd.DataFrame,
    columns: Iterable[str] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    min_size: int = SMALL_SLICE,
) -> pd.DataFrame:
    """EM/F1 per value of each slicing column, with 95% bootstrap intervals.

    Within one column the values partition the questions, so the count-weighted mean of the
    slice metrics is the overall metric. Empty values are kept (n = 0) so that every table
    has the same rows; `small` flags slices with fewer than `min_size` questions.

    Returns:
        Columns slice, value, n, share, em, em_low, em_high, f1, f1_low, f1_high, small.
    """
    rows = []
    for column in [c for c in (columns or SLICES) if c in table]:
        values = table[column].astype("category")
        for value in values.cat.categories:
            group = table[values == value]
            row = metric_row(group, n_resamples, seed, min_size)
            rows.append(
                {"slice": column, "value": str(value), **row, "share": len(group) / len(table)}
            )
    return pd.DataFrame(rows)


def answer_type_confusion(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of gold answer type (rows) against predicted answer type (columns), all types."""
    gold = ordered(table["gold_type"].astype(str), ANSWER_TYPES)
    predicted = ordered(table["pred_type"].astype(str), ANSWER_TYPES)
    counts = pd.crosstab(gold, predicted, dropna=False).reindex(
        index=ANSWER_TYPES, columns=ANSWER_TYPES, fill_value=0
    )
    counts.index.name, counts.columns.name = "gold type", "predicted type"
    return counts


def readable(table: pd.DataFrame, max_chars: int = 90) -> pd.DataFrame:
    """Id, question, gold answers, prediction and scores, shortened for reading in a notebook."""
    out = pd.DataFrame(
        {
            "id": table["id"],
            "question": table["question"].str.slice(0, max_chars),
            "gold answers": [" | ".join(dict.fromkeys(a)) for a in table["gold_answers"]],
            "prediction": table["prediction"].str.slice(0, max_chars),
            "f1": table["f1"].round(1),
        }
    )
    if "confidence" in table:
        out["confidence"] = table["confidence"].round(3)
    return out


def error_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Count and share of each error category, with its mean F1."""
    groups = table.groupby("error_category", observed=False)
    summary = pd.DataFrame({"n": groups.size(), "f1": groups["f1"].mean()}).reindex(
        ERROR_CATEGORIES
    )
    summary["n"] = summary["n"].fillna(0).astype(int)
    summary["share"] = summary["n"] / max(len(table), 1)
    return summary.rename_axis("category").reset_index()


def error_examples(table: pd.DataFrame, per_category: int = 3, seed: int = 0) -> pd.DataFrame:
    """Up to `per_category` randomly chosen examples of each error category (seeded)."""
    parts = []
    for category in ERROR_CATEGORIES:
        rows = table[table["error_category"] == category]
        sample = rows.sample(min(per_category, len(rows)), random_state=seed)
        parts.append(readable(sample).assign(category=category))
    examples = pd.concat(parts, ignore_index=True)
    return examples[["category", *examples.columns.drop("category")]]


def confidently_wrong(table: pd.DataFrame, n: int = 10, max_f1: float = 0.0) -> pd.DataFrame:
    """The `n` most confident answers whose F1 is at most `max_f1`, most confident first."""
    wrong = table[table["f1"] <= max_f1].sort_values(["confidence", "id"], ascending=[False, True])
    return readable(wrong.head(n)).reset_index(drop=True)


def calibration(table: pd.DataFrame, n_bins: int = 10) -> tuple[pd.DataFrame, float]:
    """Reliability table (confidence against exact match) and expected calibration error."""
    rated = table[table["confidence"].notna()]
    correct = rated["em"] / 100
    return (
        calibration_table(rated["confidence"], correct, n_bins),
        expected_calibration_error(rated["confidence"], correct, n_bins),
    )


def compare_tables(
    a: pd.DataFrame, b: pd.DataFrame, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Paired comparison of two per-example tables on the questions both contain (a minus b).

    Returns:
        One row per metric (em, f1): a, b, difference, ci_low, ci_high, p_value, n.
    """
    joined = a[["id", "em", "f1"]].merge(b[["id", "em", "f1"]], on="id", suffixes=("_a", "_b"))
    rows = []
    for metric in ("em", "f1"):
        test = paired_test(joined[f"{metric}_a"], joined[f"{metric}_b"], n_resamples, seed)
        rows.append(
            {
                "metric": metric,
                "a": joined[f"{metric}_a"].mean(),
                "b": joined[f"{metric}_b"].mean(),
                "difference": test.difference,
                "ci_low": test.ci_low,
                "ci_high": test.ci_high,
                "p_value": test.p_value,
                "n": test.n,
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Analysis:
    """Every table of the error analysis, all derived from `table`."""

    table: pd.DataFrame
    overall: pd.DataFrame
    slices: pd.DataFrame
    confusion: pd.DataFrame
    errors: pd.DataFrame
    error_examples: pd.DataFrame
    calibration: pd.DataFrame | None = None
    ece: float | None = None
    confidently_wrong: pd.DataFrame | None = None


def analyse(
    table: pd.DataFrame,
    nlp: Language | None = None,
    word_counts: Counter[str] | None = None,
    rare_k: int = 5,
    n_resamples: int = 1000,
    seed: int = 0,
) -> Analysis:
    """Add the slicing features to a per-example table and summarise it (see `summarise`).

    Args:
        table: The per-example table.
        nlp: spaCy pipeline for answer typing; None uses the rule-based fallback.
        word_counts: Training-set word frequencies; None skips the rare-word slice.
        rare_k: A word is rare when seen at most `rare_k` times in training.
        n_resamples: Bootstrap resamples for every interval.
        seed: Seed of the resampling and of the example sampling.
    """
    return summarise(add_features(table, nlp, word_counts, rare_k), n_resamples, seed)


def summarise(featured: pd.DataFrame, n_resamples: int = 1000, seed: int = 0) -> Analysis:
    """Every table of the analysis from a table that `add_features` has prepared.

    Calibration and the confidently-wrong table need a `confidence` column; without one
    (plain official-format predictions) they are None.
    """
    result = Analysis(
        table=featured,
        overall=overall_metrics(featured, n_resamples, seed),
        slices=slice_metrics(featured, n_resamples=n_resamples, seed=seed),
        confusion=answer_type_confusion(featured),
        errors=error_summary(featured),
        error_examples=error_examples(featured, seed=seed),
    )
    if "confidence" in featured and featured["confidence"].notna().any():
        result.calibration, result.ece = calibration(featured)
        result.confidently_wrong = confidently_wrong(featured)
    return result


def export_table(table: pd.DataFrame) -> pd.DataFrame:
    """The per-example table as written to CSV: without contexts, gold answers joined by |."""
    out = table.drop(columns=["context"]).copy()
    for column in ("gold_answers", "gold_starts"):
        out[column] = [" | ".join(map(str, values)) for values in out[column]]
    return out


def input_error(path: str | Path, exc: Exception) -> InputFileError:
    """Wrap an error raised while reading `path` so that its message names the file once."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputFileError(message if str(path) in message else f"{path}: {message}")


def load_dataset(path: str | Path) -> Any:
    """Load a SQuAD dataset file with `qa_utils.core.data.load_squad`, naming the file on error."""
    try:
        return load_squad(str(path))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise input_error(path, exc) from exc


def load_predictions(path: str | Path) -> dict[str, str]:
    """Read an official-format prediction file {id: text} (`core.metrics.read_predictions`)."""
    try:
        return read_predictions(path)
    except (OSError, ValueError) as exc:
        raise input_error(path, exc) from exc


def load_na_probs(path: str | Path) -> dict[str, float]:
    """Read an official-format no-answer probability file {id: number} (SQuAD 2.0)."""
    try:
        return read_na_probs(path)
    except (OSError, ValueError) as exc:
        raise input_error(path, exc) from exc


def load_records(path: str | Path) -> pd.DataFrame:
    """Read our records.parquet (or .jsonl/.csv) and check it has id, prediction, confidence."""
    try:
        records = read_table(path)
    except (OSError, ValueError) as exc:
        raise input_error(path, exc) from exc
    missing = {"id", "prediction", "confidence"} - set(records.columns)
    if missing:
        raise InputFileError(f"{path}: records lack column(s) {', '.join(sorted(missing))}")
    confidence = pd.to_numeric(records["confidence"], errors="coerce")
    bad = records["confidence"].notna() & ~confidence.between(0, 1)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        value = records["confidence"].tolist()[row]  # a Python value, for a readable repr
        raise InputFileError(f"{path}: row {row}: confidence {value!r} is not a number in [0, 1]")
    return records.assign(confidence=confidence)
