"""Figure of notebook 06's "Adapting to the new domain": the recovery curve against sample size.

Draws the points of `qa_utils.robustness.adapt` (one row per sample size and seed, size 0 being
the unadapted model): F1 on the unseen test products of the new domain, and on SQuAD dev, so
that recovery and forgetting show side by side.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from qa_utils.plots.style import new_figure

NAMES = {"amazon": "Amazon reviews, unseen products", "squad": "SQuAD v1.1 dev (forgetting)"}
"""Panel titles of the datasets `qa_utils.robustness.adapt` scores, by column prefix."""


def draw_curve(ax: Axes, curve: pd.DataFrame, column: str, label: str, color: str) -> None:
    """Each seed's point with its 95% interval, and the mean over seeds as a line."""
    errors = [curve[column] - curve[f"{column}_low"], curve[f"{column}_high"] - curve[column]]
    ax.errorbar(curve["size"], curve[column], yerr=errors, fmt="o", color=color, alpha=0.5,
                capsize=3, markersize=4)  # fmt: skip
    means = curve.groupby("size")[column].mean()
    ax.plot(means.index, means.to_numpy(), "-", color=color, label=label)


def plot_adaptation(
    curve: pd.DataFrame,
    own: pd.DataFrame | None = None,
    target: str = "amazon",
    kept: str = "squad",
    labels: tuple[str, str] = ("committed run", "this run"),
) -> Figure:
    """F1 on the new domain (left) and on SQuAD (right) against the number of adaptation questions.

    Args:
        curve: one row per (size, seed) with `<target>_f1`, `<kept>_f1` and their `_low`/`_high`.
        own: another run's points (the notebook's), drawn beside the committed curve.
        target: the new domain's column prefix.
        kept: the original domain's column prefix.
        labels: legend names of `curve` and `own`.
    """
    fig, axes = new_figure("wide", 1, 2)
    runs = [(curve, f"{labels[0]} (line: mean over seeds)", "tab:blue")]
    if own is not None:
        runs.append((own, labels[1], "tab:orange"))
    for ax, name in zip(axes, (target, kept), strict=True):
        for points, label, color in runs:
            draw_curve(ax, points, f"{name}_f1", label, color)
        ax.set(xlabel="adaptation questions (0: the unadapted model)", ylabel="F1 (95% CI)")
        ax.set_title(NAMES.get(name, name))
        ax.grid(alpha=0.3)
    axes[0].legend(loc="lower right")
    return fig
