"""Figures of notebook 06's robustness and domain-shift sections.

`plot_robustness` is "How much each perturbation costs": F1 on the clean questions and under
each perturbation of `qa_utils.robustness.perturb`, as tabled by
`qa_utils.robustness.probes.robustness_table`; `plot_article_scores` is "Domain shift, part 1:
articles differ": the F1 of every article (`qa_utils.robustness.shift`) around their mean.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qa_utils.plots.style import new_figure
from qa_utils.robustness.shift import article_spread


def plot_robustness(table: pd.DataFrame) -> Figure:
    """F1 per condition with its 95% interval; each label carries the drop and its interval."""
    fig, ax = new_figure("single")
    y = np.arange(len(table))[::-1]
    errors = [table["f1"] - table["f1_low"], table["f1_high"] - table["f1"]]
    ax.barh(y, table["f1"], xerr=errors, color="tab:blue", alpha=0.8, capsize=4)
    labels = [
        row.condition
        if row.condition == "clean"
        else f"{row.condition}\ndrop {row.drop:.1f} [{row.drop_low:.1f}, {row.drop_high:.1f}]"
        for row in table.itertuples()
    ]
    for yi, row in zip(y, table.itertuples(), strict=True):
        ax.text(row.f1_high + 1, yi, f"{row.f1:.1f}", va="center", fontsize=9)
    ax.set(yticks=y, yticklabels=labels, xlim=(0, 105), xlabel="F1 (95% CI)")
    ax.set_title("F1 under perturbations that keep the gold answer valid")
    return fig


def plot_article_scores(per_article: pd.DataFrame, max_labels: int = 60) -> Figure:
    """F1 of every article, sorted, with the mean and a band of one standard deviation."""
    spread = article_spread(per_article)
    fig, ax = new_figure("wide")
    x = np.arange(len(per_article))
    ax.bar(x, per_article["f1"], color="tab:blue", alpha=0.8)
    ax.axhline(spread["mean"], color="black", label=f"mean {spread['mean']:.1f}")
    band = (spread["mean"] - spread["std"], spread["mean"] + spread["std"])
    ax.axhspan(*band, color="grey", alpha=0.2, label=f"± 1 std ({spread['std']:.1f})")
    if len(per_article) <= max_labels:
        ax.set_xticks(x, per_article["title"].str.slice(0, 25), rotation=90, fontsize=7)
    else:
        ax.set_xticks([])
    ax.set(ylim=(0, 100), ylabel="F1", xlabel=f"{len(per_article)} articles, sorted by F1")
    ax.set_title("F1 per article")
    ax.legend(loc="upper left")
    return fig
