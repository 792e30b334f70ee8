"""Notebook 06's sentences about distribution shift, rendered from the tables they quote.

Each function takes the table a notebook cell has just shown (or a committed benchmark table)
and returns Markdown text, so no number in the notebook's prose is typed by hand.
"""

from __future__ import annotations

import pandas as pd

from qa_utils.analysis.trend import verdict
from qa_utils.robustness.shift import REFERENCE_SET, interval


def drop_sentence(table: pd.DataFrame, who: str = "the model") -> str:
    """'{who} scores F on SQuAD dev and loses d [lo, hi] on each set' from a shift table.

    A set whose drop interval includes 0 shows "no clear drop" instead of a loss.
    """
    rows = table.set_index("set")
    losses = "; ".join(
        ("no clear drop, " if r.drop_low <= 0 <= r.drop_high else "loses ")
        + f"{interval(r.drop, r.drop_low, r.drop_high)} on {r.Index}"
        for r in rows.drop(index=REFERENCE_SET).itertuples()
    )
    return (
        f"{who} scores {rows.loc[REFERENCE_SET, 'f1']:.1f} F1 on SQuAD dev; {losses} "
        "(F1 points, 95% intervals)."
    )


def robustness_sentence(table: pd.DataFrame) -> str:
    """The largest drop of a `probes.robustness_table` and which drops' intervals exclude 0."""
    rows = table[table["condition"] != "clean"]
    if rows.empty:
        return "No perturbation was tested."
    worst = rows.loc[rows["drop"].idxmax()]
    real = rows[(rows["drop_low"] > 0) | (rows["drop_high"] < 0)]
    named = ", ".join(real["condition"]) if len(real) else "none"
    return (
        f"The largest drop is {worst['condition']}'s, "
        f"{interval(worst['drop'], worst['drop_low'], worst['drop_high'])} F1 points; "
        f"the conditions whose drop interval excludes 0: {named}."
    )


def lowering_sentence(table: pd.DataFrame) -> str:
    """Which perturbations lower F1 with a 95% interval above 0 (for the summary)."""
    real = table[(table["condition"] != "clean") & (table["drop_low"] > 0)]
    if real.empty:
        return "No perturbation lowered F1 with an interval excluding 0 in this run."
    named = ", ".join(real["condition"])
    return f"In this run these perturbations lower F1 (drop interval above 0): {named}."


def alarm_sentence(shift_at: int, alarm_at: int | None, requests: int) -> str:
    """Where the drift alarm was raised relative to the shift, or that none was."""
    if alarm_at is None:
        return f"No alarm was raised within the stream's {requests} requests."
    if alarm_at < shift_at:
        return (
            f"The alarm was raised at request {alarm_at}, {shift_at - alarm_at} requests "
            f"*before* the shift at {shift_at}: a false alarm."
        )
    return (
        f"The alarm was raised at request {alarm_at}, {alarm_at - shift_at} requests after "
        f"the shift at {shift_at} (feedback itself lags by the feedback delay)."
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
    """How many slices' drops differ from their set's, and the largest excess drops either way.

    Slices are ranked by |excess| and named in two groups: those losing more than their set
    (excess > 0) and those losing less (excess < 0).
    """
    differ = tests[tests["differs"]]
    differ = differ.loc[differ["excess"].abs().sort_values(ascending=False).index].head(top)
    text = f"{len(tests[tests['differs']])} of {len(tests)} slices tested lose significantly "
    text += "more or less than their set as a whole (Holm-adjusted p < 0.05)"
    if differ.empty:
        return text + "."
    groups = []
    for label, rows in (("lose more", differ[differ["excess"] > 0]),
                        ("lose less", differ[differ["excess"] < 0])):  # fmt: skip
        if len(rows):
            named = ", ".join(
                f"{r.set} {r.slice} = {r.value} ({r.excess:+.1f})" for r in rows.itertuples()
            )
            groups.append(f"{label}: {named}")
    return f"{text}. The largest excess drops by size, {'; '.join(groups)}."
