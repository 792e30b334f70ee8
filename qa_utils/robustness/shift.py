"""Domain shift inside SQuAD: scores by article, and models trained on some topics only.

`article_scores` / `article_spread` show how much F1 varies between articles;
`split_topics` / `topic_datasets` hold out whole articles, and `compare_topics` compares F1 on
seen and unseen topics with an unpaired bootstrap interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.analysis.stats import bootstrap_ci, unpaired_difference
from qa_utils.core.data import subset

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
