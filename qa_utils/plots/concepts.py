"""Figures of notebook 01 (core concepts of model evaluation), and of notebook 03's comparison.

They draw the answer-type classification task of `qa_utils.chapter.concepts`: metrics as the
class balance changes (section 2), the confusion matrix (3), shuffled against grouped
cross-validation (4), n-gram perplexity as training data grows (5, `qa_utils.chapter.lm`) and
offline against simulated online accuracy (7); `plot_against_published` is notebook 03's
"Against published numbers".
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import seaborn as sns
from matplotlib.artist import setp
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.metrics import ConfusionMatrixDisplay

from qa_utils.plots.style import new_figure


def plot_prevalence_sweep(sweep: pd.DataFrame) -> Figure:
    """Accuracy, precision, recall and F1 against the share of positives (log scale)."""
    fig, ax = new_figure("single")
    for metric in ("accuracy", "precision", "recall", "f1"):
        ax.plot(sweep["positive_rate"], sweep[metric], marker="o", label=metric)
    ax.plot(
        sweep["positive_rate"],
        sweep["majority_accuracy"],
        "k--",
        label="majority accuracy (always 'no')",
    )
    ax.set(xscale="log", ylim=(0, 1.02), xlabel="share of positives in the test set (log)")
    ax.set(ylabel="score", title="One classifier, test sets of different class balance")
    ax.legend(loc="lower left")
    return fig


def plot_confusion(y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str]) -> Figure:
    """Row-normalised confusion matrix: each row shows where one gold class's items went."""
    fig, ax = new_figure("square")
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(labels),
        normalize="true",
        values_format=".2f",
        cmap="Blues",
        colorbar=False,
        ax=ax,
    )
    setp(ax.get_xticklabels(), rotation=35, ha="right")
    ax.set_title("Answer type predicted from the question (rows sum to 1)")
    return fig


def plot_cv_compare(scores: pd.DataFrame) -> Figure:
    """Mean fold accuracy (bars) and each fold (dots) per task and cross-validation scheme."""
    fig, ax = new_figure("single")
    sns.barplot(scores, x="task", y="accuracy", hue="scheme", errorbar=None, alpha=0.6, ax=ax)
    sns.stripplot(scores, x="task", y="accuracy", hue="scheme", dodge=True, legend=False, ax=ax)
    ax.axhline(0.5, color="grey", ls=":", lw=1)  # chance for a fair coin
    ax.set(ylim=(0, 1), xlabel="", title="Cross-validated accuracy: shuffled vs grouped folds")
    ax.legend(loc="lower left")
    return fig


def plot_simulated_online(online: pd.DataFrame, offline_accuracy: float) -> Figure:
    """Daily live accuracy, its feedback estimate, and the one offline number (simulated)."""
    fig, ax = new_figure("single")
    ax.axhline(offline_accuracy, color="k", ls="--", label="offline (held-out test set)")
    ax.plot(online["day"], online["accuracy"], marker="o", label="online, every question")
    ax.plot(
        online["day"],
        online["feedback_accuracy"],
        marker="x",
        ls=":",
        label="online, from user feedback",
    )
    ax.set(xlabel="day", ylabel="accuracy", ylim=(0, 1), title="Offline vs online accuracy")
    ax.legend(loc="lower left")
    return fig


def plot_perplexity_curve(curve: pd.DataFrame) -> Figure:
    """Held-out perplexity against training tokens, one line per model."""
    fig, ax = new_figure("single")
    for name, rows in curve.groupby("model", sort=False):
        ax.plot(rows["train_tokens"], rows["perplexity"], marker="o", label=name)
    ax.set(xscale="log", ylim=(0, None), xlabel="training tokens (log)", ylabel="perplexity")
    ax.set_title("n-gram LMs: held-out perplexity as training data grows")
    ax.legend()
    return fig


def plot_against_published(table: pd.DataFrame) -> Figure:
    """Grouped horizontal bars of EM and F1 per system, values printed on the bars.

    Rows with an F1 interval (`f1_low`, `f1_high`: our measured row) get it as an error bar on
    their F1 bar; the legend sits outside the axes, clear of the bars and their values.
    """
    fig, ax = new_figure("single")
    positions = range(len(table))
    f1_err = [
        (table["f1"] - table["f1_low"]).fillna(0).clip(lower=0),
        (table["f1_high"] - table["f1"]).fillna(0).clip(lower=0),
    ]
    for offset, column, colour, err in (
        (-0.2, "exact_match", "tab:blue", None),
        (0.2, "f1", "tab:orange", f1_err),
    ):
        bars = ax.barh(
            [p + offset for p in positions],
            table[column],
            height=0.4,
            color=colour,
            xerr=err,  # no caps: cited rows get zero-length bars, which must stay invisible
            label=column.replace("_", " ").upper(),
        )
        ax.bar_label(bars, fmt="%.1f", padding=2)
    ax.set_yticks(list(positions), table["system"])
    ax.set_xlabel("score on SQuAD v1.1 dev (%; our F1 with its 95% bootstrap interval)")
    ax.set_xlim(0, 100)
    ax.set_title("Our model against published results")
    fig.legend(loc="outside lower center", ncol=2)
    return fig
