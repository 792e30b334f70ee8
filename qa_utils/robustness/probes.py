"""Robustness probes: answer clean and perturbed copies of the same questions, compare scores.

`model_predictor` answers through the one inference path; `answer_all` sends every distinct
(question, context) once, however many conditions share it; `robustness_table` gives F1 under
each perturbation (`qa_utils.robustness.perturb`) and its drop against the clean set with
paired bootstrap intervals (`qa_utils.analysis.stats`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset
from datasets.utils import logging as datasets_logging

from qa_utils.analysis.stats import bootstrap_ci, paired_test
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.core.records import build_records
from qa_utils.project.config import Profile
from qa_utils.robustness.perturb import Perturbation

Predictor = Callable[[Dataset], Mapping[str, str]]
"""Anything that answers every question of a Dataset (columns id, question, context):
{id: answer text}."""


@contextmanager
def quiet_progress() -> Iterator[None]:
    """Silence datasets' progress bars inside the block (one bar per perturbation is noise)."""
    enabled = datasets_logging.is_progress_bar_enabled()
    datasets_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            datasets_logging.enable_progress_bar()


STAGES = {"features": "features_s", "model": "predict_s", "postprocess": "postprocess_s"}
"""Stage names of `model_predictor` timings and the `Inference.seconds` key of each."""


def model_predictor(
    model: str | Path,
    profile: Profile,
    batch_size: int = 0,
    timings: dict[str, float] | None = None,
) -> Predictor:
    """Load a model once and answer Datasets through the one inference path (`infer`).

    With the profile's inference settings (`batch_size` overrides its batch). When `timings`
    is given, the seconds spent in each stage ("features", "model", "postprocess") are added to
    it on every call.
    """
    tokenizer, net = load_tokenizer(model), load_qa_model(model)
    settings = profile.inference
    if batch_size:
        settings = dataclasses.replace(settings, batch_size=batch_size)
    spent = {} if timings is None else timings

    def predict(examples: Dataset) -> dict[str, str]:
        with quiet_progress():
            result = infer(net, tokenizer, examples, settings)
        for stage_name, key in STAGES.items():
            spent[stage_name] = spent.get(stage_name, 0.0) + result.seconds[key]
        return result.answers

    return predict


def distinct_inputs(datasets: Sequence[Dataset]) -> tuple[Dataset, list[list[str]]]:
    """Every distinct (question, context) pair of `datasets` once, and the key of each row.

    Returns:
        A Dataset with columns id ("0", "1", ...), question and context, and for each
        dataset the id of the distinct input each of its rows maps to.
    """
    keys: dict[tuple[str, str], str] = {}
    rows = [
        [keys.setdefault(pair, str(len(keys))) for pair in zip(*inputs, strict=True)]
        for inputs in ((d["question"], d["context"]) for d in datasets)
    ]
    columns = {"id": list(keys.values()), "question": [q for q, _ in keys]}
    columns["context"] = [c for _, c in keys]
    return Dataset.from_dict(columns), rows


def answer_all(predict: Predictor, datasets: Sequence[Dataset]) -> list[dict[str, str]]:
    """Answer several datasets with one `predict` call that sees each distinct input once.

    The answers are those of calling `predict` on each dataset (an answer depends only on the
    question and the context), but inputs a perturbation left unchanged are not answered
    again, and the model batches the windows of all datasets together by length.

    Returns:
        For each dataset, {id: answer text}.
    """
    unique, rows = distinct_inputs(datasets)
    answers = predict(unique) if len(unique) else {}
    return [
        {i: answers[key] for i, key in zip(d["id"], keys, strict=True)}
        for d, keys in zip(datasets, rows, strict=True)
    ]


def score_table(examples: Dataset, predictions: Mapping[str, str]) -> pd.DataFrame:
    """Per question (dataset order): id, title, prediction, em, f1 (percent)."""
    table = build_records(examples, dict(predictions)).table
    return table[["id", "title", "prediction", "em", "f1"]].reset_index(drop=True)


def changed(clean: Dataset, perturbed: Dataset) -> np.ndarray:
    """Whether each question or context differs between the two datasets (same order)."""
    questions = np.array(clean["question"]) != np.array(perturbed["question"])
    return questions | (np.array(clean["context"]) != np.array(perturbed["context"]))


def perturb_all(examples: Dataset, probes: Mapping[str, Perturbation]) -> dict[str, Dataset]:
    """The clean examples (as "clean") and every perturbed copy, by condition name."""
    return {"clean": examples, **{name: perturb(examples) for name, perturb in probes.items()}}


def score_conditions(
    conditions: Mapping[str, Dataset], answers: Sequence[Mapping[str, str]]
) -> pd.DataFrame:
    """Long score table of the datasets of `perturb_all` and their answers (`answer_all`)."""
    clean, parts = conditions["clean"], []
    for (name, data), predictions in zip(conditions.items(), answers, strict=True):
        scores = score_table(data, predictions)
        parts.append(scores.assign(condition=name, changed=changed(clean, data)))
    table = pd.concat(parts, ignore_index=True)
    return table[["condition", "id", "title", "prediction", "em", "f1", "changed"]]


def evaluate_perturbations(
    predict: Predictor, examples: Dataset, probes: Mapping[str, Perturbation]
) -> pd.DataFrame:
    """Score the clean examples and every perturbed copy (answered in one `answer_all` call).

    Returns:
        Long table, one row per question and condition ("clean" first): condition, id, title,
        prediction, em, f1, changed (whether the perturbation altered the input).
    """
    conditions = perturb_all(examples, probes)
    return score_conditions(conditions, answer_all(predict, list(conditions.values())))


def robustness_table(
    scores: pd.DataFrame, n_resamples: int = 1000, seed: int = 0, reference: str = "clean"
) -> pd.DataFrame:
    """F1 per condition and its drop against `reference`, with 95% paired bootstrap intervals.

    The drop (reference minus condition, positive = worse) is computed on the same questions;
    its interval comes from resampling questions, and p_value from a paired sign-flip test
    (`qa_utils.analysis.stats.paired_test`).

    Returns:
        One row per condition: condition, n, changed (share of inputs altered), em, f1,
        f1_low, f1_high, drop, drop_low, drop_high, p_value.
    """
    wide = scores.pivot(index="id", columns="condition", values="f1")
    rows = []
    for name, group in scores.groupby("condition", sort=False):
        f1 = wide[name].to_numpy()
        low, high = bootstrap_ci(f1, n_resamples, seed)
        test = paired_test(wide[reference].to_numpy(), f1, n_resamples, seed)
        rows.append(
            {
                "condition": name,
                "n": len(group),
                "changed": float(group["changed"].mean()),
                "em": float(group["em"].mean()),
                "f1": float(f1.mean()),
                "f1_low": float(low),
                "f1_high": float(high),
                "drop": test.difference,
                "drop_low": test.ci_low,
                "drop_high": test.ci_high,
                "p_value": test.p_value,
            }
        )
    return pd.DataFrame(rows)


def flipped(scores: pd.DataFrame, condition: str, n: int = 5) -> pd.DataFrame:
    """Up to `n` questions answered exactly on the clean input but wrongly under `condition`.

    Returns:
        id, clean prediction and perturbed prediction, side by side.
    """
    wide = scores.pivot(index="id", columns="condition", values=["prediction", "em"])
    broken = wide[(wide[("em", "clean")] == 100) & (wide[("em", condition)] == 0)]
    table = broken["prediction"][["clean", condition]].head(n).reset_index()
    table.columns = ["id", "clean prediction", f"{condition} prediction"]
    return table
