"""Tests of qa_utils.serving.drift: the CUSUM detector on synthetic streams.

Documented detection bound: on the synthetic stream of `qa_utils.serving.drift` (mean F1
80 -> 50), the detector with its default parameters raises the alarm within MAX_DELAY shifted
scores (expected ~36 by Wald's approximation; in 300 seeded simulations,
`python -m benchmarks.drift`, the median was 32 and the 95th percentile 63).
"""

from __future__ import annotations

import numpy as np
import pytest

from qa_utils.serving.drift import (
    CusumConfig,
    CusumDetector,
    cusum_drop,
    expected_delay,
    synthetic_f1_stream,
)

MAX_DELAY = 80


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detector_flags_a_synthetic_drop_within_the_documented_delay(seed):
    scores = synthetic_f1_stream(800, shift_at=500, seed=seed)
    result = cusum_drop(scores)
    assert result.alarm_index is not None
    assert 500 <= result.alarm_index < 500 + MAX_DELAY


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_detector_raises_no_alarm_on_an_unshifted_stream_of_the_same_length(seed):
    assert cusum_drop(synthetic_f1_stream(800, seed=seed)).alarm_index is None


def test_streaming_detector_agrees_with_the_vectorised_one():
    scores = synthetic_f1_stream(400, shift_at=250, seed=5)
    scores[[10, 300]] = np.nan  # missing feedback is skipped by both
    config = CusumConfig(reference=100)
    result = cusum_drop(scores, config)
    detector = CusumDetector(config)
    alarms = [detector.update(x) for x in scores]
    assert alarms.index(True) == result.alarm_index == detector.alarm_index
    assert detector.mean == pytest.approx(result.reference_mean)


def test_expected_delay_and_too_short_reference():
    assert expected_delay(0.75) == 40.0 and expected_delay(0.2) == float("inf")
    with pytest.raises(ValueError, match="the reference window needs 200 scores .* has 50"):
        cusum_drop(np.zeros(50))
