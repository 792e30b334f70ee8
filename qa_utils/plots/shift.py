"""Figures of real distribution shift (notebook 06, `benchmarks/shift.py`).

`plot_shift_trend` places our model among the published SQuADShifts models, one panel per
shifted set, with the trend line of `qa_utils.analysis.trend`; `plot_domain_slices` shows
F1 per slice value for every set side by side (`qa_utils.analysis.domains`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qa_utils.analysis.tables import SMALL_SLICE
from qa_utils.analysis.trend import fit_line, trend_points
from qa_utils.plots.style import new_figure


def plot_shift_trend(
    published: pd.DataFrame,
    ours: pd.DataFrame,
    trend: pd.DataFrame,
    reference: str = "squad/dev",
    label: str = "ours",
) -> Figure:
    """Shifted F1 against SQuAD F1, one panel per set: published models, the line, our point.

    Args:
        published: the published results (`trend.read_published`).
        ours: our scores per set with f1, f1_low, f1_high (`shift.shift_table`).
        trend: our effective robustness per set (`trend.trend_table`).
        reference: the name of our SQuAD row in `ours`.
        label: how our model is named in the legend.
    """
    rows = ours.set_index("set")
    x, x_low, x_high = rows.loc[reference, ["f1", "f1_low", "f1_high"]]
    fig, axes = new_figure("wide", 1, len(trend), sharey=True, squeeze=False)
    for ax, er in zip(axes[0], trend.itertuples(), strict=True):
        points = trend_points(published, er.set.rsplit("/", 1)[-1])
        line = fit_line(points["squad"], points["shifted"])
        grid = np.linspace(min(points["squad"].min(), x_low) - 2, 100, 200)
        ax.scatter(points["squad"], points["shifted"], s=14, color="grey", alpha=0.7,
                   label=f"published ({len(points)})")  # fmt: skip
        ax.plot(grid, line.predict(grid), color="black", lw=1, label="trend (logit fit)")
        ax.plot(grid, grid, color="grey", lw=0.8, ls=":", label="no drop")
        y, y_low, y_high = rows.loc[er.set, ["f1", "f1_low", "f1_high"]]
        ax.errorbar(x, y, xerr=[[x - x_low], [x_high - x]], yerr=[[y - y_low], [y_high - y]],
                    fmt="o", color="tab:red", capsize=3, label=label)  # fmt: skip
        ax.set_title(
            f"{er.set}\nER {er.er:+.1f} [{er.er_low:+.1f}, {er.er_high:+.1f}]", fontsize=10
        )
        ax.set(xlabel="SQuAD v1.1 F1", xlim=(grid[0], 100), ylim=(30, 100))
    axes[0][0].set_ylabel("F1 on the shifted set")
    axes[0][0].legend(loc="upper left", fontsize=8)
    return fig


def plot_domain_slices(long: pd.DataFrame, column: str, metric: str = "f1") -> Figure:
    """F1 of each value of one slicing column, one bar per set, with 95% intervals.

    Slices flagged `small` (fewer than `tables.SMALL_SLICE` questions of their set) are left
    out: their score rests on a handful of questions; the x label says so. Values with no
    bar on any set are dropped.
    """
    rows = long[long["slice"] == column]
    if "small" in rows:
        small = rows["small"].astype(bool)
        rows = rows.assign(**{c: rows[c].mask(small) for c in rows if c.startswith(metric)})
    sets = list(dict.fromkeys(rows["set"]))
    values = list(dict.fromkeys(rows.loc[rows[metric].notna(), "value"]))
    fig, ax = new_figure("wide")
    width = 0.8 / len(sets)
    for k, name in enumerate(sets):
        part = rows[rows["set"] == name].set_index("value").reindex(values)
        errors = [part[metric] - part[f"{metric}_low"], part[f"{metric}_high"] - part[metric]]
        position = np.arange(len(values)) + (k - (len(sets) - 1) / 2) * width
        ax.bar(position, part[metric], width, yerr=errors, capsize=2, label=name, alpha=0.85)
    ax.set_xticks(np.arange(len(values)), values, rotation=20, ha="right", fontsize=8)
    ax.set(
        ylim=(0, 100),
        ylabel=f"{metric.upper()} (95% CI)",
        title=f"{metric.upper()} by {column.replace('_', ' ')}",
    )
    if "small" in long:
        ax.set_xlabel(f"no bar: fewer than {SMALL_SLICE} questions of that set")
    ax.legend(fontsize=8, ncols=len(sets))
    return fig
