"""Notebook 06's sentences about distribution shift, rendered from the tables they quote.

Each function takes the table a notebook cell has just shown (or a committed benchmark table)
and returns Markdown text, so no number in the notebook's prose is typed by hand.
"""

from __future__ import annotations

import pandas as pd

from qa_utils.analysis.trend import verdict
from qa_utils.robustness.shift import REFERENCE_SET, interval


def drop_sentence(table: pd.DataFrame, who: str = "the model") -> str:
    """'{who} scores F on SQuAD dev and loses d [lo, hi] on each set' from a shift table."""
    rows = table.set_index("set")
    losses = "; ".join(
        f"{interval(r.drop, r.drop_low, r.drop_high)} on {r.Index}"
        for r in rows.drop(index=REFERENCE_SET).itertuples()
    )
    return (
        f"{who} scores {rows.loc[REFERENCE_SET, 'f1']:.1f} F1 on SQuAD dev and loses {losses} "
        "(F1 points, 95% intervals)."
    )


def er_sentences(trend: pd.DataFrame, who: str = "it") -> str:
    """One sentence per set: our F1, the line's prediction, ER with its interval, the verdict."""
    return " ".join(
        f"On {r.set} {who} scores {r.shifted_f1:.1f} F1 where the line predicts "
        f"{r.predicted:.1f}: ER {r.er:+.1f} [{r.er_low:+.1f}, {r.er_high:+.1f}], "
        f"{verdict(r.er_low, r.er_high)} its SQuAD score predicts."
        for r in trend.itertuples()
    )


def pretraining_sentence(mix: pd.Series, near: pd.DataFrame, squad_f1: float) -> str:
    """The shares of the encoder's training mix from the shifted domains, and our neighbours."""
    return (
        f"Reddit comments make {100 * mix['Reddit comments']:.1f}% and Amazon product questions "
        f"{100 * mix['Amazon product questions']:.1f}% of the pairs the encoder was trained on, "
        f"SQuAD {100 * mix['SQuAD']:.1f}%. The published models closest to our SQuAD F1 "
        f"({squad_f1:.1f}) are {', '.join(near['model'])}; their own distance from the Reddit "
        f"line is {near['residual'].min():+.1f} to {near['residual'].max():+.1f} F1."
    )


def hardest_sentence(long: pd.DataFrame, column: str = "question_word") -> str:
    """The value of a slicing column with the lowest F1 on each set (slices of 30 or more)."""
    rows = long[(long["slice"] == column) & ~long["small"]]
    worst = rows.sort_values("f1").groupby("set", sort=False).head(1)
    if worst.empty:
        return f"No value of {column} has 30 questions or more in these samples."
    found = "; ".join(f"{r.set}: *{r.value}* ({r.f1:.1f})" for r in worst.itertuples())
    return f"The hardest {column.replace('_', ' ')} with at least 30 questions: {found}."


def calibration_sentence(calibration: pd.DataFrame) -> str:
    """How over-confident the model is on each set, with its ECE (a `domain_calibration` table)."""
    found = "; ".join(
        f"{r.overconfidence:+.1f} points on {r.set} (ECE {r.ece:.1f})"
        for r in calibration.itertuples()
    )
    gaps = calibration["overconfidence"]
    overall = (
        "under-confident on every set"
        if (gaps < 0).all()
        else "over-confident on every set"
        if (gaps > 0).all()
        else "over-confident on some sets and under-confident on others"
    )
    return f"The model is {overall}; mean confidence minus exact-match rate: {found}."


def slice_test_sentence(tests: pd.DataFrame, top: int = 3) -> str:
    """How many slices' drops differ from their set's, and the largest excess drops among them."""
    differ = tests[tests["differs"]].sort_values("excess", ascending=False)
    text = f"{len(differ)} of {len(tests)} slices tested lose significantly more or less than "
    text += "their set as a whole (Holm-adjusted p < 0.05)"
    if differ.empty:
        return text + "."
    largest = "; ".join(
        f"{r.set} {r.slice} = {r.value} ({r.excess:+.1f})" for r in differ.head(top).itertuples()
    )
    return f"{text}; the largest excess drops: {largest}."
