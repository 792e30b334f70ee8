"""The transfer comparison's tables and sentence, on runs we make up (no training here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_utils.chapter.transfer import (
    TransferRun,
    curves_sentence,
    gain_sentence,
    gains_for_display,
    learning_curves,
    transfer_gains,
    transfer_table,
)
from qa_utils.training.train import TrainResult


def _run(init: str, n: int, f1: np.ndarray, history: pd.DataFrame | None = None) -> TransferRun:
    result = TrainResult(Path("m"), 60.0, n, n + 1, 3.0, 2.0)
    records = pd.DataFrame({"id": [f"q{i}" for i in range(len(f1))], "f1": f1, "em": f1 // 100})
    if history is None:
        history = pd.DataFrame({"step": [5, 10, None], "loss": [4.0, 3.0, None]})
    return TransferRun(init, result, records, history)


@pytest.fixture
def runs() -> list[TransferRun]:
    rng = np.random.default_rng(0)
    good = rng.choice([0.0, 100.0], size=200, p=[0.3, 0.7])
    bad = rng.choice([0.0, 100.0], size=200, p=[0.9, 0.1])
    return [_run("pretrained", 100, good), _run("random", 100, bad)]


def test_table_has_one_row_per_run_with_intervals(runs):
    table = transfer_table(runs, n_resamples=200)
    assert list(table["init"]) == ["pretrained", "random"]
    assert (table["f1_low"] <= table["f1"]).all() and (table["f1"] <= table["f1_high"]).all()
    assert table["train_minutes"].tolist() == [1.0, 1.0]
    assert table["mean_loss"].tolist() == [3.0, 3.0]
    assert table["last_loss"].tolist() == [2.0, 2.0]


def test_gain_is_paired_and_the_sentence_says_it_is_clear(runs):
    gains = transfer_gains(runs, n_resamples=200)
    expected = runs[0].records["f1"].mean() - runs[1].records["f1"].mean()
    assert gains.loc[0, "f1_gain"] == pytest.approx(expected)
    assert gains.loc[0, "gain_low"] > 0
    assert "larger than sampling noise at this budget" in gain_sentence(gains)
    two = pd.concat([gains, gains.assign(train_questions=gains["train_questions"] * 2)])
    assert "larger than sampling noise at every budget" in gain_sentence(two)


def test_sentence_says_when_the_runs_cannot_tell_the_starts_apart(runs):
    same = [runs[0], _run("random", 100, runs[0].records["f1"].to_numpy())]
    sentence = gain_sentence(transfer_gains(same, n_resamples=200))
    assert "+0.0 F1 points" in sentence
    assert "with 100 training questions (p = 1.000) the interval includes zero" in sentence


def _gains(rows: list[tuple[int, float, float, float, float]]) -> pd.DataFrame:
    columns = ["train_questions", "f1_gain", "gain_low", "gain_high", "p_value"]
    return pd.DataFrame(rows, columns=columns).assign(dev_questions=500)


def test_sentence_names_only_the_budgets_whose_interval_holds_zero():
    gains = _gains(
        [
            (300, 1.9, -0.48, 4.05, 0.1104),
            (1000, 5.5, 3.7, 7.3, 1 / 1001),
            (2000, -3.0, -5.0, -1.0, 0.004),
        ]
    )
    verdict = gain_sentence(gains).split(". So ")[1]
    assert verdict.startswith("with 300 training questions (p = 0.110) the interval includes zero")
    assert "with 2,000 training questions (p = 0.004) the random start scores higher" in verdict
    assert (
        "with 1,000 training questions (p < 0.001) the pre-trained start scores higher" in verdict
    )
    assert "every budget" not in verdict


def test_no_budget_with_both_starts_is_said_plainly():
    assert gain_sentence(pd.DataFrame()).startswith("No budget has runs from both starts")


def test_gains_are_shown_to_one_decimal_with_p_as_text():
    shown = gains_for_display(
        _gains([(300, 1.904, -0.483, 4.049, 0.1104), (1000, 5.5, 3.7, 7.3, 1 / 1001)])
    )
    assert shown[["f1_gain", "gain_low", "gain_high"]].iloc[0].tolist() == [1.9, -0.5, 4.0]
    assert shown["p_value"].tolist() == ["0.110", "<0.001"]


def test_a_budget_with_one_start_has_no_gain(runs):
    assert transfer_gains(runs[:1], n_resamples=50).empty


def test_learning_curves_keep_logged_losses_only(runs):
    quiet = _run("random", 8, np.array([0.0]), pd.DataFrame({"train_runtime": [1.0]}))
    curves = learning_curves([*runs, quiet])
    assert list(curves.columns) == ["train_questions", "init", "step", "loss"]
    assert len(curves) == 4 and curves["loss"].notna().all()


def test_curves_sentence_compares_where_the_runs_ended():
    table = pd.DataFrame(
        {
            "train_questions": [100, 100, 400, 400],
            "init": ["pretrained", "random", "pretrained", "random"],
            "last_loss": [2.0, 5.0, 1.5, 4.8],
        }
    )
    sentence = curves_sentence(table)
    assert "after 100 questions the pre-trained start ends at a loss of 2.00" in sentence
    assert "the random one at 4.80" in sentence and "learn the language" in sentence
    labelled = table.assign(source="benchmark", learning_rate=1e-4)
    assert "after 400 questions (benchmark, learning rate 1e-4) the pre-trained" in curves_sentence(
        labelled
    )
    table.loc[3, "last_loss"] = 1.0
    assert "no higher than the pre-trained one" in curves_sentence(table)
