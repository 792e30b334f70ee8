"""Tests of the figures: one style (named sizes, one DPI, atomic PNGs), and the error-analysis
figures' titles, labelled axes and counts."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread
from scipy.special import expit

from qa_utils import plots
from qa_utils.analysis.answer_types import ANSWER_TYPES
from qa_utils.analysis.slicing import SLICES
from qa_utils.analysis.stats import calibration_table
from qa_utils.analysis.tables import compare_tables, overall_metrics, slice_metrics
from qa_utils.analysis.unanswerable import (
    abstain_confusion,
    best_row,
    coverage_risk,
    curve_at,
    threshold_curve,
)
from qa_utils.core.postprocess import sigmoid
from qa_utils.plots.analysis import SLICE_COLOR, SMALL_COLOR


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def table() -> pd.DataFrame:
    """A small per-example table with two slicing columns."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "id": [f"q{i}" for i in range(120)],
            "em": rng.choice([0.0, 100.0], 120),
            "f1": rng.uniform(0, 100, 120),
        }
    )
    table["question_word"] = rng.choice(["what", "who", "why"], 120, p=[0.6, 0.35, 0.05])
    table["position"] = rng.choice(["0-20%", "20-40%"], 120)
    return table


def texts(fig) -> str:
    """Every piece of text drawn on a figure, joined."""
    return " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")))


def assert_labelled(ax) -> None:
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_confusion_heatmap_is_row_normalised_with_counts():
    counts = pd.DataFrame(np.diag(np.arange(1, 11)), index=ANSWER_TYPES, columns=ANSWER_TYPES)
    counts.iloc[0, 1] = 3
    fig = plots.plot_answer_type_confusion(counts)
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == plots.SIZES["square"]
    assert_labelled(ax)
    drawn = texts(fig)
    assert "25%\n(1)" in drawn and "75%\n(3)" in drawn and "Date (n=4)" in drawn


def test_slice_plot_shows_counts_and_greys_small_slices(table):
    slices = slice_metrics(table, ["question_word"], n_resamples=50)
    overall = overall_metrics(table, 50)["f1"].iloc[0]
    fig = plots.plot_slice(slices, "question_word", "Question word", overall=overall)
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == plots.SIZES["single"]
    assert_labelled(ax)
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [f"{v} ({n})" for v, n in zip(slices["value"], slices["n"], strict=True)]
    colors = {plt.matplotlib.colors.to_hex(p.get_facecolor()) for p in ax.patches}
    assert colors == {SLICE_COLOR, SMALL_COLOR}  # "why" has fewer than 30


def test_slice_grid_has_one_panel_per_slice(table, tmp_path):
    slices = slice_metrics(table, ["question_word", "position"], n_resamples=50)
    fig = plots.plot_slice_grid(slices, SLICES, "em", overall=50.0)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert tuple(fig.get_size_inches()) == plots.SIZES["grid"]
    assert [ax.get_title() for ax in visible] == ["Question word", "Answer position in context"]
    assert fig.get_suptitle() and all(ax.get_ylabel() == "EM (%)" for ax in visible)
    assert all(ax.get_xlabel() for ax in visible)
    fig.savefig(tmp_path / "grid.png")
    assert (tmp_path / "grid.png").stat().st_size > 0


def test_error_categories_plot_shows_counts_and_shares():
    errors = pd.DataFrame({"category": ["exact match", "no answer"], "n": [3, 1]})
    errors["share"] = errors["n"] / 4
    fig = plots.plot_error_categories(errors)
    assert tuple(fig.get_size_inches()) == plots.SIZES["single"]
    assert_labelled(fig.axes[0])
    assert "3 (75.0%)" in texts(fig) and "1 (25.0%)" in texts(fig)


def test_reliability_diagram_shows_ece_and_bin_counts():
    table = calibration_table([0.1, 0.15, 0.9, 0.95], [0, 1, 1, 1], n_bins=10)
    fig = plots.plot_reliability(table, 0.125)
    top, bottom = fig.axes
    assert tuple(fig.get_size_inches()) == plots.SIZES["tall"]
    assert "ECE = 0.125" in top.get_title() and top.get_ylabel()
    labels = [t.get_text() for t in top.get_legend().get_texts()]
    assert "bin (mean confidence, exact match rate)" in labels and "mean confidence" not in labels
    assert bottom.get_xlabel() == "Confidence" and bottom.get_ylabel() == "Questions"
    assert "2" in [t.get_text() for t in bottom.texts]


def test_comparison_plot_shows_difference_and_p_value(table):
    other = table.assign(em=0.0, f1=0.0)
    fig = plots.plot_comparison(compare_tables(table, other, 50), ("ours", "blank"), 50)
    ax = fig.axes[0]
    assert tuple(fig.get_size_inches()) == plots.SIZES["single"]
    assert_labelled(ax)
    assert "ours minus blank" in ax.get_title()
    assert "n=120" in texts(fig)
    # every answer blanked: p at the floor 1 / 51 of 50 resamples, a bound, not an exact value
    assert "p ≤ 0.02" in texts(fig) and "p=" not in texts(fig) and "p = 0.02" not in texts(fig)
    more = plots.plot_comparison(compare_tables(table, other, 50), ("ours", "blank"), 1000)
    assert "p = 0.020" in texts(more)  # the same p-value, above the floor of 1,000 resamples


def _v2_table() -> pd.DataFrame:
    """A SQuAD 2.0 per-example table: half unanswerable, distinct no-answer probabilities."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "is_impossible": np.arange(40) % 2 == 0,
            "abstained": rng.random(40) < 0.4,
            "na_prob": rng.permutation(40) / 40,
            "answer_f1": rng.choice([0.0, 100.0], 40),
        }
    )


def test_abstain_confusion_plot_shows_counts_and_row_totals():
    table = _v2_table()
    fig = plots.plot_abstain_confusion(abstain_confusion(table))
    assert tuple(fig.get_size_inches()) == plots.SIZES["single"]
    assert_labelled(fig.axes[0])
    assert "unanswerable (n=20)" in texts(fig) and "answerable (n=20)" in texts(fig)


def test_threshold_plot_marks_the_thresholds_with_their_scores():
    curve = threshold_curve(_v2_table())
    best = best_row(curve)
    fig = plots.plot_threshold_curve(curve, {"chosen": 0.5, "best": float(best["threshold"])})
    full, zoom = fig.axes
    assert tuple(fig.get_size_inches()) == plots.SIZES["wide"]
    assert_labelled(full) and assert_labelled(zoom)
    labels = [t.get_text() for t in zoom.get_legend().get_texts()]
    assert f"best: {best['threshold']:.3g} (F1 {best['score']:.1f})" in labels
    assert f"chosen: 0.5 (F1 {curve_at(curve, 0.5)['score']:.1f})" in labels


def test_threshold_plot_on_null_diff_spreads_probabilities_near_zero():
    table = _v2_table().assign(na_prob=lambda t: expit(-14.0 + t["na_prob"]))
    curve = threshold_curve(table)
    marks = {"validation": sigmoid(-13.38), "hindsight": sigmoid(-13.17)}
    fig = plots.plot_threshold_curve(curve, marks, null_diff=True)
    full, zoom = fig.axes
    assert "null_diff" in full.get_xlabel()
    assert full.get_xlim()[1] - full.get_xlim()[0] > 0.5  # not squeezed against x = 0
    assert zoom.get_xlim()[0] < -13.38 and zoom.get_xlim()[1] > -13.17
    labels = " ".join(t.get_text() for t in zoom.get_legend().get_texts())
    assert "validation: -13.38 (F1" in labels and "hindsight: -13.17 (F1" in labels
    # Abstaining on all (na_prob threshold -inf) is said as T = -inf, drawn at the data's edge.
    edge = plots.plot_threshold_curve(
        curve, {"all": float(curve["threshold"].iloc[0])}, null_diff=True
    )
    line = edge.axes[1].get_legend().get_lines()[-1]
    assert (
        line.get_label().startswith("all: -inf (F1") and np.isfinite(edge.axes[0].get_xlim()).all()
    )
    assert edge.axes[0].get_xlim()[0] > -20


def test_coverage_risk_plot_shows_its_area_and_a_chance_ranking():
    coverage, area = coverage_risk(_v2_table())
    fig = plots.plot_coverage_risk(coverage, area)
    ax = fig.axes[0]
    assert_labelled(ax)
    assert f"area {area:.3f}" in ax.get_title()
    chance = coverage["risk"].iloc[-1]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert f"chance ranking (area {chance:.3f})" in labels
    assert any(np.allclose(line.get_ydata(), chance) for line in ax.get_lines())


def test_reliability_diagram_hatches_bins_of_few_questions():
    table = calibration_table(np.r_[np.zeros(30), [0.95]], np.r_[np.arange(30) % 2, [1]])
    fig = plots.plot_reliability(table, 0.1, "unanswerable", "No-answer probability", 20)
    top = fig.axes[0]
    hatched = [p for p in top.patches if p.get_hatch()]
    assert len(hatched) == 10 - 1 and "bins of fewer than 20" in texts(fig)
    assert [p for p in top.patches if not p.get_hatch()][0].get_height() == 0.5
    plain = plots.plot_reliability(table, 0.1)
    assert not [p for p in plain.axes[0].patches if p.get_hatch()]


def test_reliability_diagram_names_what_it_bins():
    table = calibration_table([0.1, 0.9], [0, 1], n_bins=10)
    fig = plots.plot_reliability(table, 0.1, "unanswerable", "No-answer probability")
    top, bottom = fig.axes
    assert top.get_ylabel() == "Unanswerable rate"
    assert bottom.get_xlabel() == "No-answer probability"


# ---------------------------------------------------------------- style


def test_new_figure_has_the_named_size_dpi_and_constrained_layout():
    for name, size in plots.SIZES.items():
        fig, ax = plots.new_figure(name)
        assert tuple(fig.get_size_inches()) == size and fig.dpi == plots.DPI
        assert fig.get_layout_engine().__class__.__name__ == "ConstrainedLayoutEngine"
        assert fig.axes == [ax] and plt.fignum_exists(fig.number)  # pyplot: Jupyter shows it
    fig, axes = plots.new_figure("tall", 2, 1, sharex=True, height_ratios=[3, 1])
    assert axes.shape == (2,) and axes[1].get_shared_x_axes().joined(axes[0], axes[1])
    with pytest.raises(ValueError, match="unknown figure size 'huge'"):
        plots.new_figure("huge")


def test_save_figure_writes_a_png_at_the_project_dpi_and_closes_the_figure(tmp_path):
    fig, ax = plots.new_figure("single")
    ax.plot([0, 1], [0, 1])
    path = plots.save_figure(fig, tmp_path / "figures" / "line.png")
    assert path == tmp_path / "figures" / "line.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = plots.SIZES["single"]
    assert imread(path).shape[:2] == (round(height * plots.DPI), round(width * plots.DPI))
    assert not plt.fignum_exists(fig.number)
    assert [p.name for p in path.parent.iterdir()] == ["line.png"]  # no temporary file left


def test_save_figure_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "line.png"
    target.write_bytes(b"old")
    fig, _ = plots.new_figure("single")

    def crash(path, **kwargs):
        Path(path).write_bytes(b"half a png")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.save_figure(fig, target)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["line.png"]


def test_every_plot_function_is_exported_once_and_sized_only_by_style():
    package = Path(plots.__file__).parent
    defined = []
    for info in pkgutil.iter_modules([str(package)]):
        module = importlib.import_module(f"qa_utils.plots.{info.name}")
        defined += [
            n
            for n, f in vars(module).items()
            if n.startswith("plot_") and getattr(f, "__module__", None) == module.__name__
        ]
        if info.name != "style":
            source = (package / f"{info.name}.py").read_text()
            for banned in ("figsize", "dpi", "plt.subplots", "Figure(", "tight_layout"):
                assert banned not in source, f"{info.name}.py: {banned}"
    assert len(defined) == len(set(defined)), "a plot function name is defined twice"
    assert {n for n in plots.__all__ if n.startswith("plot_")} == set(defined)
    assert {"new_figure", "save_figure"} <= set(plots.__all__)


def test_ipython_shows_a_figure_as_png_whatever_the_backend():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        assert plots.style.register_png_display(shell)
        fig, ax = plots.new_figure("single")
        ax.plot([0, 1])
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"].startswith(b"\x89PNG")
    finally:
        InteractiveShell.clear_instance()


def test_no_shell_no_registration(monkeypatch):
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: None)
    assert not plots.style.register_png_display()


def test_learning_curves_draw_one_line_per_run():
    from qa_utils.plots.training import plot_learning_curves

    curves = pd.DataFrame(
        {
            "train_questions": [100, 100, 100, 100, 400, 400],
            "init": ["pretrained", "pretrained", "random", "random", "pretrained", "random"],
            "step": [5, 10, 5, 10, 5, 5],
            "loss": [4.0, 3.0, 5.5, 5.4, 3.9, 5.6],
        }
    )
    ax = plot_learning_curves(curves).axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == [
        "pretrained, 100 questions",
        "random, 100 questions",
        "pretrained, 400 questions",
        "random, 400 questions",
    ]
    assert ax.get_xlabel() == "step"
