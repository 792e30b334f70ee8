"""Tests for qa_utils.analysis.unanswerable and the SQuAD 2.0 part of the `analyse` command."""

from __future__ import annotations

import doctest
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_utils.analysis import unanswerable
from qa_utils.analysis.unanswerable import (
    abstain_confusion,
    analyse_abstention,
    best_row,
    breakdown,
    coverage_risk,
    curve_at,
    na_calibration,
    threshold_curve,
)
from qa_utils.cli import command_main
from qa_utils.core.data import load_squad
from qa_utils.core.metrics import score_predictions
from qa_utils.core.records import build_records
from qa_utils.workflow.report import abstention_lines

FIXTURES = Path(__file__).parents[1] / "fixtures"
MINI_V2 = FIXTURES / "mini_squad_v2.json"
main = command_main("analyse")


@pytest.fixture(scope="module")
def mini_v2():
    return load_squad(MINI_V2)


def synthetic(dataset, seed: int) -> tuple[dict[str, str], dict[str, float]]:
    """Gold answers, context spans and abstentions, with distinct random no-answer probabilities."""
    rng = random.Random(seed)
    predictions = {}
    for row in dataset:
        options = [*row["answers"]["text"], row["context"][10:30], ""]
        predictions[row["id"]] = rng.choice(options)
    probs = rng.sample(range(1000), len(predictions))
    return predictions, {qid: p / 1000 for qid, p in zip(predictions, probs, strict=True)}


def test_doctests_pass():
    assert doctest.testmod(unanswerable).failed == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_curve_is_the_official_score_at_every_threshold(mini_v2, seed):
    predictions, na_probs = synthetic(mini_v2, seed)
    table = build_records(mini_v2, predictions, na_probs=na_probs).table
    curve = threshold_curve(table)
    assert len(curve) == len(table) + 1 and curve["threshold"].is_monotonic_increasing
    for threshold in [-0.5, *sorted(na_probs.values()), 0.3333]:
        official = score_predictions(mini_v2, predictions, na_probs, threshold).summary()
        row = curve_at(curve, threshold)
        assert row["score"] == pytest.approx(official["f1"], abs=1e-9)
        assert row["has_score"] == pytest.approx(official["HasAns_f1"], abs=1e-9)
        assert row["no_score"] == pytest.approx(official["NoAns_f1"], abs=1e-9)
    best = score_predictions(mini_v2, predictions, na_probs).summary()
    assert best_row(curve)["score"] == pytest.approx(best["best_f1"], abs=1e-9)


def test_confusion_counts_every_question(mini_v2):
    predictions, na_probs = synthetic(mini_v2, 0)
    table = build_records(mini_v2, predictions, na_probs=na_probs, na_prob_thresh=0.5).table
    confusion = abstain_confusion(table)
    assert confusion.to_numpy().sum() == len(table) == 15
    assert confusion.loc["unanswerable"].sum() == 5
    abstained = table["abstained"] & table["is_impossible"]
    assert confusion.loc["unanswerable", "abstained"] == abstained.sum()


def test_coverage_risk_area_is_the_mean_risk_without_ties():
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "na_prob": rng.permutation(50) / 50,
            "is_impossible": rng.random(50) < 0.4,
            "answer_f1": rng.choice([0.0, 50.0, 100.0], 50),
        }
    )
    curve, area = coverage_risk(table)
    scores = table.sort_values("na_prob")["answer_f1"].to_numpy() / 100
    risks = 1 - np.cumsum(scores) / np.arange(1, 51)
    assert curve["risk"].to_numpy() == pytest.approx(risks)
    assert area == pytest.approx(risks.mean())


def test_coverage_risk_groups_tied_probabilities():
    table = pd.DataFrame(
        {"na_prob": [0.2, 0.2, 0.5], "is_impossible": [False] * 3, "answer_f1": [100.0, 0.0, 0.0]}
    )
    curve, area = coverage_risk(table)
    assert curve["coverage"].tolist() == pytest.approx([2 / 3, 1.0])
    assert area == pytest.approx(0.5 * 2 / 3 + (2 / 3) * (1 / 3))


def test_calibration_needs_probabilities(mini_v2):
    predictions, na_probs = synthetic(mini_v2, 0)
    table = build_records(mini_v2, predictions, na_probs=na_probs).table
    calibration, ece = na_calibration(table)
    assert calibration["n"].sum() == 15 and 0 <= ece <= 1
    odds = {k: 10 * (v - 0.5) for k, v in na_probs.items()}  # raw score differences
    assert na_calibration(build_records(mini_v2, predictions, na_probs=odds).table) is None


def test_summary_lines_give_the_official_and_the_best_threshold(mini_v2):
    predictions, na_probs = synthetic(mini_v2, 1)
    scored = build_records(mini_v2, predictions, na_probs=na_probs, na_prob_thresh=0.5)
    official = scored.report.official
    lines = abstention_lines(official, analyse_abstention(scored.table), 0.5)
    assert lines[0].startswith(f"SQuAD 2.0: EM {official['exact']:.2f}  F1 {official['f1']:.2f}")
    assert f"best {official['best_f1_thresh']:.4g} gives F1 {official['best_f1']:.2f}" in lines[2]
    assert f"--na-prob-thresh 0.5 gives {official['f1']:.2f}" in lines[2]


def test_without_na_probs_only_the_confusion(mini_v2):
    predictions, _ = synthetic(mini_v2, 0)
    result = analyse_abstention(build_records(mini_v2, predictions).table)
    assert result.confusion.to_numpy().sum() == 15
    assert result.curve is None and result.coverage is None and result.calibration is None


# --- the command line -------------------------------------------------------------------------


def _files(tmp_path: Path, mini_v2) -> tuple[Path, Path]:
    predictions, na_probs = synthetic(mini_v2, 0)
    pred_path, na_path = tmp_path / "p.json", tmp_path / "na.json"
    pred_path.write_text(json.dumps(predictions), encoding="utf-8")
    na_path.write_text(json.dumps(na_probs), encoding="utf-8")
    return pred_path, na_path


@pytest.mark.slow
def test_cli_analyses_a_v2_file_with_na_probs(mini_v2, tmp_path, capsys):
    pred_path, na_path = _files(tmp_path, mini_v2)
    args = [MINI_V2, pred_path, "--out", tmp_path / "out", "--no-spacy", "--bootstrap", "50"]
    assert (
        main([str(a) for a in [*args, "--na-prob-file", na_path, "--na-prob-thresh", "0.5"]]) == 0
    )
    out = capsys.readouterr().out
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"abstain_confusion.csv", "threshold_curve.csv", "coverage_risk.csv"} <= written
    assert {"abstain_confusion.png", "threshold_f1.png", "coverage_risk.png"} <= written
    assert "na_reliability.png" in written
    official = score_predictions(mini_v2, *synthetic(mini_v2, 0), 0.5).summary()
    assert f"SQuAD 2.0: EM {official['exact']:.2f}  F1 {official['f1']:.2f}" in out
    assert f"best {official['best_f1_thresh']:.4g} gives F1 {official['best_f1']:.2f}" in out
    assert "area under the coverage-risk curve" in out and "ECE" in out


@pytest.mark.slow
def test_cli_analyses_a_v2_file_without_na_probs(mini_v2, tmp_path, capsys):
    pred_path, _ = _files(tmp_path, mini_v2)
    args = [MINI_V2, pred_path, "--out", tmp_path / "out", "--no-spacy", "--bootstrap", "50"]
    assert main([str(a) for a in args]) == 0
    out = capsys.readouterr().out
    assert "answer/abstain: answerable" in out and "skipped (no --na-prob-file)" in out
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert "abstain_confusion.png" in written and "threshold_f1.png" not in written


def test_cli_na_prob_errors_are_one_line(mini_v2, tmp_path, capsys):
    pred_path, na_path = _files(tmp_path, mini_v2)
    v1 = FIXTURES / "mini_squad.json"
    assert (
        main(
            [str(v1), str(pred_path), "--out", str(tmp_path / "o"), "--na-prob-file", str(na_path)]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "apply to SQuAD 2.0 datasets" in err
    na_path.write_text('{"v2-1-1-1": "high"}', encoding="utf-8")
    assert (
        main(
            [
                str(MINI_V2),
                str(pred_path),
                "--out",
                str(tmp_path / "o"),
                "--na-prob-file",
                str(na_path),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(na_path) in err and "expected a number" in err


def test_breakdown_gives_the_official_groups_with_intervals(mini_v2):
    predictions, na_probs = synthetic(mini_v2, 2)
    scored = build_records(mini_v2, predictions, na_probs=na_probs, na_prob_thresh=0.4)
    rows = breakdown(scored.table, n_resamples=200).set_index("group")
    official = scored.report.official
    assert rows.loc["all", "f1"] == pytest.approx(official["f1"], abs=1e-9)
    assert rows.loc["HasAns", "f1"] == pytest.approx(official["HasAns_f1"], abs=1e-9)
    assert rows.loc["NoAns", "em"] == pytest.approx(official["NoAns_exact"], abs=1e-9)
    assert rows["n"].tolist() == [15, 10, 5] and rows["small"].all()
    assert (rows["f1_low"] <= rows["f1"]).all() and (rows["f1"] <= rows["f1_high"]).all()
