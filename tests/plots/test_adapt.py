"""The adaptation curve figure: two panels, the committed points and the notebook's own run."""

from __future__ import annotations

import pandas as pd

from qa_utils.plots import plot_adaptation


def points(sizes: list[int], seeds: list[int], shift: float = 0.0) -> pd.DataFrame:
    """Curve rows with F1 columns and intervals for the Amazon and SQuAD test sets."""
    rows = []
    for size in sizes:
        for seed in seeds:
            amazon, squad = 50 + size / 100 + seed + shift, 80 - size / 1000
            rows.append({"size": size, "seed": seed, "amazon_f1": amazon, "squad_f1": squad})
    table = pd.DataFrame(rows)
    for column in ("amazon_f1", "squad_f1"):
        table[f"{column}_low"], table[f"{column}_high"] = table[column] - 2, table[column] + 2
    return table


def means(ax) -> list:
    """The mean lines of a panel (the points are drawn without a line)."""
    return [line for line in ax.get_lines() if line.get_linestyle() == "-"]


def test_curve_has_a_panel_per_test_set_and_a_line_per_run():
    fig = plot_adaptation(points([0, 500, 2000], [0, 1, 2]), own=points([0, 100], [0], 1.0))
    left, right = fig.axes
    assert "Amazon" in left.get_title() and "SQuAD" in right.get_title()
    committed, own = means(left)
    assert list(committed.get_xdata()) == [0, 500, 2000]
    assert committed.get_ydata()[1] == 56.0  # the mean over the three seeds
    assert list(own.get_xdata()) == [0, 100]
    assert [t.get_text() for t in left.get_legend().get_texts()][1] == "this run"


def test_curve_without_an_own_run_has_one_line_per_panel():
    fig = plot_adaptation(points([0, 500], [0]))
    assert all(
        len([ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]) == 1 for ax in fig.axes
    )
