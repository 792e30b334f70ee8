"""Figures of real distribution shift: the published trend with our point, slices per set."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from qa_utils import plots
from qa_utils.analysis import trend


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_trend_figure_has_one_panel_per_set_with_our_er_in_its_title():
    squad = np.linspace(64, 95, 20)
    published = pd.DataFrame({"model": [f"m{i}" for i in range(20)],
                              trend.SQUAD_COLUMN: squad, "reddit_f1": squad - 12,
                              "amazon_f1": squad - 16})  # fmt: skip
    ours = pd.DataFrame({"set": ["squad/dev", "squadshifts/reddit", "squadshifts/amazon"],
                         "f1": [72.0, 61.0, 55.0], "f1_low": [71.0, 60.0, 54.0],
                         "f1_high": [73.0, 62.0, 56.0]})  # fmt: skip
    boot = {name: np.full(50, f1) for name, f1 in zip(ours["set"], ours["f1"], strict=True)}
    table = trend.trend_table(published, ours, boot)
    fig = plots.plot_shift_trend(published, ours, table)
    axes = fig.get_axes()
    assert len(axes) == 2
    assert axes[0].get_title().startswith("squadshifts/reddit\nER ")
    assert f"{table.iloc[1]['er']:+.1f}" in axes[1].get_title()
    assert len(axes[0].collections[0].get_offsets()) == 20  # the published models


def test_domain_slice_figure_has_one_bar_group_per_set():
    long = pd.DataFrame({
        "set": ["a", "a", "b", "b"], "slice": "question_word", "value": ["what", "why"] * 2,
        "f1": [80.0, 70.0, 60.0, 30.0], "f1_low": [78.0, 65.0, 55.0, 25.0],
        "f1_high": [82.0, 75.0, 65.0, 35.0],
    })  # fmt: skip
    fig = plots.plot_domain_slices(long, "question_word")
    ax = fig.get_axes()[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["what", "why"]
    assert [round(p.get_height()) for p in ax.patches] == [80, 70, 60, 30]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b"]


def two_set_slices(small: list[bool]) -> pd.DataFrame:
    """Question-word slices of sets a and b (what, why each), flagged `small` as given."""
    return pd.DataFrame({
        "set": ["a", "a", "b", "b"], "slice": "question_word", "value": ["what", "why"] * 2,
        "f1": [80.0, 70.0, 60.0, 0.0], "f1_low": [78.0, 65.0, 55.0, 0.0],
        "f1_high": [82.0, 75.0, 65.0, 0.0], "small": small,
    })  # fmt: skip


def test_domain_slice_figure_leaves_out_small_slices_and_says_so():
    long = two_set_slices([False, False, False, True])
    ax = plots.plot_domain_slices(long, "question_word").get_axes()[0]
    heights = [p.get_height() for p in ax.patches]
    assert [round(h) for h in heights[:3]] == [80, 70, 60] and np.isnan(heights[3])
    assert "fewer than 30 questions" in ax.get_xlabel()


def test_domain_slice_figure_drops_values_without_bars_and_names_the_column_in_words():
    long = two_set_slices([False, True, False, True])
    ax = plots.plot_domain_slices(long, "question_word").get_axes()[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["what"]
    assert [round(p.get_height()) for p in ax.patches] == [80, 60]
    assert ax.get_title() == "F1 by question word"
