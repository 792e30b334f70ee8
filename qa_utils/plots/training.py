"""Figures of notebook 02 (fine-tuning BERT for extractive question answering).

`plot_lengths` is "The data": token lengths of questions, contexts and answers against the
window size (`qa_utils.chapter.curves.token_lengths`); `plot_training_curve` is "The loss
curve": the loss and learning rate logged by `qa_utils.training.train`; `plot_learning_curves`
is "Transfer learning": the loss of the pre-trained and the random start side by side.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from qa_utils.plots.style import new_figure


def plot_lengths(lengths: pd.DataFrame, max_length: int) -> Figure:
    """Histograms of question, context and answer lengths, with the window size marked."""
    fig, axes = new_figure("wide", 1, 3)
    for ax, column in zip(axes, ("question", "context", "answer"), strict=True):
        ax.hist(lengths[column], bins=40, color="tab:blue", alpha=0.8)
        ax.set_title(f"{column} length (median {lengths[column].median():.0f})")
        ax.set_xlabel("tokens")
        ax.set_ylabel("examples")
    axes[1].axvline(max_length, color="tab:red", linestyle="--", label=f"max_length={max_length}")
    axes[1].legend()
    fig.suptitle(f"Token lengths of {len(lengths):,} examples")
    return fig


def plot_training_curve(history: pd.DataFrame) -> Figure:
    """Training loss and learning rate against the optimisation step."""
    steps = history.dropna(subset=["loss"])
    fig, loss_ax = new_figure("single")
    loss_ax.plot(steps["step"], steps["loss"], color="tab:blue", label="training loss")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("loss (start + end cross-entropy / 2)")
    rate_ax = loss_ax.twinx()
    rate_ax.plot(steps["step"], steps["learning_rate"], color="tab:orange", label="learning rate")
    rate_ax.set_ylabel("learning rate")
    loss_ax.set_title(f"Fine-tuning: {len(steps)} logged steps")
    handles = loss_ax.get_lines() + rate_ax.get_lines()
    loss_ax.legend(handles, [h.get_label() for h in handles], loc="upper center")
    return fig


def plot_learning_curves(curves: pd.DataFrame) -> Figure:
    """Training loss per logged step of each run: colour by initialisation, line by budget.

    Args:
        curves: columns train_questions, init, step, loss
            (`qa_utils.chapter.transfer.learning_curves`).
    """
    fig, ax = new_figure("single")
    colours = {"pretrained": "tab:blue", "random": "tab:red"}
    budgets = sorted(curves["train_questions"].unique())
    styles = dict(zip(budgets, ("-", "--", ":", "-."), strict=False))
    for (budget, init), run in curves.groupby(["train_questions", "init"], sort=True):
        ax.plot(
            run["step"],
            run["loss"],
            color=colours.get(init, "tab:gray"),
            linestyle=styles.get(budget, "-"),
            label=f"{init}, {budget:,} questions",
        )
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Fine-tuning from pre-trained and from random weights")
    ax.legend()
    return fig
