"""Robustness probes: perturbations that keep the gold answer valid, and domain shift.

Every perturbation maps a SQuAD Dataset to a Dataset with the same schema (id, title,
context, question, answers{text, answer_start}) and the same ids, so a model's scores on the
clean and the perturbed set can be compared question by question:

- `add_typos`: character noise in the question (swap, drop, double, keyboard neighbour),
  never in a word's first letter nor in words shorter than four letters, so it stays readable.
- `rewrite_questions`: rule-based paraphrases of the wh-phrase ("What is X?" -> "Tell me
  what X is?", "How many" -> "What number of", ...) and contractions ("did not" -> "didn't").
- `add_distractors`: an AddOneSent-style sentence (Jia & Liang 2017) built from the question:
  its numbers, months and capitalised names are swapped for others of the same kind, its
  wh-phrase is replaced by a fake answer of the gold answer's type, and the sentence is
  inserted at the end of the context or at a random sentence boundary outside every gold
  answer; gold offsets are shifted and checked.

Questions are perturbed with a generator seeded by (seed, question id), so a question gets the
same typos whatever subset it is drawn in; distractors also draw their swapped names and fake
answers from the other articles of the dataset at hand. `robustness_table` gives F1 under each
perturbation and its drop against the clean set with paired bootstrap intervals
(`qa_utils.stats`). The domain-shift helpers score per article and split training articles
into seen and unseen topics.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from qa_utils.robustness.shift import article_spread

if TYPE_CHECKING:
    from matplotlib.figure import Figure


ROBUSTNESS_SIZE = (8.0, 4.0)


ARTICLES_SIZE = (10.0, 4.5)


def plot_robustness(table: pd.DataFrame) -> Figure:
    """F1 per condition with its 95% interval; each label carries the drop and its interval."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=ROBUSTNESS_SIZE)
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
    fig.tight_layout()
    return fig


def plot_article_scores(per_article: pd.DataFrame, max_labels: int = 60) -> Figure:
    """F1 of every article, sorted, with the mean and a band of one standard deviation."""
    import matplotlib.pyplot as plt

    spread = article_spread(per_article)
    fig, ax = plt.subplots(figsize=ARTICLES_SIZE)
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
    fig.tight_layout()
    return fig
