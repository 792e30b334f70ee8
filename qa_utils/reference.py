"""Published SQuAD v1.1 dev-set scores, to put our own numbers in context."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

# (system, EM, F1) on the SQuAD v1.1 development set.
PUBLISHED = (
    ("BERT-base (Devlin et al., 2019)", 80.8, 88.5),
    ("DistilBERT (Sanh et al., 2019)", 77.7, 85.8),
    ("Human (Rajpurkar et al., 2016)", 80.3, 90.5),
)


def published_table(exact_match: float, f1: float, label: str) -> pd.DataFrame:
    """Our EM/F1 in a table with the published reference numbers."""
    rows = [*PUBLISHED, (label, round(exact_match, 2), round(f1, 2))]
    return pd.DataFrame(rows, columns=["system", "exact_match", "f1"])


def plot_against_published(table: pd.DataFrame) -> Figure:
    """Grouped horizontal bars of EM and F1 per system, values printed on the bars."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    positions = range(len(table))
    for offset, column, colour in ((-0.2, "exact_match", "tab:blue"), (0.2, "f1", "tab:orange")):
        bars = ax.barh(
            [p + offset for p in positions],
            table[column],
            height=0.4,
            color=colour,
            label=column.replace("_", " ").upper(),
        )
        ax.bar_label(bars, fmt="%.1f", padding=2)
    ax.set_yticks(list(positions), table["system"])
    ax.set_xlabel("score on SQuAD v1.1 dev (%)")
    ax.set_xlim(0, 100)
    ax.set_title("Our model against published results")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
