"""SQuAD 2.0 for notebook 07 and `benchmarks/unanswerable.py`: the dev set split by article,
a model's predictions before any threshold, and one way's row of the four-way comparison.

The SQuAD 2.0 dev set is split by article into two halves (`dev_splits`). The report half is
only ever scored; the other half gives route (b)'s training questions and, from held-out
paragraphs, the validation slice on which every threshold is chosen.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pandas as pd
from datasets import Dataset

from qa_utils.analysis.unanswerable import breakdown
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.postprocess import Prediction, at_threshold
from qa_utils.core.records import build_records, tune_null_threshold
from qa_utils.project.config import InferenceSettings
from qa_utils.project.paths import project_root, shared_dir
from qa_utils.robustness.shift import split_topics, topic_datasets

DEV_V2 = "dev-v2.0-rebuilt.json"
VALIDATION_SHARE = 0.2
"""Share of the training half's paragraphs held out as the validation slice."""

REFERENCE = "unanswerable.csv"
"""The committed four-way comparison, under benchmarks/reference/."""


def dev_v2_path() -> Path:
    """The SQuAD 2.0 dev set beside the project."""
    return shared_dir() / "squad" / DEV_V2


def dev_splits(
    dev: Dataset, questions: int = 0, train_questions: int = 0, seed: int = 0
) -> dict[str, Dataset]:
    """Route (b)'s training questions, the validation slice and the report half, by article.

    Args:
        dev: the SQuAD 2.0 dev set.
        questions: validation and report questions drawn at most (0: all).
        train_questions: training questions drawn at most (0: all).
        seed: seed of the split and of the draws.

    Returns:
        {"train_b", "validation", "report"}: the report half's articles appear in neither of
        the others; validation paragraphs are not in train_b.
    """
    halves = split_topics(dev, unseen_fraction=0.5, seed=seed)
    train_b, validation, report = topic_datasets(
        dev, halves, train_questions, questions, VALIDATION_SHARE, seed
    )
    return {"train_b": train_b, "validation": validation, "report": report}


def undecided(
    model_dir: str | Path, examples: Dataset, settings: InferenceSettings
) -> dict[str, Prediction]:
    """A model's predictions with their no-answer scores, not yet decided (threshold inf)."""
    never = dataclasses.replace(settings, null_threshold=math.inf)
    net, tokenizer = load_qa_model(model_dir), load_tokenizer(model_dir)
    return infer(net, tokenizer, examples, never).predictions


def tuned_threshold(
    model_dir: str | Path, validation: Dataset, settings: InferenceSettings
) -> float:
    """The threshold with the best F1 on the validation slice."""
    return tune_null_threshold(validation, undecided(model_dir, validation, settings))[1]


def decided_table(
    examples: Dataset, predictions: dict[str, Prediction], threshold: float
) -> pd.DataFrame:
    """The per-example table of the predictions decided at `threshold` (inf: never abstain)."""
    decided = {k: at_threshold(p, threshold) for k, p in predictions.items()}
    return build_records(examples, decided).table


def way_rows(
    name: str, table: pd.DataFrame, threshold: float, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """One way's EM/F1 with intervals over all, HasAns and NoAns questions, and abstained shares.

    Args:
        name: the way, as the comparison names it.
        table: its per-example table on the report half (`decided_table`).
        threshold: the threshold it was decided at (a column of the result).
        n_resamples: bootstrap resamples of each interval.
        seed: seed of the bootstrap.
    """
    rows = breakdown(table, n_resamples, seed)
    impossible = table["is_impossible"]
    masks = (impossible | True, ~impossible, impossible)
    shares = [float(table["abstained"][mask].mean()) for mask in masks]
    return rows.assign(way=name, threshold=threshold, abstained=shares)


def reference_comparison(folder: str | Path | None = None) -> pd.DataFrame | None:
    """The committed four-way comparison (None in a copy of the project without it)."""
    path = Path(folder or project_root() / "benchmarks" / "reference") / REFERENCE
    return pd.read_csv(path) if path.is_file() else None


GROUPS = {"all": "overall", "HasAns": "HasAns", "NoAns": "NoAns"}


def f1_text(rows: pd.DataFrame, way: str, group: str = "all") -> str:
    """A way's F1 with its 95% interval, as "58.3 [56.1, 60.4]".

    >>> rows = pd.DataFrame({"way": ["w"], "group": ["all"], "f1": [58.31],
    ...                      "f1_low": [56.08], "f1_high": [60.44]})
    >>> f1_text(rows, "w")
    '58.3 [56.1, 60.4]'
    """
    row = rows[(rows["way"] == way) & (rows["group"] == group)].iloc[0]
    return f"{row['f1']:.1f} [{row['f1_low']:.1f}, {row['f1_high']:.1f}]"


def versus_text(rows: pd.DataFrame, way: str, base: str) -> str:
    """How `way`'s overall F1 stands against `base`'s, judged by their 95% intervals.

    Non-overlapping intervals are a conservative reading of a difference (the rows are not
    paired here); overlapping ones mean this comparison cannot order the two.

    >>> rows = pd.DataFrame({"way": ["a", "b", "c"], "group": ["all"] * 3, "f1": [54.5, 54.3, 60.0],
    ...                      "f1_low": [52.3, 52.0, 58.0], "f1_high": [56.8, 56.6, 62.0]})
    >>> versus_text(rows, "a", "b")
    'a, 54.5 [52.3, 56.8], cannot be told apart from b, 54.3 [52.0, 56.6] (the intervals overlap)'
    >>> versus_text(rows, "c", "b")
    'c, 60.0 [58.0, 62.0], is above b, 54.3 [52.0, 56.6] (the intervals do not overlap)'
    """

    def row(name: str) -> pd.Series:
        return rows[(rows["way"] == name) & (rows["group"] == "all")].iloc[0]

    one, other = row(way), row(base)
    if one["f1_low"] > other["f1_high"]:
        verdict = "is above"
    elif one["f1_high"] < other["f1_low"]:
        verdict = "is below"
    else:
        return (
            f"{way}, {f1_text(rows, way)}, cannot be told apart from {base}, "
            f"{f1_text(rows, base)} (the intervals overlap)"
        )
    return (
        f"{way}, {f1_text(rows, way)}, {verdict} {base}, {f1_text(rows, base)} "
        "(the intervals do not overlap)"
    )


def comparison_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per way: overall, HasAns and NoAns F1 with intervals, threshold, abstained share.

    Args:
        rows: `way_rows` of one or more ways (the committed comparison has this shape).
    """
    ways = list(dict.fromkeys(rows["way"]))
    table = pd.DataFrame(
        {
            f"{label} F1 [95% CI]": [f1_text(rows, w, g) for w in ways]
            for g, label in GROUPS.items()
        },
        index=pd.Index(ways, name="way"),
    )
    overall = rows[rows["group"] == "all"].set_index("way").loc[ways]
    table["threshold"] = overall["threshold"].round(3)
    table["abstained"] = overall["abstained"].map("{:.0%}".format)
    table["questions"] = overall["n"]
    return table
