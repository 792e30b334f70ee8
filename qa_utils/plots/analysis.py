"""Figures of the error analysis: answer types, slices, error categories, calibration, tests.

They illustrate notebook 04 (error analysis) and are the PNGs of the `analyse` report
(`qa_utils.workflow.report`). Every figure is drawn from a table made by `qa_utils.analysis`
(never from raw files), has a title and labelled axes, and shows the counts behind each bar or
cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from qa_utils.analysis.stats import short_p_value
from qa_utils.plots.style import new_figure

SMALL_COLOR, SLICE_COLOR = "#bbbbbb", "#4c72b0"


def draw_row_shares(
    fig: Figure, ax: Axes, confusion: pd.DataFrame, label: str, small_text: bool = False
) -> None:
    """A row-normalised heatmap of counts: each cell's share of its row and, in brackets, its
    count; row labels carry each row's total. `small_text` writes small and skips empty cells."""
    counts = confusion.to_numpy()
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
    image = ax.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    fig.colorbar(image, ax=ax, label=label)
    size = {"fontsize": 7} if small_text else {}
    for (i, j), count in np.ndenumerate(counts):
        if count or not small_text:
            color = "white" if shares[i, j] > 0.6 else "black"
            text = f"{shares[i, j]:.0%}\n({count})"
            ax.text(j, i, text, ha="center", va="center", color=color, **size)
    rows = [f"{name} (n={int(n)})" for name, n in zip(confusion.index, totals[:, 0], strict=True)]
    ax.set_yticks(range(len(rows)), rows)


def plot_answer_type_confusion(confusion: pd.DataFrame) -> Figure:
    """Heatmap of gold (rows) against predicted (columns) answer type, row-normalised.

    Each cell shows the share of its row and, in brackets, its count; row labels carry the
    number of questions of each gold type.

    Args:
        confusion: Counts from `qa_utils.analysis.tables.answer_type_confusion`.
    """
    fig, ax = new_figure("square")
    draw_row_shares(fig, ax, confusion, "share of the gold type's questions", small_text=True)
    ax.set_xticks(range(len(confusion.columns)), confusion.columns, rotation=35, ha="right")
    ax.set(
        title="Gold vs predicted answer type (row-normalised; counts in brackets)",
        xlabel="Predicted answer type",
        ylabel="Gold answer type",
    )
    return fig


def draw_slice(ax: Axes, rows: pd.DataFrame, metric: str, overall: float | None) -> None:
    """Bars of one slice's metric with bootstrap intervals, counts under the names; small grey."""
    x = np.arange(len(rows))
    values = rows[metric].fillna(0).to_numpy()
    low, high = rows[f"{metric}_low"].fillna(0), rows[f"{metric}_high"].fillna(0)
    errors = np.clip(np.vstack([values - low, high - values]), 0, None)
    colors = [SMALL_COLOR if small else SLICE_COLOR for small in rows["small"]]
    ax.bar(x, values, yerr=errors, color=colors, capsize=3)
    if overall is not None:
        ax.axhline(
            overall, color="black", linestyle="--", linewidth=1, label=f"overall {overall:.1f}"
        )
        ax.legend(loc="lower right", fontsize=7)
    labels = [f"{v} ({n})" for v, n in zip(rows["value"], rows["n"], strict=True)]
    ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"{metric.upper()} (%)")


def plot_slice(
    slices: pd.DataFrame, column: str, title: str, metric: str = "f1", overall: float | None = None
) -> Figure:
    """One slicing column's metric per value, with 95% intervals (grey: small slices)."""
    fig, ax = new_figure("single")
    draw_slice(ax, slices[slices["slice"] == column], metric, overall)
    ax.set(
        title=f"{metric.upper()} by {title.lower()} (95% bootstrap CI; grey = small)", xlabel=title
    )
    return fig


def plot_slice_grid(
    slices: pd.DataFrame, titles: dict[str, str], metric: str = "f1", overall: float | None = None
) -> Figure:
    """All slicing columns in one grid of bar charts (grey bars: small slices)."""
    columns = [c for c in titles if c in set(slices["slice"])]
    fig, axes = new_figure("grid", 2, 4)
    for ax, column in zip(axes.flat, columns, strict=False):
        draw_slice(ax, slices[slices["slice"] == column], metric, overall)
        ax.set(title=titles[column], xlabel="value (questions)")
    for ax in axes.flat[len(columns) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"{metric.upper()} per slice (95% bootstrap CI; questions in brackets; grey = small slice)"
    )
    return fig


def plot_error_categories(errors: pd.DataFrame) -> Figure:
    """Horizontal bars: how many answers fall in each error category, with shares."""
    fig, ax = new_figure("single")
    y = np.arange(len(errors))[::-1]
    ax.barh(y, errors["n"], color=SLICE_COLOR)
    for yi, n, share in zip(y, errors["n"], errors["share"], strict=True):
        ax.annotate(f" {n} ({share:.1%})", (n, yi), va="center", fontsize=8)
    ax.set_yticks(y, errors["category"])
    ax.set_xlim(0, max(1, errors["n"].max()) * 1.25)
    ax.set(title="Where the answers go wrong", xlabel="Questions", ylabel="Error category")
    return fig


def plot_reliability(
    calibration: pd.DataFrame,
    ece: float,
    outcome: str = "exact match",
    confidence: str = "Confidence",
    min_count: int = 0,
) -> Figure:
    """Reliability diagram (accuracy against confidence per bin) above a histogram of counts.

    `outcome` and `confidence` name what the bins count and what they are binned by (the
    default: exact match against the answer's confidence). Bins of fewer than `min_count`
    examples, whose rate is mostly chance, are drawn hollow and hatched.
    """
    fig, (top, bottom) = new_figure("tall", 2, 1, sharex=True, height_ratios=[3, 1])
    centers = (calibration["lower"] + calibration["upper"]) / 2
    width = float((calibration["upper"] - calibration["lower"]).iloc[0]) * 0.9
    rate = calibration["accuracy"].fillna(0)
    few = calibration["n"] < min_count
    top.bar(centers[~few], rate[~few], width=width, color=SLICE_COLOR, label=outcome)
    if few.any() and calibration["n"][few].sum() > 0:
        label = f"{outcome}, bins of fewer than {min_count}"
        top.bar(centers[few], rate[few], width=width, fill=False, hatch="//", label=label)
    top.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    top.plot(
        calibration["confidence"],
        calibration["accuracy"],
        "o",
        color="darkorange",
        label=f"bin (mean {confidence.lower()}, {outcome} rate)",
    )
    top.set(
        title=f"Reliability diagram (ECE = {ece:.3f})",
        ylabel=f"{outcome[0].upper()}{outcome[1:]} rate",
        ylim=(0, 1),
    )
    top.legend(loc="upper left", fontsize=8)
    bottom.bar(centers, calibration["n"], width=width, color=SMALL_COLOR)
    for x, n in zip(centers, calibration["n"], strict=True):
        bottom.annotate(str(n), (x, n), ha="center", va="bottom", fontsize=7)
    bottom.set(xlabel=confidence, ylabel="Questions", xlim=(0, 1))
    bottom.set_ylim(0, max(1, calibration["n"].max()) * 1.3)
    return fig


def plot_comparison(
    comparison: pd.DataFrame, names: Sequence[str] = ("a", "b"), n_resamples: int = 1000
) -> Figure:
    """Difference of EM and F1 between two systems with its 95% interval and p-value.

    `n_resamples` is the number behind the p-values (`analysis.tables.compare_tables`): a
    p-value at its floor 1 / (n_resamples + 1) is labelled "p ≤ floor", not as exact.
    """
    fig, ax = new_figure("single")
    y = np.arange(len(comparison))[::-1]
    diff = comparison["difference"].to_numpy()
    errors = np.vstack([diff - comparison["ci_low"], comparison["ci_high"] - diff])
    ax.errorbar(diff, y, xerr=np.clip(errors, 0, None), fmt="o", capsize=4, color=SLICE_COLOR)
    for yi, d, p, n in zip(y, diff, comparison["p_value"], comparison["n"], strict=True):
        label = f"{d:+.2f}  {short_p_value(p, n_resamples)}  n={n}"
        ax.annotate(label, (d, yi + 0.15), ha="center", fontsize=8)
    ax.axvline(0, color="black", linewidth=1)
    reach = max(0.5, float(np.abs(comparison[["ci_low", "ci_high"]].to_numpy()).max()))
    ax.set_xlim(-1.6 * reach, 1.6 * reach)
    ax.set_yticks(y, [m.upper() for m in comparison["metric"]])
    ax.set_ylim(-0.7, len(comparison) - 0.3)
    ax.set(
        title=f"{names[0]} minus {names[1]} (paired, 95% CI)",
        xlabel="Difference (points)",
        ylabel="Metric",
    )
    return fig
