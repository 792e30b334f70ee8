"""Notebook 03's helpers: published SQuAD v1.1 dev-set scores and the chapter's claim, to put our
own numbers in context, and one question's answer candidates across its windows.

Every score here is a citation (a constant with its source), never a measurement of ours.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from transformers import PreTrainedTokenizerBase

from qa_utils.analysis.tables import overall_metrics
from qa_utils.core.features import prepare_eval_features
from qa_utils.project.config import EMBEDDED_MODEL, InferenceSettings


@dataclass(frozen=True)
class Reference:
    """A cited EM / F1 on the SQuAD v1.1 development set."""

    system: str
    exact_match: float
    f1: float
    source: str
    bert_base: bool = False


CHAPTER = Reference(
    "bert-base-uncased, as the chapter reports",
    83.1,
    89.4,
    "the chapter's reported result for bert-base-uncased (EM 83.1 / F1 89.4)",
    bert_base=True,
)
PUBLISHED = (
    Reference(
        "BERT-base (Devlin et al., 2019)",
        80.8,
        88.5,
        "Devlin et al. (2019), BERT, Table 2 (single model, dev)",
        bert_base=True,
    ),
    Reference(
        "BERT-base, transformers example",
        81.2,
        88.5,
        "transformers examples/pytorch/question-answering README (run_qa.py, bert-base-uncased,"
        " 2 epochs: exact_match 81.22, f1 88.52)",
        bert_base=True,
    ),
    Reference(
        "DistilBERT (Sanh et al., 2019)",
        77.7,
        85.8,
        "Sanh et al. (2019), DistilBERT, Table 2 (dev)",
    ),
    Reference(
        "Human (Rajpurkar et al., 2016)",
        80.3,
        90.5,
        "Rajpurkar et al. (2016), SQuAD, Table 2 (human performance, dev)",
    ),
)

COLUMNS = ["system", "kind", "bert_base", "exact_match", "f1", "f1_low", "f1_high", "source"]


def model_name(model: str) -> str:
    """A profile's model as a reader would name it: the embedded MiniLM, else its Hub name.

    >>> model_name("embedded"), model_name("google-bert/bert-base-uncased")
    ('embedded MiniLM-L6-H384', 'bert-base-uncased')
    """
    return "embedded MiniLM-L6-H384" if model == EMBEDDED_MODEL else model.split("/")[-1]


def headline_table(
    records: pd.DataFrame, label: str, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """The chapter's claim, the published scores and ours (with its 95% bootstrap F1 interval).

    Args:
        records: our per-example table (columns `em` and `f1`, in percent).
        label: the name of our row.

    Returns:
        One row per system; `kind` says "claim", "published" or "measured", `bert_base` marks
        BERT-base scores, and only the measured row has an interval (cited scores come without
        one).
    """
    rows = [
        (ref.system, kind, ref.bert_base, ref.exact_match, ref.f1, math.nan, math.nan, ref.source)
        for ref, kind in [(CHAPTER, "claim"), *((r, "published") for r in PUBLISHED)]
    ]
    ours = overall_metrics(records, n_resamples, seed).iloc[0]
    rows.append(
        (
            label,
            "measured",
            False,
            ours["em"],
            ours["f1"],
            ours["f1_low"],
            ours["f1_high"],
            "this run",
        )
    )
    return pd.DataFrame(rows, columns=COLUMNS)


def headline_view(table: pd.DataFrame) -> pd.DataFrame:
    """`headline_table` for reading: EM and F1 to one decimal, and one "F1 95% CI" column that
    is blank for cited scores (they come without an interval)."""
    interval = [
        "" if math.isnan(low) else f"{low:.1f}–{high:.1f}"
        for low, high in zip(table["f1_low"], table["f1_high"], strict=True)
    ]
    return pd.DataFrame(
        {
            "system": table["system"],
            "kind": table["kind"],
            "EM": table["exact_match"].round(1),
            "F1": table["f1"].round(1),
            "F1 95% CI": interval,
        }
    )


def f1_text(row: pd.Series) -> str:
    """A measured row's F1 with its interval, e.g. 'F1 70.9 (95% bootstrap interval 70.2–71.7)'."""
    return f"F1 {row['f1']:.1f} (95% bootstrap interval {row['f1_low']:.1f}–{row['f1_high']:.1f})"


def measured_sentence(table: pd.DataFrame) -> str:
    """Our measured EM and F1, and how far our F1 is from the best published BERT-base F1.

    >>> table = pd.DataFrame({"system": ["A", "ours"], "kind": ["published", "measured"],
    ...     "bert_base": [True, False], "exact_match": [80.8, 59.0], "f1": [88.5, 70.9],
    ...     "f1_low": [math.nan, 70.2], "f1_high": [math.nan, 71.7]})
    >>> print(measured_sentence(table))  # doctest: +NORMALIZE_WHITESPACE
    Our model measures EM 59.0 / F1 70.9 (95% bootstrap interval 70.2–71.7): 17.6 F1 points
    below the best published BERT-base F1, 88.5.
    """
    ours = table[table["kind"] == "measured"].iloc[0]
    base = table[(table["kind"] == "published") & table["bert_base"]]
    best = base.loc[base["f1"].idxmax()]
    gap = ours["f1"] - best["f1"]
    return (
        f"Our model measures EM {ours['exact_match']:.1f} / {f1_text(ours)}: {abs(gap):.1f} F1 "
        f"points {'below' if gap < 0 else 'above'} the best published BERT-base F1, "
        f"{best['f1']:.1f}."
    )


def claim_sentence(claim: Reference = CHAPTER, published: tuple[Reference, ...] = PUBLISHED) -> str:
    """Say how the chapter's bert-base scores stand against every published bert-base score.

    >>> print(claim_sentence())  # doctest: +NORMALIZE_WHITESPACE
    The chapter's EM 83.1 / F1 89.4 is above every published bert-base result we know: the best
    of them reach EM 81.2 and F1 88.5, so the claim is 1.9 EM and 0.9 F1 points higher.
    """
    base = [ref for ref in published if ref.bert_base]
    best_em, best_f1 = max(r.exact_match for r in base), max(r.f1 for r in base)
    above = claim.exact_match > best_em and claim.f1 > best_f1
    verdict = "above every" if above else "not above every"
    return (
        f"The chapter's EM {claim.exact_match:.1f} / F1 {claim.f1:.1f} is {verdict} published "
        f"bert-base result we know: the best of them reach EM {best_em:.1f} and F1 "
        f"{best_f1:.1f}, so the claim is {claim.exact_match - best_em:.1f} EM and "
        f"{claim.f1 - best_f1:.1f} F1 points higher."
    )


REFERENCE_GPU = "one NVIDIA V100 16GB"
REFERENCE_WINDOWS_PER_SECOND = 2 * 88_524 / (24 * 60)
"""Training windows per second of bert-base at 384 tokens on `REFERENCE_GPU`, derived from the
transformers question-answering README ("It runs in 24 min (with BERT-base) ... on a single tesla
V100 16GB": 2 epochs of SQuAD v1.1's 88,524 training windows at batch 12). An assumption for
an estimate, not a measurement of ours."""


@dataclass(frozen=True)
class FullRunEstimate:
    """What training the `full` profile costs, estimated from an assumed throughput."""

    windows: int
    epochs: float
    batch_size: int
    steps: int
    minutes: float
    windows_per_second: float
    gpu: str


def full_run_estimate(
    windows: int,
    epochs: float,
    batch_size: int,
    windows_per_second: float = REFERENCE_WINDOWS_PER_SECOND,
    gpu: str = REFERENCE_GPU,
) -> FullRunEstimate:
    """Optimizer steps and training minutes for `windows` training windows over `epochs`.

    >>> e = full_run_estimate(88_524, 3, 16)
    >>> e.steps, round(e.minutes)
    (16599, 36)
    """
    steps = math.ceil(math.ceil(windows / batch_size) * epochs)
    minutes = windows * epochs / windows_per_second / 60
    return FullRunEstimate(windows, epochs, batch_size, steps, minutes, windows_per_second, gpu)


FULL_COMMANDS = (
    "python -m qa_utils train --profile full --output runs/full/model",
    "python -m qa_utils evaluate --profile full --model runs/full/model --output runs/full/eval",
)
"""How to check the chapter's claim: the `full` profile (bert-base-uncased, 3 epochs, lr 2e-5,
batch 16, bf16) on a GPU, with the Hub reachable for the weights (or `--model FOLDER`)."""


def estimate_sentence(estimate: FullRunEstimate) -> str:
    """The full run's estimated cost in words, with its throughput assumption."""
    return (
        f"Estimate, not a measurement: {estimate.windows:,} training windows x "
        f"{estimate.epochs:g} epochs = {estimate.steps:,} steps of {estimate.batch_size}; at "
        f"{estimate.windows_per_second:.0f} windows/s (the transformers README's bert-base timing "
        f"on {estimate.gpu}; a newer GPU with bf16 should be faster) that is about "
        f"{estimate.minutes:.0f} minutes of training, plus a few minutes to evaluate the dev set."
    )


def window_ranges(
    question: str, context: str, tokenizer: PreTrainedTokenizerBase, settings: InferenceSettings
) -> list[tuple[int, int]]:
    """The characters of `context` (start, end exclusive) that each evaluation window covers,
    built as evaluation builds them (`prepare_eval_features`)."""
    batch = {"id": ["q"], "question": [question], "context": [context]}
    windows = prepare_eval_features(batch, tokenizer, settings.max_length, settings.doc_stride)
    spans = [[o for o in offsets if o is not None] for offsets in windows["offset_mapping"]]
    return [(window[0][0], window[-1][1]) for window in spans]


def candidates_table(
    candidates: list[dict[str, Any]], ranges: list[tuple[int, int]], n: int = 5
) -> pd.DataFrame:
    """The first `n` n-best candidates of a question (nbest.json), with the windows holding each.

    >>> nbest = [{"text": "b", "start": 6, "end": 7, "score": 2.0, "probability": 0.7},
    ...          {"text": "a", "start": 0, "end": 1, "score": 1.0, "probability": 0.3}]
    >>> candidates_table(nbest, [(0, 5), (4, 9)])["windows"].tolist()
    ['1', '0']
    """
    rows = [
        {
            **{key: c[key] for key in ("text", "start", "end", "score", "probability")},
            "windows": ", ".join(
                str(i)
                for i, (low, high) in enumerate(ranges)
                if low <= c["start"] < c["end"] <= high
            ),
        }
        for c in candidates[:n]
    ]
    return pd.DataFrame(rows)
