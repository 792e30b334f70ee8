"""Measure model variants side by side on the same questions: speed, size, memory, EM/F1.

Batch-1 latency is one question's windows through the model (`predict_logits` on that
question alone); tokenization and post-processing are the same for every variant and are left
out. Requests are interleaved across variants in small blocks, so a load spike from another
process on a shared machine hits every variant alike instead of whichever ran at that moment.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure


def plot_tradeoff(table: pd.DataFrame, title: str = "Accuracy against batch-1 latency") -> Figure:
    """F1 against p50 latency, one point per variant, marker area proportional to size on disk."""
    figure = Figure(figsize=(7.0, 4.5))
    ax = figure.subplots()
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
    figure = Figure(figsize=(10.0, 4.0))
    left, right = figure.subplots(1, 2)
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
