"""Helpers of notebook 04 (error analysis): the numbers its sentences are rendered from.

Each function turns a table the notebook already has into the few values a sentence quotes:
the largest off-diagonal cells of the answer-type confusion, the two answer-type labellers
side by side, a verdict on a slice against the rest, the committed benchmark outputs shown
beside the notebook's smaller runs, and the sentences on the name swap and on memorisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from qa_utils.analysis.answer_types import ANSWER_TYPES
from qa_utils.analysis.stats import unpaired_difference
from qa_utils.project.io import read_table
from qa_utils.project.paths import REPO_ROOT
from qa_utils.robustness.memorisation import SAME_ARTICLES, UNSEEN_ARTICLES

REFERENCE_DIR = REPO_ROOT / "benchmarks" / "reference"


def off_diagonal(confusion: pd.DataFrame, min_questions: int = 30, n: int = 3) -> pd.DataFrame:
    """The `n` largest off-diagonal cells by share of their row (gold types with enough questions).

    >>> counts = pd.DataFrame([[8, 2], [6, 4]], index=["A", "B"], columns=["A", "B"])
    >>> off_diagonal(counts, min_questions=1).values.tolist()
    [['B', 'A', 6, 10, 0.6], ['A', 'B', 2, 10, 0.2]]
    """
    totals, columns = confusion.sum(axis=1), ["gold", "predicted", "count", "row_total", "share"]
    cells = [
        {"gold": gold, "predicted": pred, "count": int(confusion.loc[gold, pred]),
         "row_total": int(totals[gold]), "share": confusion.loc[gold, pred] / totals[gold]}
        for gold in confusion.index
        for pred in confusion.columns
        if gold != pred and totals[gold] >= min_questions
    ]  # fmt: skip
    table = pd.DataFrame(cells, columns=columns).astype({"share": float})
    return table.nlargest(n, "share").reset_index(drop=True)


def labeller_counts(rule_types: list[str], spacy_types: list[str]) -> pd.DataFrame:
    """Answers of each type under the rule-based and the spaCy labeller, on the same answers."""
    table = pd.DataFrame(
        {
            "rule-based (notebook 01)": pd.Series(rule_types).value_counts(),
            "spaCy (this notebook)": pd.Series(spacy_types).value_counts(),
        }
    )
    return table.reindex(ANSWER_TYPES).fillna(0).astype(int).rename_axis("answer type")


@dataclass(frozen=True)
class SliceVerdict:
    """F1 of a slice against the rest of the questions (slice minus rest, unpaired bootstrap)."""

    n: int
    f1: float
    rest_f1: float
    difference: float
    low: float
    high: float

    @property
    def verdict(self) -> str:
        """'harder' or 'easier' when the 95% interval excludes 0, else 'no clear difference'."""
        if self.high < 0:
            return "harder"
        return "easier" if self.low > 0 else "no clear difference"


def slice_verdict(
    table: pd.DataFrame, mask: pd.Series, n_resamples: int = 1000, seed: int = 0
) -> SliceVerdict:
    """Compare the F1 of the rows in `mask` with the F1 of the others."""
    inside, outside = table.loc[mask, "f1"].to_numpy(), table.loc[~mask, "f1"].to_numpy()
    if not len(inside) or not len(outside):
        nan = float("nan")
        return SliceVerdict(len(inside), nan, nan, nan, nan, nan)
    diff, low, high = unpaired_difference(inside, outside, n_resamples, seed)
    return SliceVerdict(len(inside), float(np.mean(inside)), float(np.mean(outside)), diff, low,
                        high)  # fmt: skip


def reference_output(name: str, folder: Path = REFERENCE_DIR) -> pd.DataFrame | None:
    """A committed benchmark table (benchmarks/reference/NAME), or None where it is missing."""
    path = folder / name
    return read_table(path) if path.is_file() else None


Interval = tuple[str, str, str]
"""Column names of a value and its interval ends: ("f1", "f1_low", "f1_high")."""


def with_intervals(table: pd.DataFrame, key: str, columns: dict[str, Interval]) -> pd.DataFrame:
    """One text column "value [low, high]" per measure, indexed by `key`, with n.

    >>> t = pd.DataFrame({"g": ["a"], "n": [9], "f1": [70.0], "lo": [60.0], "hi": [80.5]})
    >>> with_intervals(t, "g", {"F1": ("f1", "lo", "hi")}).to_dict("records")
    [{'n': 9, 'F1': '70.00 [60.00, 80.50]'}]
    """
    out = pd.DataFrame({"n": table["n"].to_numpy()}, index=table[key].rename(None))
    for name, (value, low, high) in columns.items():
        out[name] = [
            f"{v:.2f} [{lo:.2f}, {hi:.2f}]" if np.isfinite(lo) else f"{v:.2f}"
            for v, lo, hi in zip(table[value], table[low], table[high], strict=True)
        ]
    return out


def beside(
    ours: pd.DataFrame, reference: pd.DataFrame | None, key: str, columns: dict[str, Interval]
) -> pd.DataFrame:
    """This notebook's run and the committed benchmark side by side (`with_intervals` each)."""
    parts = {"this run": with_intervals(ours, key, columns)}
    if reference is not None:
        parts["benchmark"] = with_intervals(reference, key, columns)
    return pd.concat(parts, axis=1)


def name_swap_sentence(contrasts: pd.DataFrame, groups: pd.DataFrame, where: str) -> str:
    """What the name swap found: the EA - AA difference with its interval, and changed answers.

    Args:
        contrasts: `robustness.fairness.contrast_table`.
        groups: `robustness.fairness.group_table` (clean first).
        where: Whose result it is ("This run", "The benchmark").
    """
    row, swapped = contrasts.set_index("contrast").loc["EA - AA"], groups.iloc[1:]
    seen = (
        "includes 0: no difference between the groups shows"
        if row["low"] <= 0 <= row["high"]
        else "excludes 0: the model scores the two groups differently"
    )
    return (
        f"{where}: on {int(row['n']):,} questions, F1 with EA names minus F1 with AA names is "
        f"{row['difference']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}] (paired sign-flip "
        f"p = {row['p_value']:.3f}); the interval {seen}. Renaming alone changes "
        f"{swapped['changed'].min():.1f}-{swapped['changed'].max():.1f}% of the answers."
    )


def membership_sentence(table: pd.DataFrame, where: str) -> str:
    """The memorisation gaps and what they mean for membership inference, in two sentences.

    Args:
        table: `robustness.memorisation.memorisation_table`.
        where: Whose result it is ("This run", "The benchmark").
    """
    t = table.set_index("group")
    same, other = t.loc[SAME_ARTICLES], t.loc[UNSEEN_ARTICLES]
    auc = same["auc_confidence"]
    risk = "little" if auc < 0.55 else "a weak signal" if auc < 0.65 else "a clear signal"
    return (
        f"{where}: F1 on the training questions minus F1 on unseen questions of the same "
        f"articles is {same['gap']:+.1f} [{same['gap_low']:+.1f}, {same['gap_high']:+.1f}], and "
        f"minus F1 on unseen articles {other['gap']:+.1f} [{other['gap_low']:+.1f}, "
        f"{other['gap_high']:+.1f}]. An attacker who calls a question 'trained' when the model is "
        f"confident reaches a membership AUC of {auc:.2f} against unseen questions of the same "
        f"articles (0.5 is chance), so the answers reveal {risk} about which questions it was "
        f"trained on."
    )
