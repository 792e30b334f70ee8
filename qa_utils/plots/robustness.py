"""The figure of notebook 06's section "How much each perturbation costs".

`plot_robustness`: F1 on the clean questions and under each perturbation of
`qa_utils.robustness.perturb`, as tabled by `qa_utils.robustness.probes.robustness_table`.
The figures of real distribution shift are in `qa_utils.plots.shift`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from qa_utils.plots.style import new_figure


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
