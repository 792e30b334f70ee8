"""Figures of notebook 05 (performance optimization): what speed costs in accuracy.

`plot_tradeoff` is "The six variants side by side": F1 against batch-1 latency for the
variants measured by `qa_utils.optimize.bench`; `plot_pruning` is "Magnitude pruning: zeros
are not speed": F1 as the model is pruned (`qa_utils.optimize.prune`) beside the time of a
dense and a sparse matrix product as the weights fill with zeros.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from qa_utils.plots.style import new_figure


def plot_tradeoff(table: pd.DataFrame, title: str = "Accuracy against batch-1 latency") -> Figure:
    """F1 against p50 latency, one point per variant, marker area proportional to size on disk."""
    figure, ax = new_figure("single")
    area = 600 * table["size_mb"] / table["size_mb"].max()
    ax.scatter(table["p50_ms"], table["f1"], s=area, alpha=0.6, edgecolor="black")
    for _, row in table.iterrows():
        ax.annotate(
            row["variant"],
            (row["p50_ms"], row["f1"]),
            fontsize=8,
            xytext=(5, 5),
            textcoords="offset points",
        )
    ax.set_xlabel("batch-1 latency, p50 (ms)")
    ax.set_ylabel("F1 (%)")
    ax.set_title(f"{title} (marker area ~ size on disk)")
    ax.grid(alpha=0.3)
    return figure


def plot_pruning(curve: pd.DataFrame, timing: pd.DataFrame) -> Figure:
    """Left: F1 against the amount pruned; right: dense and CSR matmul time against sparsity."""
    figure, (left, right) = new_figure("wide", 1, 2)
    base = curve.loc[curve["method"] == "none", "f1"].iloc[0]
    for method, label in (("magnitude", "weights zeroed"), ("heads", "heads removed")):
        rows = curve[curve["method"] == method]
        left.plot([0.0, *rows["amount"]], [base, *rows["f1"]], marker="o", label=label)
    left.set_xlabel("fraction pruned")
    left.set_ylabel("F1 (%)")
    left.set_title("Accuracy as the model is pruned")
    left.legend()
    right.plot(timing["sparsity"], timing["dense_ms"], marker="o", label="dense kernel")
    right.plot(timing["sparsity"], timing["sparse_csr_ms"], marker="o", label="sparse CSR kernel")
    right.set_xlabel("fraction of zero weights")
    right.set_ylabel("ms per product")
    right.set_title("Zeros do not make dense kernels faster")
    right.legend()
    return figure
