"""Fuzzing prediction files and scoring: any file reads or gets one clear error; any predictions
score into a sound per-example table (the metric functions' own properties are in
test_metrics.py)."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from qa_utils.core.metrics import PredictionFormatError, normalize_answer, read_predictions
from qa_utils.core.records import build_records
from qa_utils.project.text import surrogate_at

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

texts = st.text(st.characters(codec=None), max_size=12)  # lone surrogates included
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), texts)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner), st.dictionaries(texts, inner)), max_leaves=12
)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """One folder for the module's examples (hypothesis reruns a test many times)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


@FUZZ
@given(
    st.one_of(
        st.dictionaries(texts, texts).map(json.dumps),
        json_values.map(json.dumps),
        st.text(max_size=30),
    ).map(str.encode)
    | st.binary(max_size=60)
)
def test_any_prediction_file_reads_as_strings_or_one_clear_error(folder, content):
    path = folder / "predictions.json"
    path.write_bytes(content)
    try:
        predictions = read_predictions(path)
    except PredictionFormatError as err:
        assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
        return
    for qid, text in predictions.items():  # strings that can be written: no lone surrogate
        assert isinstance(text, str) and surrogate_at(qid) is None and surrogate_at(text) is None


# Letters whose lower case is longer than they are ("İ") or that fold in odd ways, so that
# locating a prediction in its context is tested where offsets can slip.
letters = st.sampled_from(["İ", "ß", "ǅ", "ﬁ", "Σ", "a", "A", " ", "é", "E\u0301"])
contexts = (
    st.lists(st.one_of(letters, st.text(max_size=5)), min_size=1, max_size=12)
    .map("".join)
    .filter(str.strip)
)


@st.composite
def examples(draw: st.DrawFn) -> list[dict]:
    """Questions whose gold answers are spans of their contexts."""
    rows = []
    for i, context in enumerate(draw(st.lists(contexts, min_size=1, max_size=5))):
        starts = draw(st.lists(st.integers(0, len(context) - 1), min_size=1, max_size=3))
        golds = [context[s : s + draw(st.integers(1, len(context) - s))] for s in starts]
        rows.append(
            {"id": f"q{i}", "title": "t", "question": "?", "context": context,
             "answers": {"text": golds, "answer_start": starts}}
        )  # fmt: skip
    return rows


@st.composite
def predictions_for(draw: st.DrawFn, rows: list[dict]) -> dict[str, str]:
    """Predictions: spans of the contexts in another case, any text, for known and unknown ids."""
    chosen = {}
    for row in draw(st.lists(st.sampled_from(rows), unique_by=lambda r: r["id"])):
        context = row["context"]
        start = draw(st.integers(0, len(context) - 1))
        span = context[start : draw(st.integers(start + 1, len(context)))]
        case = draw(st.sampled_from([str, str.upper, str.lower, str.swapcase]))
        chosen[row["id"]] = draw(st.one_of(st.just(case(span)), st.text(max_size=20)))
    return chosen | draw(st.dictionaries(st.just("unknown"), st.text(max_size=5)))


DOTTED_I = {"context": "İ", "answers": {"text": ["İ"], "answer_start": [0]}}
"""Found by hypothesis: "İ" matches "I" case-insensitively but lowers to two characters."""


@FUZZ
@given(examples().flatmap(lambda rows: st.tuples(st.just(rows), predictions_for(rows))))
@example(([{**DOTTED_I, "id": "q0", "title": "t", "question": "?"}], {"q0": "I"}))
def test_any_predictions_score_into_a_sound_per_example_table(case):
    rows, predictions = case
    scored = build_records(rows, predictions)
    table = scored.table
    assert list(table["id"]) == [row["id"] for row in rows]
    assert set(table["em"]) <= {0.0, 100.0} and table["f1"].between(0, 100).all()
    for row in table.itertuples():
        if row.em == 100.0:  # EM implies full F1, unless both sides normalise to nothing
            assert row.f1 == (100.0 if normalize_answer(row.prediction) else 0.0)
        if row.pred_start >= 0:
            found = row.context[row.pred_start : row.pred_end]
            # case-insensitive as a regex sees it: "İ".lower() is two characters, so lower()
            # would reject the one-character span that matches "I" (found by hypothesis)
            assert re.fullmatch(re.escape(row.prediction), found, re.IGNORECASE)
    assert scored.unknown_ids == [k for k in predictions if k not in set(table["id"])]
    assert scored.report.total == len(rows)
