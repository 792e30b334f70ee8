"""Tests of bootstrap intervals, the paired test and calibration error."""

from __future__ import annotations

import numpy as np
import pytest

from qa_utils.analysis.stats import (
    bootstrap_ci,
    bootstrap_means,
    calibration_table,
    expected_calibration_error,
    format_p_value,
    group_spread_test,
    paired_test,
    short_p_value,
)


@pytest.fixture
def scores() -> np.ndarray:
    """EM-like scores of 2,000 questions, 75% right."""
    return (np.random.default_rng(7).random(2000) < 0.75) * 100.0


def test_bootstrap_is_seeded(scores):
    assert np.array_equal(
        bootstrap_means(scores, 200, seed=3), bootstrap_means(scores, 200, seed=3)
    )
    assert not np.array_equal(bootstrap_means(scores, 200, seed=3), bootstrap_means(scores, 200, 4))


def test_bootstrap_does_not_depend_on_the_chunk_size(scores, monkeypatch):
    whole = bootstrap_means(scores, 300, seed=1)
    monkeypatch.setattr("qa_utils.analysis.stats.CHUNK_ELEMENTS", len(scores) * 7)
    assert np.array_equal(bootstrap_means(scores, 300, seed=1), whole)


def test_bootstrap_interval_brackets_the_mean_and_has_the_expected_width(scores):
    low, high = bootstrap_ci(scores, 2000, seed=0)
    standard_error = scores.std() / np.sqrt(len(scores))
    assert low < scores.mean() < high
    assert (high - low) == pytest.approx(2 * 1.96 * standard_error, rel=0.15)


def test_bootstrap_columns_share_resamples(scores):
    both = bootstrap_means(np.column_stack([scores, scores / 2]), 100, seed=0)
    assert both.shape == (100, 2)
    assert np.allclose(both[:, 1], both[:, 0] / 2)


def test_paired_test_of_identical_scores_gives_zero_and_p_one(scores):
    result = paired_test(scores, scores.copy(), 500, seed=0)
    assert (result.difference, result.ci_low, result.ci_high, result.p_value) == (0, 0, 0, 1)
    assert result.n == len(scores)


def test_paired_test_detects_ten_percent_blanked(scores):
    blanked = scores.copy()
    blanked[np.random.default_rng(1).permutation(len(scores))[: len(scores) // 10]] = 0
    result = paired_test(scores, blanked, 1000, seed=0)
    assert result.p_value < 0.01
    assert 0 < result.ci_low < result.difference < result.ci_high
    assert result.difference == pytest.approx(scores.mean() - blanked.mean())


def test_paired_test_is_antisymmetric_and_seeded(scores):
    other = np.roll(scores, 1)
    ab, ba = paired_test(scores, other, 300, seed=5), paired_test(other, scores, 300, seed=5)
    assert ab.difference == -ba.difference and ab.p_value == ba.p_value
    assert paired_test(scores, other, 300, seed=5) == ab


def test_paired_test_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="equally long"):
        paired_test([1.0, 2.0], [1.0])


def test_calibration_of_perfect_and_overconfident_models():
    assert expected_calibration_error([1.0, 1.0, 0.0], [1, 1, 0]) == 0.0
    assert expected_calibration_error([0.95] * 4, [1, 0, 0, 0]) == pytest.approx(0.70)


def test_calibration_table_has_every_bin_and_counts_all_examples():
    table = calibration_table([0.0, 0.33, 0.5, 1.0], [0, 1, 1, 1], n_bins=5)
    assert len(table) == 5 and table["n"].sum() == 4
    assert table["n"].tolist() == [1, 1, 1, 0, 1]
    assert np.isnan(table.loc[3, "accuracy"])


def test_group_spread_test_finds_no_effect_when_groups_do_not_matter():
    rng = np.random.default_rng(11)
    groups = np.repeat(np.arange(40), rng.integers(10, 40, 40))
    values = (rng.random(len(groups)) < 0.7) * 100.0
    test = group_spread_test(values, groups, 1000, seed=0)
    expected = values.std() * np.sqrt(np.mean(1 / np.bincount(groups)))
    assert test.groups == 40 and test.n == len(values)
    assert test.null_mean == pytest.approx(expected, rel=0.1)
    assert test.null_low < test.null_mean < test.null_high


def test_group_spread_test_p_values_are_uniform_under_the_null():
    rng = np.random.default_rng(13)
    groups = np.repeat(np.arange(20), 15)
    p_values = [
        group_spread_test((rng.random(len(groups)) < 0.6) * 100.0, groups, 200, seed).p_value
        for seed in range(60)
    ]
    assert np.mean(np.array(p_values) <= 0.05) <= 0.12
    assert 0.3 < np.median(p_values) < 0.7


def test_group_spread_test_finds_a_strong_effect():
    rng = np.random.default_rng(12)
    groups = np.repeat(np.arange(40), 25)
    values = (rng.random(len(groups)) < np.where(groups < 20, 0.9, 0.4)) * 100.0
    test = group_spread_test(values, groups, 1000, seed=0)
    assert test.observed > 2 * test.null_high and test.p_value == pytest.approx(1 / 1001)


def test_group_spread_test_is_seeded_and_refuses_one_group():
    values, groups = np.arange(30.0), np.repeat(["a", "b", "c"], 10)
    assert group_spread_test(values, groups, 300, 1) == group_spread_test(values, groups, 300, 1)
    with pytest.raises(ValueError, match="at least two groups, got \\(3,\\) values and 1"):
        group_spread_test([1.0, 2.0, 3.0], ["a", "a", "a"])


def test_format_p_value_says_when_the_resampling_floor_is_reached(scores):
    floored = paired_test(scores, np.zeros_like(scores), n_resamples=200, seed=0)
    assert floored.p_value == pytest.approx(1 / 201)
    assert format_p_value(floored.p_value, 200) == "p ≤ 0.005 (the smallest 200 resamples can give)"
    assert format_p_value(2 / 201, 200) == "p = 0.010"
    assert format_p_value(0.0004, 10_000) == "p = 4.0e-04"
    assert short_p_value(floored.p_value, 200) == "p ≤ 0.005"
    assert short_p_value(2 / 201, 200) == "p = 0.010"
