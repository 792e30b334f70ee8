"""Memorisation, the simplest privacy signal: scores on trained and on unseen questions.

A model that scores better on the questions it was trained on than on new questions of the
same articles has memorised something about its training examples, and that gap is what a
membership-inference attack exploits (Shokri et al. 2017; Yeom et al. 2018: an attacker who
guesses "member" when the loss is low gains about as much as the generalisation gap). Three
groups, all from the training file, so that the only difference is what the model saw:

- trained: the profile's own training questions (`training.train.training_questions`);
- unseen, same articles: the other questions of the articles it was trained on;
- unseen articles: the validation split (`core.data.split_validation`), never trained on.

The membership AUC is the area under the ROC curve of a threshold attack that calls a
question "trained" when the model's confidence (or its F1) on it is high: 0.5 is chance.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from datasets import Dataset
from sklearn.metrics import roc_auc_score

from qa_utils.analysis.stats import bootstrap_ci, unpaired_difference
from qa_utils.core.data import split_validation, subset
from qa_utils.core.inference import infer
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.project.config import Profile
from qa_utils.training.train import training_questions

TRAINED, SAME_ARTICLES, UNSEEN_ARTICLES = "trained", "unseen, same articles", "unseen articles"


def memorisation_sets(pool: Dataset, profile: Profile, n: int, seed: int = 0) -> dict[str, Dataset]:
    """Up to `n` questions (seeded) of each group, drawn from the training file `pool`."""
    trained = training_questions(pool, profile)
    part, validation = split_validation(pool)
    seen = set(trained["id"])
    same = part.select([i for i, k in enumerate(part["id"]) if k not in seen])
    groups = {TRAINED: trained, SAME_ARTICLES: same, UNSEEN_ARTICLES: validation}
    empty = [name for name, data in groups.items() if not len(data)]
    if empty:
        raise ValueError(f"no questions in group(s) {', '.join(empty)} of the training file")
    return {name: subset(data, n, seed) for name, data in groups.items()}


def memorisation_records(
    model: str | Path, profile: Profile, sets: dict[str, Dataset]
) -> pd.DataFrame:
    """Answer every group with the model (the one inference path) and stack the records.

    Returns:
        The per-example records of all groups with a `group` column.
    """
    tokenizer, net = load_tokenizer(model), load_qa_model(model)
    parts = [
        infer(net, tokenizer, data, profile.inference).records().table.assign(group=name)
        for name, data in sets.items()
    ]
    return pd.concat(parts, ignore_index=True)


def membership_auc(trained: np.ndarray, unseen: np.ndarray) -> float:
    """AUC of calling a question "trained" when its score is high (0.5: no signal)."""
    labels = np.r_[np.ones(len(trained)), np.zeros(len(unseen))]
    return float(roc_auc_score(labels, np.r_[trained, unseen]))


def memorisation_table(
    records: pd.DataFrame, n_resamples: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """EM/F1 per group with 95% bootstrap intervals, and the trained group's lead over each.

    Returns:
        One row per group: group, n, em, f1, f1_low, f1_high, confidence (mean), gap (trained
        F1 minus this group's), gap_low, gap_high (unpaired bootstrap: different questions),
        auc_confidence and auc_f1 (membership AUC of trained against this group).
    """
    by_group = {name: part for name, part in records.groupby("group", sort=False)}
    reference = by_group[TRAINED]
    rows = []
    for name, part in by_group.items():
        low, high = bootstrap_ci(part["f1"].to_numpy(), n_resamples, seed)
        gap = (
            (0.0, np.nan, np.nan)
            if name == TRAINED
            else unpaired_difference(reference["f1"].to_numpy(), part["f1"].to_numpy(),
                                     n_resamples, seed)
        )  # fmt: skip
        auc = [membership_auc(reference[c].to_numpy(), part[c].to_numpy())
               for c in ("confidence", "f1")]  # fmt: skip
        rows.append(
            {"group": name, "n": len(part), "em": part["em"].mean(), "f1": part["f1"].mean(),
             "f1_low": float(low), "f1_high": float(high),
             "confidence": part["confidence"].mean(), "gap": gap[0], "gap_low": gap[1],
             "gap_high": gap[2], "auc_confidence": auc[0], "auc_f1": auc[1]}
        )  # fmt: skip
    return pd.DataFrame(rows)
