"""Memorisation groups come from the right articles; the table and the membership AUC."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from qa_utils.core.data import in_validation, load_squad
from qa_utils.project.config import get_profile
from qa_utils.robustness import memorisation
from qa_utils.training.train import training_questions

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mini_squad.json"


@pytest.fixture(scope="module")
def pool() -> Dataset:
    """400 one-question-per-paragraph rows over 100 articles (a few in the validation split)."""
    ids = [f"q{i}" for i in range(400)]
    titles = [f"article-{i % 100}" for i in range(400)]
    columns = {"id": ids, "title": titles, "context": [f"Context {i}." for i in range(400)],
               "question": ["What?"] * 400,
               "answers": [{"text": ["Context"], "answer_start": [0]}] * 400}  # fmt: skip
    return Dataset.from_dict(columns, features=load_squad(FIXTURE).features)


def test_groups_are_disjoint_and_from_the_right_articles(pool):
    profile = get_profile("smoke", train_questions=50)
    sets = memorisation.memorisation_sets(pool, profile, 30, seed=0)
    trained_all = set(training_questions(pool, profile)["id"])
    assert [len(d) for d in sets.values()][:2] == [30, 30]
    assert set(sets[memorisation.TRAINED]["id"]) <= trained_all
    assert not set(sets[memorisation.SAME_ARTICLES]["id"]) & trained_all
    assert all(not in_validation(t) for t in sets[memorisation.SAME_ARTICLES]["title"])
    unseen = sets[memorisation.UNSEEN_ARTICLES]
    assert len(unseen) > 0 and all(in_validation(t) for t in unseen["title"])


def test_membership_auc_is_half_without_signal_and_one_with_full_separation():
    assert memorisation.membership_auc(np.ones(10), np.ones(10)) == 0.5
    assert memorisation.membership_auc(np.full(5, 0.9), np.full(5, 0.1)) == 1.0


def test_table_reports_the_gap_against_the_trained_group():
    rng = np.random.default_rng(0)
    parts = []
    for name, rate in ((memorisation.TRAINED, 0.9), (memorisation.SAME_ARTICLES, 0.6),
                       (memorisation.UNSEEN_ARTICLES, 0.5)):  # fmt: skip
        hit = (rng.random(400) < rate) * 100.0
        parts.append(pd.DataFrame({"group": name, "em": hit, "f1": hit, "confidence": hit / 100}))
    table = memorisation.memorisation_table(pd.concat(parts), 500, 0).set_index("group")
    assert table.loc[memorisation.TRAINED, "gap"] == 0.0
    assert np.isnan(table.loc[memorisation.TRAINED, "gap_low"])
    same = table.loc[memorisation.SAME_ARTICLES]
    assert same["gap_low"] > 20 and same["auc_confidence"] > 0.6
    assert same["f1_low"] < same["f1"] < same["f1_high"]
