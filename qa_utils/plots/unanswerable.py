"""Figures of unanswerable questions (SQuAD 2.0): abstaining, thresholds, selective answering.

Each is drawn from a table of `qa_utils.analysis.unanswerable`; the calibration of the
no-answer probability uses `qa_utils.plots.analysis.plot_reliability`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from qa_utils.analysis.unanswerable import curve_at, to_null_diff
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
    curve: pd.DataFrame, marks: Mapping[str, float], metric: str = "F1", null_diff: bool = False
) -> Figure:
    """Score against the no-answer threshold (overall, answerable, unanswerable), marks labelled.

    The left panel sweeps every threshold; the right one zooms on the marked ones, which may
    lie too close together to tell apart at full width. Marks are named in the legend.

    Args:
        curve: `qa_utils.analysis.unanswerable.threshold_curve`.
        marks: thresholds to mark (on the curve's na_prob scale), by label.
        metric: the name of the score on the y axis.
        null_diff: draw the x axis as the score difference T = logit(na_prob) (our na_probs
            crowd near 0 or 1 on the probability scale); False keeps the na_prob scale.
    """
    fig, axes = new_figure("wide", 1, 2)
    finite = curve.iloc[1:]
    x = to_null_diff(finite["threshold"].to_numpy()) if null_diff else finite["threshold"]
    # A mark beyond every question (T = -inf: abstain on all) is drawn at the data's edge.
    edge = (np.nanmin(x), np.nanmax(x)) if len(finite) else (0.0, 1.0)
    at = {k: float(to_null_diff(t)) if null_diff else t for k, t in marks.items()}
    where = {k: float(np.clip(t, *edge)) for k, t in at.items()}
    name = "null_diff" if null_diff else "na_prob"
    for ax in axes:
        for column, label, color in CURVES:
            ax.step(x, finite[column], where="post", label=label, color=color)
        ax.axhline(curve["score"].iloc[0], color="grey", linestyle=":", label="abstain on all")
        for (label, threshold), style in zip(marks.items(), ("--", "-."), strict=False):
            score = float(curve_at(curve, threshold)["score"])
            value = float(to_null_diff(threshold, finite=False)) if null_diff else threshold
            text = f"{label}: {value:.2f}" if null_diff else f"{label}: {value:.3g}"
            mark = f"{text} ({metric} {score:.1f})"
            ax.axvline(where[label], color="black", linestyle=style, linewidth=1, label=mark)
            ax.plot([where[label]], [score], "o", color="black")
        ax.set(
            xlabel=f"threshold T (on {name})" if null_diff else f"threshold on {name}",
            ylabel=metric,
        )
    axes[0].set(title="Every threshold", ylim=(0, 105))
    axes[1].set(title="Near the marked thresholds", **zoom_limits(x, finite["score"], where))
    axes[1].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"{metric} against the no-answer threshold (abstain where {name} exceeds T)")
    return fig


def zoom_limits(x: ArrayLike, score: pd.Series, marks: Mapping[str, float]) -> dict:
    """x and y limits around the marked thresholds: their span, padded, and the scores in it."""
    x = np.asarray(x, dtype=np.float64)
    low, high = min(marks.values()), max(marks.values())
    pad = max(high - low, (np.nanmax(x) - np.nanmin(x)) / 20, 1e-9)
    inside = (x >= low - pad) & (x <= high + pad)
    scores = score.to_numpy()[inside] if inside.any() else score.to_numpy()
    margin = max(1.0, (scores.max() - scores.min()) * 0.2)
    return {"xlim": (low - pad, high + pad), "ylim": (scores.min() - margin, scores.max() + margin)}


def plot_coverage_risk(coverage: pd.DataFrame, aurc: float) -> Figure:
    """Risk (1 - F1 among the answered) against coverage, answering the surest first.

    The dotted line is a ranking no better than chance: its risk stays, on average, at the
    risk of answering every question, and so does its area.
    """
    fig, ax = new_figure("single")
    chance = float(coverage["risk"].iloc[-1])
    # Each risk holds over the coverage its questions add, up to its own point: the shaded
    # area is the AURC.
    x = np.r_[0.0, coverage["coverage"]]
    y = np.r_[coverage["risk"].iloc[0], coverage["risk"]]
    ax.step(x, y, where="pre", color=SLICE_COLOR)
    ax.fill_between(x, y, step="pre", alpha=0.2, color=SLICE_COLOR, label=f"area {aurc:.3f}")
    ax.axhline(chance, color="grey", linestyle=":", label=f"chance ranking (area {chance:.3f})")
    ax.set(
        title=f"Selective answering: risk against coverage (area {aurc:.3f})",
        xlabel="Coverage (share of questions answered, lowest na_prob first)",
        ylabel="Risk (1 - F1 of the answered)",
        xlim=(0, 1),
        ylim=(0, 1),
    )
    ax.legend(loc="lower right", fontsize=8)
    return fig
