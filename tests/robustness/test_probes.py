"""Robustness probes: paired drops with intervals, each distinct input answered once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset
from matplotlib.figure import Figure

from qa_utils import plots
from qa_utils.core.data import load_squad
from qa_utils.robustness import perturb, probes

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def examples() -> Dataset:
    """The 25 questions of the mini SQuAD fixture."""
    return load_squad(FIXTURES / "mini_squad.json")


def memorising_predictor(clean: Dataset):
    """Answers questions it has seen verbatim with the gold answer, others with the first word."""
    known = {(q, c): a["text"][0] for q, c, a in zip(
        clean["question"], clean["context"], clean["answers"], strict=True)}  # fmt: skip

    def predict(examples: Dataset) -> dict[str, str]:
        pairs = zip(examples["id"], examples["question"], examples["context"], strict=True)
        return {i: known.get((q, c), c.split()[0]) for i, q, c in pairs}

    return predict


def test_robustness_table_measures_the_drop_with_paired_intervals(examples):
    conditions = perturb.perturbations(seed=0, typo_rate=0.2)
    scores = probes.evaluate_perturbations(memorising_predictor(examples), examples, conditions)
    assert list(scores["condition"].unique()) == ["clean", *conditions]
    table = probes.robustness_table(scores, n_resamples=500, seed=0).set_index("condition")
    assert table.loc["clean", "f1"] == 100.0 and table.loc["clean", "drop"] == 0.0
    for name in conditions:
        row = table.loc[name]
        assert row["drop"] == pytest.approx(100.0 - row["f1"])
        assert row["drop_low"] <= row["drop"] <= row["drop_high"]
        assert row["f1_low"] <= row["f1"] <= row["f1_high"]
    assert table.loc["distractor (end)", "changed"] == 1.0
    assert table.loc["distractor (end)", "p_value"] < 0.01
    again = probes.robustness_table(scores, n_resamples=500, seed=0)
    pd.testing.assert_frame_equal(again, table.reset_index())


def test_answer_all_matches_separate_calls_and_answers_each_distinct_input_once(examples):
    predict, seen = memorising_predictor(examples), []

    def counting(data: Dataset) -> dict[str, str]:
        seen.append(len(data))
        return predict(data)

    datasets = [examples, perturb.rewrite_questions(examples), examples.select(range(3))]
    answers = probes.answer_all(counting, datasets)
    assert answers == [predict(d) for d in datasets]
    distinct = set(zip(datasets[1]["question"], datasets[1]["context"], strict=True))
    distinct |= set(zip(examples["question"], examples["context"], strict=True))
    assert seen == [len(distinct)] and len(distinct) < 2 * len(examples)


def test_plot_robustness_returns_a_fixed_size_figure(examples):
    conditions = {"rewrites": perturb.rewrite_questions}
    scores = probes.evaluate_perturbations(memorising_predictor(examples), examples, conditions)
    fig = plots.plot_robustness(probes.robustness_table(scores, n_resamples=100))
    assert isinstance(fig, Figure) and tuple(fig.get_size_inches()) == plots.SIZES["single"]
