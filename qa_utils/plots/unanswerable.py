"""Figures of unanswerable questions (SQuAD 2.0): abstaining, thresholds, selective answering.

Each is drawn from a table of `qa_utils.analysis.unanswerable`; the calibration of the
no-answer probability uses `qa_utils.plots.analysis.plot_reliability`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qa_utils.plots.analysis import SLICE_COLOR, draw_row_shares
from qa_utils.plots.style import new_figure

CURVES = (("score", "all questions", SLICE_COLOR), ("has_score", "answerable", "#55a868"))
CURVES += (("no_score", "unanswerable", "#c44e52"),)


def plot_abstain_confusion(confusion: pd.DataFrame) -> Figure:
    """Answerable/unanswerable against answered/abstained: counts and row shares."""
    fig, ax = new_figure("single")
    draw_row_shares(fig, ax, confusion, "share of the row's questions")
    ax.set_xticks(range(len(confusion.columns)), confusion.columns)
    ax.set(title="Answer or abstain (counts in brackets)", xlabel="Prediction", ylabel="Gold")
    return fig


def plot_threshold_curve(
    curve: pd.DataFrame, marks: Mapping[str, float], metric: str = "F1"
) -> Figure:
    """Score against the no-answer threshold (overall, answerable, unanswerable), marks labelled.

    Args:
        curve: `qa_utils.analysis.unanswerable.threshold_curve`.
        marks: thresholds to mark, by label (the chosen one, the best one).
        metric: the name of the score on the y axis.
    """
    fig, ax = new_figure("single")
    finite = curve.iloc[1:]
    for column, label, color in CURVES:
        ax.step(finite["threshold"], finite[column], where="post", label=label, color=color)
    ax.axhline(curve["score"].iloc[0], color="grey", linestyle=":", label="abstain on all")
    for (label, threshold), style in zip(marks.items(), ("--", "-."), strict=False):
        score = float(curve[curve["threshold"] <= threshold]["score"].iloc[-1])
        ax.axvline(threshold, color="black", linestyle=style, linewidth=1)
        ax.plot([threshold], [score], "o", color="black")
        ax.annotate(f" {label}: {threshold:.3g} ({metric} {score:.1f})", (threshold, score))
    ax.set(
        title=f"{metric} against the no-answer threshold (abstain where na_prob exceeds it)",
        xlabel="No-answer threshold",
        ylabel=metric,
        ylim=(0, 105),
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_coverage_risk(coverage: pd.DataFrame, aurc: float) -> Figure:
    """Risk (1 - F1 among the answered) against coverage, answering the surest first."""
    fig, ax = new_figure("single")
    # Each risk holds over the coverage its questions add, up to its own point: the shaded
    # area is the AURC.
    x = np.r_[0.0, coverage["coverage"]]
    y = np.r_[coverage["risk"].iloc[0], coverage["risk"]]
    ax.step(x, y, where="pre", color=SLICE_COLOR)
    ax.fill_between(x, y, step="pre", alpha=0.2, color=SLICE_COLOR)
    ax.set(
        title=f"Selective answering: risk against coverage (area {aurc:.3f})",
        xlabel="Coverage (share of questions answered, lowest na_prob first)",
        ylabel="Risk (1 - F1 of the answered)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    return fig
