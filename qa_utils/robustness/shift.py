"""Distribution shift: the same task on other text (SQuADShifts), and topics inside SQuAD.

Real shift: `load_sets` reads named evaluation sets (`qa_utils.core.eval_sets`), `answer_sets`
answers them with one model through the one inference path and keeps each set's per-example
table and speed, and `shift_table` gives EM/F1 per set with bootstrap intervals and the drop
against the reference set (SQuAD dev) with an independent-samples interval: the sets hold
different questions, so nothing can be paired.

Inside SQuAD: `split_topics` / `topic_datasets` hold out whole articles (the SQuAD 2.0
experiment of `qa_utils.chapter.unanswerable` trains on some articles and reports on others).
Whether articles differ more than sampling noise explains is tested in notebook 04.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset

from qa_utils.analysis.stats import bootstrap_means, unpaired_difference
from qa_utils.analysis.tables import metric_row
from qa_utils.core.data import load_squad, subset
from qa_utils.core.eval_sets import eval_set_path
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.project.config import Profile
from qa_utils.project.paths import REPO_ROOT
from qa_utils.robustness.probes import quiet_progress

REFERENCE_SET = "squad/dev"
"""The set every drop is measured against."""

SCORE = "score_s"
"""`SetResult.seconds` key of the time spent building and scoring the per-example table."""


def load_sets(
    names: Sequence[str], n_questions: int | None = None, seed: int = 0
) -> dict[str, Dataset]:
    """Load named evaluation sets, each cut to `n_questions` drawn at random (None: all)."""
    sets = {}
    for name in names:
        data = load_squad(eval_set_path(name))
        sets[name] = subset(data, n_questions, seed) if n_questions else data
    return sets


@dataclass
class SetResult:
    """One set answered: its per-example table and the seconds of each inference stage."""

    table: pd.DataFrame
    seconds: dict[str, float]

    @property
    def questions_per_second(self) -> float:
        """Questions answered per second, windows to answers (tokenizing, model, decoding)."""
        answering = sum(v for k, v in self.seconds.items() if k != SCORE)
        return len(self.table) / max(answering, 1e-9)


def answer_sets(
    model: str | Path, profile: Profile, sets: Mapping[str, Dataset]
) -> dict[str, SetResult]:
    """Answer every set with one model (loaded once) and the profile's inference settings."""
    tokenizer, net = load_tokenizer(model), load_qa_model(model)
    results = {}
    for name, examples in sets.items():
        with quiet_progress():
            inference = infer(net, tokenizer, examples, profile.inference)
            clock = time.perf_counter()
            table = inference.records().table
        results[name] = SetResult(table, {**inference.seconds, SCORE: time.perf_counter() - clock})
    return results


def shift_row(
    name: str, table: pd.DataFrame, reference: pd.DataFrame, n_resamples: int, seed: int
) -> dict:
    """EM/F1 of one set with intervals, and its F1 and EM drops against the reference set."""
    scores = metric_row(table, n_resamples, seed, min_size=0)
    del scores["small"]  # a whole evaluation set is never a small slice
    drop, drop_low, drop_high = unpaired_difference(
        reference["f1"].to_numpy(), table["f1"].to_numpy(), n_resamples, seed
    )
    return {
        "set": name,
        **scores,
        "drop": drop,
        "drop_low": drop_low,
        "drop_high": drop_high,
        "em_drop": reference["em"].mean() - table["em"].mean(),
    }


def shift_table(
    tables: Mapping[str, pd.DataFrame],
    reference: str = REFERENCE_SET,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """EM/F1 per set with 95% bootstrap intervals, and the F1 drop against `reference`.

    The drop (reference F1 minus the set's) gets a percentile interval from resampling the two
    sets independently (`qa_utils.analysis.stats.unpaired_difference`); it is 0 for the
    reference itself.

    Returns:
        One row per set, the reference first: set, n, em, em_low, em_high, f1, f1_low,
        f1_high, drop, drop_low, drop_high, em_drop.
    """
    if reference not in tables:
        raise KeyError(f"the reference set {reference!r} is not among {list(tables)}")
    names = [reference, *(name for name in tables if name != reference)]
    rows = [shift_row(n, tables[n], tables[reference], n_resamples, seed) for n in names]
    return pd.DataFrame(rows)


def bootstrap_by_set(
    tables: Mapping[str, pd.DataFrame], n_resamples: int = 1000, seed: int = 0
) -> dict[str, np.ndarray]:
    """Bootstrap means of every set's per-question F1 (each set on its own seed)."""
    return {
        name: bootstrap_means(table["f1"], n_resamples, seed + k)
        for k, (name, table) in enumerate(tables.items())
    }


def set_overview(sets: Mapping[str, Dataset]) -> pd.DataFrame:
    """Per set: questions, articles, distinct contexts and mean context length in words."""
    rows = []
    for name, data in sets.items():
        contexts = pd.Series(data["context"])
        rows.append(
            {
                "set": name,
                "questions": len(data),
                "articles": len(set(data["title"])),
                "contexts": contexts.nunique(),
                "context_words": contexts.str.split().str.len().mean(),
            }
        )
    return pd.DataFrame(rows)


def committed(name: str, root: Path = REPO_ROOT) -> pd.DataFrame:
    """A committed benchmark table, `benchmarks/reference/<name>.csv` (e.g. "shift")."""
    path = root / "benchmarks" / "reference" / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no committed table (run python -m benchmarks.shift)")
    return pd.read_csv(path)


def interval(value: float, low: float, high: float) -> str:
    """A value with its interval, for reading: '71.2 [69.9, 72.5]'.

    >>> interval(71.234, 69.91, 72.5)
    '71.2 [69.9, 72.5]'
    """
    return f"{value:.1f} [{low:.1f}, {high:.1f}]"


def beside_reference(ours: pd.DataFrame, full: pd.DataFrame) -> pd.DataFrame:
    """Our subset's F1 and drop beside the committed full run's, one row per set.

    The reference set's drop cells are blank: it is not compared with itself.
    """
    rows = []
    for mine, theirs in zip(
        ours.itertuples(), full.set_index("set").loc[ours["set"]].itertuples(), strict=True
    ):
        reference = mine.set == REFERENCE_SET
        rows.append(
            {
                "set": mine.set,
                "n here": mine.n,
                "F1 here": interval(mine.f1, mine.f1_low, mine.f1_high),
                "drop here": ""
                if reference
                else interval(mine.drop, mine.drop_low, mine.drop_high),
                "n full": theirs.n,
                "F1 full": interval(theirs.f1, theirs.f1_low, theirs.f1_high),
                "drop full": ""
                if reference
                else interval(theirs.drop, theirs.drop_low, theirs.drop_high),
            }
        )
    return pd.DataFrame(rows)


def pretraining_shares(config: str | Path, groups: Mapping[str, str]) -> pd.Series:
    """Share of a sentence-transformers training mix (its data_config.json) per group.

    Each dataset of the mix is sampled in proportion to its `weight`; a group is every
    dataset whose file name contains the group's pattern (e.g. {"Reddit": "reddit"}).
    """
    import json

    mix = pd.DataFrame(json.loads(Path(config).read_text()))
    total = mix["weight"].sum()
    return pd.Series(
        {
            label: mix.loc[mix["name"].str.contains(pattern, case=False), "weight"].sum() / total
            for label, pattern in groups.items()
        }  # fmt: skip
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
