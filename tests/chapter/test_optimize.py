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


def test_mixed_quotes_both_drops(table):
    text = sentences.mixed_sentence(table, kept=4)
    assert "F1 by -2.00 against fp32" in text and "the 4 most" in text and "makes it +0.57" in text


@pytest.mark.parametrize(
    ("ref_base", "calibration", "expected"),
    [
        (71.0, 32, "compare the drops"),
        (72.0, 16, "calibrated the sensitivity scan on 16 training questions"),
        (72.0, 32, "not from the choice"),
    ],
)
def test_reference_sentence_says_why_the_rows_differ(table, ref_base, calibration, expected):
    reference = table.assign(f1=[ref_base, 69.0, 71.5])
    text = sentences.reference_sentence(table, reference, calibration, 32)
    assert "F1 72.57 here, 71.50 in the reference" in text
    assert expected in text


def test_pruning_sentence_quotes_speed_range_and_head_cost():
    curve = pd.DataFrame(
        {
            "method": ["none", "magnitude", "magnitude", "heads"],
            "amount": [0.0, 0.5, 0.9, 0.25],
            "questions_per_s": [50.0, 49.0, 51.0, 57.0],
            "f1": [72.0, 51.7, 7.4, 70.0],
        }
    )
    text = sentences.pruning_sentence(curve)
    assert "up to 90%" in text and "between 0.98x and 1.02x" in text and "to 7.4" in text
    assert "25% of the heads runs at 1.14x, with F1 70.0 (-2.0)" in text
    assert "at 0.98x the" in sentences.pruning_sentence(curve.drop(index=2))


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
