"""The published trend and effective robustness, on synthetic leaderboards with a known line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qa_utils.analysis import trend
from qa_utils.analysis.stats import bootstrap_means

SLOPE, INTERCEPT = 0.8, -0.6


def leaderboard(n: int = 40, noise: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Published models whose logit shifted F1 is SLOPE * logit SQuAD F1 + INTERCEPT (+ noise)."""
    rng = np.random.default_rng(seed)
    squad = np.linspace(62, 95, n)
    shifted = trend.from_logit(INTERCEPT + SLOPE * trend.to_logit(squad) + rng.normal(0, noise, n))
    return pd.DataFrame(
        {"model": [f"m{i}" for i in range(n)], trend.SQUAD_COLUMN: squad, "amazon_f1": shifted}
    )


def test_the_fit_recovers_a_known_line_on_the_logit_scale():
    points = trend.trend_points(leaderboard(), "amazon")
    line = trend.fit_line(points["squad"], points["shifted"])
    assert line.slope == pytest.approx(SLOPE) and line.intercept == pytest.approx(INTERCEPT)
    assert line.residual_sd == pytest.approx(0, abs=1e-9) and line.n_models == 40
    assert float(line.predict(80.0)) == pytest.approx(
        float(trend.from_logit(INTERCEPT + SLOPE * trend.to_logit(80.0)))
    )


def test_a_point_five_above_the_line_has_effective_robustness_five():
    points = trend.trend_points(leaderboard(noise=0.05), "amazon")
    predicted = float(trend.trend_points(leaderboard(), "amazon").pipe(
        lambda p: trend.fit_line(p["squad"], p["shifted"]).predict(72.0)))  # fmt: skip
    rng = np.random.default_rng(1)
    squad_scores = rng.choice([0.0, 100.0], size=4000, p=[0.28, 0.72])
    shifted_scores = rng.choice([0.0, 100.0], size=4000, p=[1 - (predicted + 5) / 100,
                                                           (predicted + 5) / 100])  # fmt: skip
    er = trend.effective_robustness(
        points,
        bootstrap_means(squad_scores, 500, 0),
        bootstrap_means(shifted_scores, 500, 1),
        squad_scores.mean(),
        shifted_scores.mean(),
    )
    assert er["er"] == pytest.approx(5, abs=2.5)  # sampling of the 4,000 synthetic questions
    assert er["er_low"] < er["er"] < er["er_high"]
    assert er["er_q_low"] < er["er"] < er["er_q_high"]
    # Resampling the published models too can only add uncertainty (up to resampling noise).
    assert er["er_high"] - er["er_low"] >= 0.9 * (er["er_q_high"] - er["er_q_low"])


def test_trend_table_has_one_row_per_shifted_set_and_the_reference_is_skipped():
    published = leaderboard(noise=0.05)
    ours = pd.DataFrame({"set": ["squad/dev", "squadshifts/amazon"], "f1": [72.0, 50.0]})
    boot = {"squad/dev": np.full(200, 72.0), "squadshifts/amazon": np.full(200, 50.0)}
    table = trend.trend_table(published, ours, boot)
    assert table["set"].tolist() == ["squadshifts/amazon"]
    row = table.iloc[0]
    assert row["er"] == pytest.approx(50.0 - row["predicted"])
    assert row["er_q_low"] == pytest.approx(row["er"]) == pytest.approx(row["er_q_high"])


def test_nearest_models_are_the_closest_in_squad_f1_with_their_residuals():
    near = trend.nearest_models(leaderboard(noise=0.0), "amazon", 80.0, k=3)
    assert len(near) == 3 and (near["squad"] - 80.0).abs().max() < 1.5
    assert near["residual"].abs().max() < 1e-6


def test_a_bad_leaderboard_names_the_file_row_and_column(tmp_path):
    path = tmp_path / "published.csv"
    table = leaderboard(5)
    table.loc[3, "amazon_f1"] = 140.0
    table.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"published.csv: row 3: amazon_f1 140.0 is not a score"):
        trend.read_published(path)
    table.drop(columns=[trend.SQUAD_COLUMN]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing column 'squad_v11_test_f1'"):
        trend.read_published(path)
    with pytest.raises(ValueError, match="at least 3 models"):
        trend.fit_line([80, 90], [70, 80])
