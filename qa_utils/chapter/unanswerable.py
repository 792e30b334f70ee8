"""SQuAD 2.0 for notebook 07 and `benchmarks/unanswerable.py`: the dev set split by article,
a model's predictions before any threshold, and one way's row of the four-way comparison.

The SQuAD 2.0 dev set is split by article into two halves (`dev_splits`). The report half is
only ever scored; the other half gives route (b)'s training questions and, from held-out
paragraphs, the validation slice on which every threshold is chosen.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import pandas as pd
from datasets import Dataset

from qa_utils.analysis.unanswerable import breakdown, curve_at, lowest_risk, to_null_diff
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.postprocess import Prediction, at_threshold, sigmoid
from qa_utils.core.records import build_records, tune_null_threshold
from qa_utils.project.config import InferenceSettings
from qa_utils.project.paths import project_root, shared_dir
from qa_utils.robustness.shift import split_topics, topic_datasets

DEV_V2 = "dev-v2.0-rebuilt.json"
VALIDATION_SHARE = 0.2
"""Share of the training half's paragraphs held out as the validation slice."""

REFERENCE = "unanswerable.csv"
"""The committed four-way comparison, under benchmarks/reference/."""
REFERENCE_META = "unanswerable_meta.json"
"""Its sizes and seed, beside it."""
BASE_START = "base encoder"
"""What the v1.1 model was fine-tuned from (the reference's `start` of its rows)."""
MIN_QUESTIONS = 20
"""Fewer questions than this give a rate or a risk too noisy to quote."""


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


def reference_folder(folder: str | Path | None = None) -> Path:
    """Where the committed comparison lies (benchmarks/reference/ unless told)."""
    return Path(folder or project_root() / "benchmarks" / "reference")


def reference_comparison(folder: str | Path | None = None) -> pd.DataFrame | None:
    """The committed four-way comparison (None in a copy of the project without it)."""
    path = reference_folder(folder) / REFERENCE
    return pd.read_csv(path) if path.is_file() else None


def training_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per way: what it was trained from, on how many questions, how many unanswerable.

    The v1.1 model's rows carry no `start` in the committed comparison: that model was
    fine-tuned from the profile's base encoder, which is what they read here.

    >>> rows = pd.DataFrame({"way": ["v1.1", "route (a)"], "group": ["all"] * 2,
    ...                      "start": [None, "v1.1 model"], "train_questions": [16000, 1500],
    ...                      "train_unanswerable": [0, 500]})
    >>> training_table(rows)["start"].tolist()
    ['base encoder', 'v1.1 model']
    """
    table = rows[rows["group"] == "all"].drop_duplicates("way").set_index("way")
    table = table[["start", "train_questions", "train_unanswerable"]].copy()
    table["start"] = table["start"].fillna(BASE_START).replace("", BASE_START)
    return table


def reference_meta(folder: str | Path | None = None) -> dict | None:
    """The committed comparison's sizes and seed (None without the file)."""
    path = reference_folder(folder) / REFERENCE_META
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


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
    >>> versus_text(rows, "a", "b")[-76:]
    'their unpaired 95% intervals overlap, so this comparison does not order them'
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
            f"{way}, {f1_text(rows, way)}, against {base}, {f1_text(rows, base)}: their "
            "unpaired 95% intervals overlap, so this comparison does not order them"
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


def route_a_text(sizes: pd.DataFrame) -> str:
    """What route (a) trained on, from the comparison's `all` rows indexed by way.

    >>> sizes = pd.DataFrame({"train_questions": [1500], "train_unanswerable": [500],
    ...                       "start": ["v1.1 model"]}, index=["route (a)"])
    >>> route_a_text(sizes)
    '1,500 SQuAD v1.1 questions of which 500 made unanswerable (started from the v1.1 model)'
    """
    row = sizes.loc["route (a)"]
    return (
        f"{int(row['train_questions']):,} SQuAD v1.1 questions of which "
        f"{int(row['train_unanswerable']):,} made unanswerable (started from the {row['start']})"
    )


def route_b_text(sizes: pd.DataFrame, pool: int | None = None) -> str:
    """What route (b) trained on: a draw of the training half's `pool` questions (if known).

    >>> sizes = pd.DataFrame({"train_questions": [1500, 1500], "train_unanswerable": [500, 722],
    ...                       "start": ["v1.1 model"] * 2}, index=["route (a)", "route (b)"])
    >>> route_b_text(sizes, 4400)
    "a draw of 1,500 of the training half's 4,400 real SQuAD 2.0 questions (722 unanswerable; \
as many questions as route (a); started from the v1.1 model)"
    """
    row = sizes.loc["route (b)"]
    drawn = int(row["train_questions"])
    if pool == drawn:
        what = f"all {drawn:,} of the training half's"
    else:
        what = f"a draw of {drawn:,} of the training half's" + (f" {pool:,}" if pool else "")
    same = "route (a)" in sizes.index and drawn == sizes.loc["route (a)", "train_questions"]
    return (
        f"{what} real SQuAD 2.0 questions ({int(row['train_unanswerable']):,} unanswerable; "
        + ("as many questions as route (a); " if same else "")
        + f"started from the {row['start']})"
    )


def threshold_text(curve: pd.DataFrame, threshold: float, best: pd.Series) -> str:
    """The report half at the validation's threshold T against the best one in hindsight.

    Thresholds are given as T (null_diff) like the figure's axis; the gap is that of the
    rounded scores shown.

    Args:
        curve: `threshold_curve` of the report half (na_prob thresholds).
        threshold: T chosen on the validation slice.
        best: `best_row(curve)`.

    >>> curve = pd.DataFrame({"threshold": [-math.inf, 0.2, 0.6], "score": [50.0, 56.04, 56.66],
    ...                       "answered": [0.0, 0.2, 0.3]})
    >>> threshold_text(curve, -1.0, curve.iloc[2])  # doctest: +NORMALIZE_WHITESPACE
    'At the threshold chosen on the validation slice, T = -1.00, the report half scores F1 56.0
    (answering 20% of its questions); the best threshold in hindsight, T = 0.41, would give 56.7,
    0.7 points more: the price of choosing on other articles. Abstaining on every question
    scores 50.0.'
    """
    chosen = curve_at(curve, sigmoid(threshold))
    shown, best_shown = round(float(chosen["score"]), 1), round(float(best["score"]), 1)
    best_t = float(to_null_diff(best["threshold"], finite=False))
    return (
        f"At the threshold chosen on the validation slice, T = {threshold:.2f}, the report half "
        f"scores F1 {shown:.1f} (answering {chosen['answered']:.0%} of its questions); the best "
        f"threshold in hindsight, T = {best_t:.2f}, would give "
        f"{best_shown:.1f}, {best_shown - shown:.1f} points more: the price of choosing on other "
        f"articles. Abstaining on every question scores {curve['score'].iloc[0]:.1f}."
    )


def coverage_text(
    coverage: pd.DataFrame, aurc: float, questions: int, min_questions: int = MIN_QUESTIONS
) -> str:
    """The AURC against a chance ranking's, the risk at half coverage and the lowest risk.

    A ranking no better than chance keeps, on average, the risk of answering every question
    at every coverage, so its AURC is that risk.

    >>> curve = pd.DataFrame({"coverage": [0.25, 0.5, 0.75, 1.0], "risk": [0.5, 0.1, 0.2, 0.4]})
    >>> coverage_text(curve, 0.3, 4, min_questions=1)  # doctest: +NORMALIZE_WHITESPACE
    'The area under the curve (AURC) is 0.300, against 0.400 for a ranking no better than chance
    (its risk stays at that of answering every question): ranking by na_prob lowers the mean risk
    by 0.100. Answering only the surest 50%, the risk is 0.10; it is lowest, 0.10, answering the
    surest 50% (2 questions).'
    """
    chance, shown = round(float(coverage["risk"].iloc[-1]), 3), round(aurc, 3)
    half = coverage[coverage["coverage"] >= 0.5].iloc[0]
    low = lowest_risk(coverage, questions, min_questions)
    verdict = (
        f"lowers the mean risk by {chance - shown:.3f}"
        if shown < chance
        else "does no better than chance"
    )
    floor = f"; coverages of fewer than {min_questions} left out" if min_questions > 1 else ""
    return (
        f"The area under the curve (AURC) is {shown:.3f}, against {chance:.3f} for a ranking no "
        "better than chance (its risk stays at that of answering every question): ranking by "
        f"na_prob {verdict}. Answering only the surest {half['coverage']:.0%}, the risk is "
        f"{half['risk']:.2f}; it is lowest, {low['risk']:.2f}, answering the surest "
        f"{low['coverage']:.0%} ({round(low['coverage'] * questions):,} questions{floor})."
    )


def calibration_text(calibration: pd.DataFrame, min_count: int = MIN_QUESTIONS) -> str:
    """Where the questions of a reliability diagram lie: the bins worth reading, the rest.

    >>> table = pd.DataFrame({"lower": [0.0, 0.5], "upper": [0.5, 1.0], "n": [98, 2],
    ...                       "confidence": [0.01, 0.9], "accuracy": [0.5, 1.0]})
    >>> calibration_text(table)  # doctest: +NORMALIZE_WHITESPACE
    '98 of the 100 questions lie in na_prob 0.0-0.5, 50% of them unanswerable against a mean
    na_prob of 0.01; the other 2 lie in 1 bin of fewer than 20 questions (hatched), too few to
    read.'
    """
    total, few = int(calibration["n"].sum()), calibration[calibration["n"] < min_count]
    kept = calibration[calibration["n"] >= min_count]
    parts = [
        f"{int(b['n']):,} of the {total:,} questions lie in na_prob "
        f"{b['lower']:.1f}-{b['upper']:.1f}, {b['accuracy']:.0%} of them unanswerable against "
        f"a mean na_prob of {b['confidence']:.2f}"
        for _, b in kept.iterrows()
    ]
    rest, bins = int(few["n"].sum()), int((few["n"] > 0).sum())
    if rest:
        which, plural = "the other" if parts else "all", "s" if bins > 1 else ""
        parts.append(
            f"{which} {rest:,} lie in {bins} bin{plural} of fewer than {min_count} questions "
            "(hatched), too few to read"
        )
    return "; ".join(parts) + "."
