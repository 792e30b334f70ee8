"""Helpers for notebook 01: classic metrics on a classification task built from SQuAD.

The task: predict a question's answer type (the SQuAD paper's taxonomy, assigned to the gold
answer by `qa_utils.answer_types.rule_answer_type`) from the question text alone. It is cheap
(TF-IDF + logistic regression), real, imbalanced, and grouped by article, which is all that
accuracy, precision/recall/F1, confusion matrices and grouped cross-validation need.
Perplexity lives in `qa_utils.lm`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.metrics import ConfusionMatrixDisplay

SWEEP_SIZE = (6.4, 4.0)


CONFUSION_SIZE = (8.0, 6.5)


CV_SIZE = (6.4, 4.0)


ONLINE_SIZE = (7.0, 4.0)


def plot_prevalence_sweep(sweep: pd.DataFrame) -> Figure:
    """Accuracy, precision, recall and F1 against the share of positives (log scale)."""
    fig, ax = plt.subplots(figsize=SWEEP_SIZE, layout="constrained")
    for metric in ("accuracy", "precision", "recall", "f1"):
        ax.plot(sweep["positive_rate"], sweep[metric], marker="o", label=metric)
    ax.plot(sweep["positive_rate"], sweep["majority_accuracy"], "k--", label="accuracy of 'never'")
    ax.set(xscale="log", ylim=(0, 1.02), xlabel="share of positives in the test set (log)")
    ax.set(ylabel="score", title="One classifier, test sets of different class balance")
    ax.legend(loc="lower left")
    return fig


def plot_confusion(y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str]) -> Figure:
    """Row-normalised confusion matrix: each row shows where one gold class's items went."""
    fig, ax = plt.subplots(figsize=CONFUSION_SIZE, layout="constrained")
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
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right")
    ax.set_title("Answer type predicted from the question (rows sum to 1)")
    return fig


def plot_cv_compare(scores: pd.DataFrame) -> Figure:
    """Mean fold accuracy (bars) and each fold (dots) per task and cross-validation scheme."""
    fig, ax = plt.subplots(figsize=CV_SIZE, layout="constrained")
    sns.barplot(scores, x="task", y="accuracy", hue="scheme", errorbar=None, alpha=0.6, ax=ax)
    sns.stripplot(scores, x="task", y="accuracy", hue="scheme", dodge=True, legend=False, ax=ax)
    ax.axhline(0.5, color="grey", ls=":", lw=1)  # chance for a fair coin
    ax.set(ylim=(0, 1), xlabel="", title="Cross-validated accuracy: shuffled vs grouped folds")
    ax.legend(loc="lower left")
    return fig


def plot_online(online: pd.DataFrame, offline_accuracy: float) -> Figure:
    """Daily live accuracy, its feedback estimate, and the one offline number."""
    fig, ax = plt.subplots(figsize=ONLINE_SIZE, layout="constrained")
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


CURVE_SIZE = (6.4, 4.0)


def plot_perplexity_curve(curve: pd.DataFrame) -> Figure:
    """Held-out perplexity against training tokens, one line per model."""
    fig, ax = plt.subplots(figsize=CURVE_SIZE, layout="constrained")
    for name, rows in curve.groupby("model", sort=False):
        ax.plot(rows["train_tokens"], rows["perplexity"], marker="o", label=name)
    ax.set(xscale="log", ylim=(0, None), xlabel="training tokens (log)", ylabel="perplexity")
    ax.set_title("n-gram LMs: held-out perplexity as training data grows")
    ax.legend()
    return fig


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
