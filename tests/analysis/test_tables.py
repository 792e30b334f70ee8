"""Tests of the error analysis: per-example table, slice metrics, comparison and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qa_utils.analysis.answer_types import ANSWER_TYPES
from qa_utils.analysis.slicing import ERROR_CATEGORIES, SLICES, train_word_counts
from qa_utils.analysis.tables import (
    analyse,
    answer_type_confusion,
    compare_tables,
    confidently_wrong,
    merge_records,
    slice_metrics,
)
from qa_utils.cli import command_main
from qa_utils.core.data import load_squad
from qa_utils.core.records import build_records

main = command_main("analyse")

TOWNS = ["Velmora", "Orrin", "Tal Brae", "Kesk", "Dunmere", "Ashby", "Pellow", "Carn"]


def synthetic_squad(n: int) -> dict:
    """A SQuAD v1.1 dataset of `n` template questions (one paragraph each)."""
    paragraphs = []
    for i in range(n):
        town, year = f"{TOWNS[i % len(TOWNS)]} {i}", str(1800 + i)
        context = f"{town} was founded in {year}. Its harbour holds {i % 7 + 2} boats."
        qa = {"id": f"s{i}", "question": f"When was {town} founded?"}
        qa["answers"] = [{"text": year, "answer_start": context.index(year)}]
        paragraphs.append({"context": context, "qas": [qa]})
    return {"version": "1.1", "data": [{"title": "Towns", "paragraphs": paragraphs}]}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> dict[str, Path]:
    """A 200-question dataset, predictions right 80% of the time, and a 10%-blanked copy."""
    folder = tmp_path_factory.mktemp("synthetic")
    data = synthetic_squad(200)
    paths = {name: folder / f"{name}.json" for name in ("dataset", "predictions", "blanked")}
    paths["dataset"].write_text(json.dumps(data))
    qas = [p["qas"][0] for p in data["data"][0]["paragraphs"]]
    predictions = {
        q["id"]: q["answers"][0]["text"] if i % 5 else "boats" for i, q in enumerate(qas)
    }
    blanked = {k: "" if i % 10 == 1 else v for i, (k, v) in enumerate(predictions.items())}
    paths["predictions"].write_text(json.dumps(predictions))
    paths["blanked"].write_text(json.dumps(blanked))
    return paths


@pytest.fixture(scope="module")
def fixture_paths(fixtures_dir_module) -> dict[str, Path]:
    return {
        name: fixtures_dir_module / f"analysis_{name}.json"
        for name in ("squad", "predictions", "train")
    }


@pytest.fixture(scope="module")
def fixtures_dir_module() -> Path:
    return Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def scored(fixture_paths):
    examples = load_squad(fixture_paths["squad"])
    predictions = json.loads(fixture_paths["predictions"].read_text())
    return build_records(examples, predictions)


@pytest.fixture(scope="module")
def analysis(scored, fixture_paths):
    train = load_squad(fixture_paths["train"])
    counts = train_word_counts(train["context"], train["question"])
    return analyse(scored.table, word_counts=counts, rare_k=1, n_resamples=200, seed=0)


def test_missing_ids_score_zero_and_unknown_ids_are_reported(scored):
    table = scored.table.set_index("id")
    assert len(table) == 14 and scored.missing_ids == ["m3"]
    assert scored.unknown_ids == ["zz-unknown"]
    assert table.loc["m3", ["prediction", "em", "f1"]].tolist() == ["", 0.0, 0.0]
    assert table.loc["v3", "em"] == 100.0  # matches the second gold answer


def test_table_locates_predictions_in_the_context(scored):
    table = scored.table.set_index("id")
    assert table.loc["r4", "pred_start"] == table.loc["r4", "context"].index("1977")
    assert table.loc["r5", "pred_start"] == -1  # not in the context
    assert table.loc["r4", "pred_end"] == table.loc["r4", "pred_start"] + 4


def test_slice_metrics_recombine_to_the_overall_metric(analysis):
    overall = analysis.overall.iloc[0]
    for column, rows in analysis.slices.groupby("slice"):
        assert rows["n"].sum() == overall["n"], column
        for metric in ("em", "f1"):
            weighted = (rows["n"] * rows[metric].fillna(0)).sum() / rows["n"].sum()
            assert weighted == pytest.approx(overall[metric], abs=1e-9), (column, metric)


def test_slice_metrics_recombine_on_a_random_table():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"em": rng.choice([0.0, 100.0], 500), "f1": rng.uniform(0, 100, 500)})
    table["group"] = pd.Categorical(rng.choice(list("abcde"), 500), categories=list("abcdef"))
    rows = slice_metrics(table, ["group"], n_resamples=50)
    assert rows["value"].tolist() == list("abcdef") and rows.loc[5, "n"] == 0
    for metric in ("em", "f1"):
        weighted = (rows["n"] * rows[metric].fillna(0)).sum() / 500
        assert weighted == pytest.approx(table[metric].mean(), abs=1e-9)


def test_slices_have_intervals_and_flag_small_slices(analysis):
    slices = analysis.slices
    assert set(slices["slice"]) == set(SLICES) - {"windows"}
    filled = slices[slices["n"] > 0]
    assert (filled["em_low"] <= filled["em"]).all() and (filled["em"] <= filled["em_high"]).all()
    assert slices["small"].all()  # 14 questions: every slice is small


def test_answer_type_confusion_is_square_and_counts_every_question(analysis):
    confusion = analysis.confusion
    assert list(confusion.index) == list(confusion.columns) == list(ANSWER_TYPES)
    assert confusion.to_numpy().sum() == 14
    assert confusion.equals(answer_type_confusion(analysis.table))


def test_error_categories_count_every_question_with_examples(analysis):
    errors = analysis.errors.set_index("category")
    assert list(errors.index) == list(ERROR_CATEGORIES)
    assert errors["n"].sum() == 14 and errors["share"].sum() == pytest.approx(1.0)
    assert errors.loc["exact match", "n"] == 6 and errors.loc["no answer", "n"] == 2
    assert errors.loc["wrong span, gold sentence", "n"] == 1
    assert errors.loc["wrong span, other sentence", "n"] == 1
    assert errors.loc["not in context", "n"] == 1
    examples = analysis.error_examples
    assert examples.groupby("category").size().le(3).all()
    assert set(examples.loc[examples["category"] == "not in context", "id"]) == {"r5"}


def test_without_confidences_calibration_is_skipped(analysis):
    assert analysis.calibration is None and analysis.ece is None
    assert analysis.confidently_wrong is None


def test_merge_records_keeps_confidence_only_for_the_same_answer(scored):
    records = scored.table[["id", "prediction"]].copy()
    records["confidence"] = 0.9
    records.loc[records["id"] == "v1", "prediction"] = "something else"
    records["pred_start"] = 0
    merged = merge_records(scored.table, records).set_index("id")
    assert np.isnan(merged.loc["v1", "confidence"]) and merged.loc["v2", "confidence"] == 0.9
    assert merged.loc["v1", "pred_start"] == scored.table.set_index("id").loc["v1", "pred_start"]
    assert merged.loc["v2", "pred_start"] == 0 and merged["pred_start"].dtype == np.int64


def test_calibration_and_confidently_wrong_with_confidences(scored):
    table = scored.table.assign(confidence=np.linspace(0.05, 0.95, len(scored.table)))
    result = analyse(table, n_resamples=50)
    assert 0 <= result.ece <= 1 and result.calibration["n"].sum() == 14
    wrong = confidently_wrong(result.table, n=3)
    assert len(wrong) == 3 and (wrong["f1"] == 0).all()
    assert wrong["confidence"].is_monotonic_decreasing
    assert set(wrong.columns) >= {"question", "gold answers", "prediction", "confidence"}


def test_compare_identical_tables_gives_zero_difference_and_p_one(scored):
    comparison = compare_tables(scored.table, scored.table.copy(), n_resamples=200)
    assert comparison["difference"].tolist() == [0.0, 0.0]
    assert comparison["p_value"].tolist() == [1.0, 1.0]
    assert (comparison[["ci_low", "ci_high"]].to_numpy() == 0).all()


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the command line in-process; return (exit status, stdout, stderr)."""
    status = main([str(a) for a in args])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.fixture(scope="module")
def cli_run(fixture_paths, scored, tmp_path_factory) -> tuple[int, str, Path]:
    """One run of the command line on the fixtures, with records (confidences) and --train."""
    folder = tmp_path_factory.mktemp("cli")
    scored.table.assign(confidence=0.8).to_parquet(folder / "records.parquet")
    args = [fixture_paths["squad"], fixture_paths["predictions"], "--out", folder / "out"]
    args += ["--records", folder / "records.parquet", "--train", fixture_paths["train"]]
    status = main([str(a) for a in [*args, "--bootstrap", "100"]])
    return status, folder / "out"


@pytest.mark.slow
def test_cli_writes_tables_figures_and_a_summary(cli_run, capsys):
    status, out_dir = cli_run
    written = {p.name for p in out_dir.iterdir()}
    assert status == 0
    assert {"examples.csv", "slices.csv", "overall.csv", "answer_type_confusion.csv"} <= written
    assert {"error_categories.csv", "error_examples.csv", "calibration.csv"} <= written
    assert {"answer_type_confusion.png", "slices_f1.png", "error_categories.png"} <= written
    assert {"reliability.png", "confidently_wrong.csv"} <= written
    assert "rare_words" in set(pd.read_csv(out_dir / "slices.csv")["slice"])
    examples = pd.read_csv(out_dir / "examples.csv")
    assert len(examples) == 14 and "context" not in examples


@pytest.mark.slow
def test_cli_summary(fixture_paths, tmp_path, capsys):
    status, out, _ = run_cli(
        [fixture_paths["squad"], fixture_paths["predictions"], "--out", tmp_path, "--no-spacy"],
        capsys,
    )
    assert status == 0 and "EM 42.86" in out
    assert "1 questions without a prediction" in out and "zz-unknown" in out
    assert "calibration: skipped (no confidences" in out and "rule-based" in out
    assert "reliability.png" not in {p.name for p in tmp_path.iterdir()}


@pytest.mark.slow
def test_cli_paired_comparison_detects_blanked_answers(synthetic, tmp_path, capsys):
    base = [synthetic["dataset"], synthetic["predictions"], "--out", tmp_path, "--no-spacy"]
    status, out, _ = run_cli([*base, "--compare", synthetic["blanked"]], capsys)
    comparison = pd.read_csv(tmp_path / "comparison.csv").set_index("metric")
    assert status == 0 and "compare EM: +10.00" in out
    assert (comparison["p_value"] < 0.01).all() and (comparison["ci_low"] > 0).all()
    assert "comparison.png" in {p.name for p in tmp_path.iterdir()}


@pytest.mark.parametrize(
    ("content", "which", "message"),
    [
        (None, "predictions", "no such file"),
        ("{not json", "predictions", "invalid JSON"),
        ('["a", "b"]', "predictions", "expected a JSON object"),
        ('{"v1": 3}', "predictions", "expected a string"),
        ('{"data": 5}', "dataset", ""),
        ("", "records", ""),
    ],
)
def test_cli_bad_files_give_one_line_naming_the_file(
    fixture_paths, tmp_path, capsys, content, which, message
):
    bad = tmp_path / ("bad.parquet" if which == "records" else "bad.json")
    if content is not None:
        bad.write_text(content)
    paths = {"dataset": fixture_paths["squad"], "predictions": fixture_paths["predictions"]}
    extra = ["--records", bad] if which == "records" else []
    paths[which] = bad
    status, out, err = run_cli(
        [paths["dataset"], paths["predictions"], "--out", tmp_path / "o", *extra], capsys
    )
    assert status == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1
    assert str(bad) in err and message in err


def test_cli_records_without_confidence_are_rejected(fixture_paths, scored, tmp_path, capsys):
    scored.table[["id", "prediction"]].to_parquet(tmp_path / "records.parquet")
    args = [fixture_paths["squad"], fixture_paths["predictions"], "--out", tmp_path / "o"]
    status, _, err = run_cli([*args, "--records", tmp_path / "records.parquet"], capsys)
    assert status == 2 and "lack column(s) confidence" in err
