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

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.analysis.stats import bootstrap_ci, unpaired_difference

if TYPE_CHECKING:
    pass


def article_scores(table: pd.DataFrame) -> pd.DataFrame:
    """Questions, EM and F1 per article (title), lowest F1 first."""
    grouped = table.groupby("title", sort=False)
    per_article = pd.DataFrame(
        {"n": grouped.size(), "em": grouped["em"].mean(), "f1": grouped["f1"].mean()}
    )
    return per_article.sort_values(["f1", "n"]).reset_index()


def article_spread(per_article: pd.DataFrame) -> pd.Series:
    """Spread of article F1: articles, mean, std, min and max, and the worst and best titles."""
    f1 = per_article.set_index("title")["f1"]
    return pd.Series(
        {
            "articles": len(f1),
            "mean": f1.mean(),
            "std": f1.std(ddof=1),
            "min": f1.min(),
            "max": f1.max(),
            "worst": f1.idxmin(),
            "best": f1.idxmax(),
        }
    )


@dataclass(frozen=True)
class TopicSplit:
    """Article titles whose questions a model may train on (seen) or not (unseen)."""

    seen: tuple[str, ...]
    unseen: tuple[str, ...]


def split_topics(examples: Dataset, unseen_fraction: float = 0.2, seed: int = 0) -> TopicSplit:
    """Split the articles (titles) of `examples` at random into seen and unseen topics."""
    titles = sorted(set(examples["title"]))
    if len(titles) < 2:
        raise ValueError(f"a topic split needs at least two articles, got {len(titles)}")
    if not 0 < unseen_fraction < 1:
        raise ValueError(f"unseen_fraction must be between 0 and 1, got {unseen_fraction}")
    n_unseen = min(max(1, round(unseen_fraction * len(titles))), len(titles) - 1)
    unseen = set(np.random.default_rng(seed).choice(titles, n_unseen, replace=False).tolist())
    return TopicSplit(tuple(t for t in titles if t not in unseen), tuple(sorted(unseen)))


def topic_datasets(
    examples: Dataset,
    split: TopicSplit,
    n_train: int = 0,
    n_eval: int = 0,
    holdout_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[Dataset, Dataset, Dataset]:
    """Training questions of seen topics, and evaluation questions of seen and unseen topics.

    Seen-topic evaluation questions come from held-out paragraphs of the seen articles, so
    the comparison is "same topics, new passages" against "new topics"; 0 sizes mean all.

    Returns:
        (train, seen_eval, unseen_eval).
    """
    from qa_utils.core.data import subset

    titles, contexts = np.array(examples["title"]), np.array(examples["context"])
    seen = np.isin(titles, split.seen)
    paragraphs = np.unique(contexts[seen])
    rng = np.random.default_rng(seed)
    held = rng.choice(paragraphs, round(holdout_fraction * len(paragraphs)), replace=False)
    held_out = seen & np.isin(contexts, held)
    parts = (seen & ~held_out, held_out, ~seen)
    sets = [examples.select(np.flatnonzero(mask)) for mask in parts]
    sizes = (n_train, n_eval, n_eval)
    train, seen_eval, unseen_eval = (
        subset(d, n, seed) if n and len(d) else d for d, n in zip(sets, sizes, strict=True)
    )
    return train, seen_eval, unseen_eval


def compare_topics(
    seen: pd.DataFrame, unseen: pd.DataFrame, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """EM/F1 on seen and unseen topics and their difference (seen minus unseen), with CIs.

    The two groups hold different questions, so intervals come from resampling each group
    on its own (an unpaired bootstrap), not from the paired test used for perturbations.
    """
    rows = []
    for name, group in (("seen topics", seen), ("unseen topics", unseen)):
        low, high = bootstrap_ci(group[["em", "f1"]].to_numpy(), n_resamples, seed)
        rows.append(
            {
                "group": name,
                "n": len(group),
                "em": group["em"].mean(),
                "f1": group["f1"].mean(),
                "f1_low": low[1],
                "f1_high": high[1],
            }
        )
    diff, low, high = unpaired_difference(seen["f1"], unseen["f1"], n_resamples, seed)
    rows.append(
        {
            "group": "difference",
            "n": len(seen) + len(unseen),
            "em": seen["em"].mean() - unseen["em"].mean(),
            "f1": diff,
            "f1_low": low,
            "f1_high": high,
        }
    )
    return pd.DataFrame(rows)
