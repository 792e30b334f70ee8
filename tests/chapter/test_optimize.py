"""Notebook 05's sentences quote the tables they are given."""

from __future__ import annotations

import pandas as pd
import pytest

from qa_utils.chapter import optimize as sentences


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "variant": ["pytorch fp32", "onnxruntime int8 dynamic", sentences.RECOMMENDED],
            "p50_ms": [30.0, 12.5, 14.0],
            "batch1_speedup": [1.0, 2.4, 2.14],
            "size_mb": [86.1, 55.9, 60.0],
            "f1": [72.0, 70.0, 72.57],
            "f1_drop": [0.0, 2.0, -0.57],
        }
    )


def test_tradeoff_names_fastest_best_and_smallest(table):
    text = sentences.tradeoff_sentence(table)
    assert "**onnxruntime int8 dynamic**: 12.5 ms" in text
    assert f"Highest is **{sentences.RECOMMENDED}** (F1 72.6)" in text
    assert "55.9 MB against 86.1 MB" in text


def test_tradeoff_names_variants_tied_on_f1(table):
    tied = table.assign(f1=[72.01, 70.0, 71.98])
    text = sentences.tradeoff_sentence(tied)
    assert f"tied at one decimal, are **pytorch fp32** and **{sentences.RECOMMENDED}**" in text


def test_model_description_and_machine_table():
    assert "untrained" in sentences.model_description("embedded")
    assert "runs/quick/model" in sentences.model_description("runs/quick/model")
    machine = sentences.machine_table({"cpu": "x", "gpu": None, "platform": "p"}, {"torch": "2"})
    assert machine["item"].tolist() == ["cpu", "gpu", "torch"]


def test_mixed_quotes_both_drops(table):
    text = sentences.mixed_sentence(table, kept=4)
    assert "F1 by -2.00 against fp32" in text and "the 4 most" in text and "makes it +0.57" in text


@pytest.mark.parametrize(
    ("ref_base", "calibration", "expected"),
    [
        (71.0, 32, "compare the F1 changes against fp32: +0.57 here, +0.50 there"),
        (72.0, 16, "calibrated the sensitivity scan on 16 training questions"),
        (72.0, 32, "not from the choice"),
    ],
)
def test_reference_sentence_says_why_the_rows_differ(table, ref_base, calibration, expected):
    reference = table.assign(f1=[ref_base, 69.0, 71.5], f1_drop=[0.0, 2.0, -0.5])
    reference["p50_ms"] = [40.0, 15.0, 16.0]
    text = sentences.reference_sentence(table, reference, calibration, 32, 4.07, 1.9)
    assert "F1 72.57 here, 71.50 in the reference" in text
    assert expected in text
    assert "30.0 ms per batch-1 request at the median here and 40.0 ms there" in text
    assert "load average of 4.07 here and 1.90 there" in text
    assert "load average" not in sentences.reference_sentence(table, reference, 32, 32)


def test_pruning_sentence_judges_head_rows_against_the_zeroed_spread():
    curve = pd.DataFrame(
        {
            "method": ["none", "magnitude", "magnitude", "heads", "heads"],
            "amount": [0.0, 0.5, 0.9, 0.25, 0.5],
            "questions_per_s": [50.0, 49.0, 51.0, 57.0, 57.5],
            "f1": [72.0, 51.7, 7.4, 70.0, 60.0],
        }
    )
    text = sentences.pruning_sentence(curve)
    assert "up to 90%" in text and "between 0.98x and 1.02x" in text and "to 7.4" in text
    assert "(0.98x to 1.02x, with the unpruned model) is this run's noise" in text
    assert "25% of the heads runs at 1.14x (faster than that noise), with F1 70.0 (-2.0)" in text
    assert "differ by 0.01x, no more than the noise: this run cannot tell" in text
    noisy = curve.assign(questions_per_s=[50.0, 43.5, 55.5, 49.65, 49.9])
    text = sentences.pruning_sentence(noisy)
    assert "at 0.99x (within that noise)" in text and "cannot tell" in text
    apart = curve.assign(questions_per_s=[50.0, 49.0, 51.0, 57.0, 70.0])
    assert "more than the noise." in sentences.pruning_sentence(apart)
    single = sentences.pruning_sentence(curve.drop(index=[2, 4]))
    assert "at 0.98x the" in single and "differ by" not in single


def test_distillation_sentences_follow_defaults_files_and_repeats():
    alone = sentences.distillation_defaults_sentence(1.0, 1.0, None)
    assert "(T = 1, alpha = 1) the student learns from the teacher's distributions alone" in alone
    assert "until its output" in alone
    mixed = sentences.distillation_defaults_sentence(2.0, 0.5, pd.DataFrame({"t": [1, 2]}))
    assert "weight 0.5 and the gold labels' 0.5" in mixed and "2 settings" in mixed
    pairs = pd.DataFrame({"gold_only_f1": [37.63, 35.77, 36.11], "gain": [3.2, 4.5, 3.8]})
    spread = sentences.seed_spread_sentence(pairs, 1)
    assert "between F1 35.8 and 37.6 (1.9 points apart) over 3 draws of data and seed" in spread
    assert "trains one pair" in spread and "trains 3 pairs" in sentences.seed_spread_sentence(
        None, 3
    )
    one = {"repeats": 1, "mean": 3.2, "min": 3.2, "max": 3.2}
    assert "one pair the teacher added +3.20 F1" in sentences.gain_sentence(one, 1.0, 1.0)
    three = {"repeats": 3, "mean": 3.8, "min": 3.2, "max": 4.5}
    assert "over 3 pairs" in sentences.gain_sentence(three, 1.0, 1.0)


@pytest.mark.parametrize(
    ("csr", "expected"),
    [([13.8, 7.1, 1.9], "overtakes it from 90% zeros"), ([13.8, 9.0, 5.0], "slower at every")],
)
def test_sparse_sentence_finds_the_crossing(csr, expected):
    timing = pd.DataFrame(
        {"sparsity": [0.0, 0.5, 0.9], "dense_ms": [2.75, 2.76, 3.04], "sparse_csr_ms": csr}
    )
    assert expected in sentences.sparse_sentence(timing)


def test_gpu_sentence_picks_the_fastest_gpu_row():
    rows = pd.DataFrame(
        {
            "dtype": ["fp32", "fp16", "bf16"],
            "batch_size": [16, 256, 64],
            "questions_per_s": [50.0, 4000.0, 3000.0],
            "speedup": [1.0, 80.0, 60.0],
            "f1_change": [0.0, -0.01, 0.02],
            "agreement_pct": [100.0, 99.5, 99.0],
        }
    )
    text = sentences.gpu_sentence(rows)
    assert "fp16 at batch 256, 4000 questions/s, 80.0x" in text and "99.5%" in text
