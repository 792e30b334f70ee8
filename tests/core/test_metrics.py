"""Tests for qa_utils.metrics: properties, equivalence with the official script, the CLI."""

from __future__ import annotations

import doctest
import json
import os
import random
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_utils.core import metrics as core_metrics
from qa_utils.core.data import load_squad, resolve_squad_source
from qa_utils.core.metrics import (
    PER_EXAMPLE_COLUMNS,
    exact_match_score,
    f1_score,
    metric_max_over_ground_truths,
    normalize_answer,
    read_predictions,
    score_predictions,
)
from qa_utils.metrics import main
from qa_utils.project.paths import load_official, official_script

REPO = Path(__file__).resolve().parents[2]
MINI = REPO / "tests" / "fixtures" / "mini_squad.json"
REFERENCE_SCRIPT = official_script("v1.1")
official = load_official("v1.1")

# Words and separators chosen to collide often: articles, case, ASCII and unicode punctuation.
WORDS = ["a", "an", "the", "The", "A", "AN", "Paris", "paris", "tower", "1,889", "ﬁne", "x"]
WORDS += ["café", "Café", "naïve", "東京", "🌱", "—", "-", "'s", "U.S.", "e.g."]
WORDS += ["İstanbul", "ǅ"]
SEPARATORS = [" ", "  ", "\t", "\n", ",", ".", "-", "—", "\u00a0", "\u3000", "", "(", "'"]
worded = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=8)
answers = st.one_of(st.text(max_size=30), worded.map(lambda ps: "".join(w + s for w, s in ps)))
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_doctests_pass():
    """The doctest examples in qa_utils.metrics hold (pytest runs them too if asked)."""
    assert doctest.testmod(core_metrics, optionflags=doctest.ELLIPSIS).failed == 0


# --- properties of the metric functions -------------------------------------------------------


@relaxed
@given(answers)
def test_normalize_matches_official(text):
    assert normalize_answer(text) == official.normalize_answer(text)


@relaxed
@given(answers, answers)
def test_exact_match_and_f1_match_official(prediction, gold):
    assert exact_match_score(prediction, gold) == official.exact_match_score(prediction, gold)
    assert f1_score(prediction, gold) == official.f1_score(prediction, gold)


@relaxed
@given(answers)
def test_normalize_is_idempotent(text):
    once = normalize_answer(text)
    assert normalize_answer(once) == once


@relaxed
@given(answers)
def test_normalized_text_has_no_punctuation_articles_or_extra_spaces(text):
    normalized = normalize_answer(text)
    assert not set(normalized) & set(string.punctuation)
    assert not {"a", "an", "the"} & set(normalized.split(" "))
    assert normalized == " ".join(normalized.split())


@relaxed
@given(answers, answers)
def test_exact_match_implies_full_f1(prediction, gold):
    if exact_match_score(prediction, gold):
        # Officially, two answers that normalise to "" match exactly but have F1 0.
        assert f1_score(prediction, gold) == (1.0 if normalize_answer(gold) else 0.0)


@relaxed
@given(answers, answers)
def test_f1_is_symmetric_and_bounded(a, b):
    assert f1_score(a, b) == f1_score(b, a)
    assert 0.0 <= f1_score(a, b) <= 1.0


@relaxed
@given(answers)
def test_f1_of_an_answer_with_itself(text):
    assert f1_score(text, text) == (1.0 if normalize_answer(text) else 0.0)


@relaxed
@given(answers, st.lists(answers, min_size=1, max_size=4))
def test_max_over_ground_truths_matches_official(prediction, golds):
    pairs = ((f1_score, official.f1_score), (exact_match_score, official.exact_match_score))
    for ours, theirs in pairs:
        expected = official.metric_max_over_ground_truths(theirs, prediction, golds)
        assert metric_max_over_ground_truths(ours, prediction, golds) == expected


questions = st.lists(
    st.tuples(st.lists(answers, min_size=1, max_size=4), st.one_of(st.none(), answers)),
    min_size=1,
    max_size=12,
)


@relaxed
@given(questions)
def test_scorer_matches_official_evaluate(qs):
    examples = [{"id": f"q{i}", "answers": {"text": golds}} for i, (golds, _) in enumerate(qs)]
    predictions = {f"q{i}": p for i, (_, p) in enumerate(qs) if p is not None}
    qas = [
        {"id": f"q{i}", "answers": [{"text": t} for t in golds]} for i, (golds, _) in enumerate(qs)
    ]
    nested = [{"paragraphs": [{"qas": qas}]}]
    report = score_predictions(examples, predictions)
    expected = official.evaluate(nested, predictions)
    assert report.summary() == expected
    assert set(report.per_example["em"]) <= {0.0, 100.0}
    assert report.per_example["f1"].between(0.0, 100.0).all()


# --- score_predictions on our fixture -------------------------------------------------------


@pytest.fixture(scope="module")
def mini():
    return load_squad(MINI)


def test_gold_predictions_score_100(mini):
    predictions = {row["id"]: row["answers"]["text"][0] for row in mini}
    report = score_predictions(mini, predictions)
    assert (report.exact_match, report.f1, report.total) == (100.0, 100.0, len(mini))
    assert report.missing_ids == [] and report.unknown_ids == []


def test_missing_and_unknown_ids_are_reported(mini):
    predictions = {row["id"]: row["answers"]["text"][0] for row in mini.select(range(5))}
    predictions["not-a-question"] = "x"
    report = score_predictions(mini, predictions)
    assert report.missing_ids == list(mini["id"])[5:]
    assert report.unknown_ids == ["not-a-question"]
    assert report.exact_match == pytest.approx(100.0 * 5 / len(mini))
    missing = report.per_example.set_index("id").loc[report.missing_ids]
    assert missing["prediction"].isna().all() and (missing[["em", "f1"]] == 0).all().all()


def test_per_example_table(mini):
    predictions = {row["id"]: "" for row in mini}
    predictions[mini[0]["id"]] = "in 1902, I think"
    table = score_predictions(mini, predictions).per_example
    assert tuple(table.columns) == PER_EXAMPLE_COLUMNS
    assert list(table["id"]) == list(mini["id"])
    first = table.iloc[0]
    assert first["gold_answers"] == ["1902", "1902", "in 1902"]
    assert (first["em"], first["f1"]) == (0.0, pytest.approx(100.0 * 2 * (2 / 4) / (1 + 2 / 4)))
    assert (table["em"].iloc[1:] == 0).all()


def test_scorer_rejects_non_string_prediction_and_empty_split(mini):
    with pytest.raises(
        ValueError, match="prediction for id 'mini-1-1-1' must be a string, got int"
    ):
        score_predictions(mini, {"mini-1-1-1": 3})
    with pytest.raises(ValueError, match="no questions"):
        score_predictions([], {})


# --- equivalence with the official script on the real dev set -------------------------------


@pytest.fixture(scope="module")
def dev():
    """The official dev set: nested (for the official script), loaded, and as row dicts."""
    path = resolve_squad_source("validation")
    if not isinstance(path, Path) or path.name != "dev-v1.1.json":
        pytest.skip("the official dev-v1.1.json is not available (set QA_SQUAD_DEV)")
    dataset = load_squad(path)
    columns = dataset.select_columns(["id", "context", "answers"]).to_dict()
    triples = zip(columns["id"], columns["context"], columns["answers"], strict=True)
    rows = [{"id": qid, "context": context, "answers": gold} for qid, context, gold in triples]
    return json.loads(path.read_text(encoding="utf-8"))["data"], dataset, rows


def _perturb(text: str, rng: random.Random) -> str:
    tokens = text.split()
    edits = [
        lambda: text.upper(),
        lambda: f"the {text}!",
        lambda: f"({text}),",
        lambda: " ".join(tokens[:-1]),
        lambda: " ".join(tokens[1:] + tokens[:1]),
        lambda: f"{text} and {text}",
        lambda: text.replace(" ", "\n  "),
        lambda: f"an {text} the",
    ]
    return rng.choice(edits)()


def _unicode(text: str, rng: random.Random) -> str:
    edits = [
        lambda: text.replace("e", "é").replace("a", "à"),
        lambda: f"{text} — 東京",
        lambda: f"«{text}» 🌱",
        lambda: text.translate(str.maketrans("ABCabc", "ＡＢＣａｂｃ")),
        lambda: f"İ{text}ǅ",
        lambda: text.replace(" ", "\u00a0"),
    ]
    return rng.choice(edits)()


def _prediction(kind: str, row: dict, i: int, rng: random.Random) -> str | None:
    """One synthetic prediction of the given kind (None: leave the question unanswered)."""
    gold, context = row["answers"]["text"][0], row["context"]
    if kind == "perturbed":
        return _perturb(gold, rng)
    if kind == "spans":
        begin = rng.randrange(len(context))
        return context[begin : begin + rng.randint(1, 60)]
    if kind == "unicode":
        return _unicode(gold, rng)
    if kind == "missing_unknown":
        return gold if i % 3 else None
    return "" if kind == "empty" else gold


def _predictions(kind: str, rows: list[dict], seed: int = 0) -> dict[str, str]:
    """A synthetic official-format prediction file of one kind."""
    rng = random.Random(seed)
    predictions = {row["id"]: _prediction(kind, row, i, rng) for i, row in enumerate(rows)}
    predictions = {qid: text for qid, text in predictions.items() if text is not None}
    if kind == "missing_unknown":
        predictions.update({f"unknown-{k}": "Denver Broncos" for k in range(50)})
    return predictions


KINDS = ["gold", "perturbed", "spans", "empty", "missing_unknown", "unicode"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_dev_scores_equal_official(dev, kind, capsys):
    nested, dataset, rows = dev
    predictions = _predictions(kind, rows)
    report = score_predictions(dataset, predictions)
    expected = official.evaluate(nested, predictions)
    capsys.readouterr()  # the official script prints one line per unanswered question
    assert report.exact_match == pytest.approx(expected["exact_match"], abs=1e-9, rel=0)
    assert report.f1 == pytest.approx(expected["f1"], abs=1e-9, rel=0)
    assert report.total == 10_570
    if kind == "missing_unknown":
        assert len(report.missing_ids) == 3524 and len(report.unknown_ids) == 50


@pytest.mark.slow
def test_dev_per_example_scores_equal_official(dev):
    _, dataset, rows = dev
    predictions = _predictions("unicode", rows, seed=1)
    table = score_predictions(dataset, predictions).per_example
    for row in table.sample(2000, random_state=0).itertuples():
        golds = row.gold_answers
        em = official.metric_max_over_ground_truths(
            official.exact_match_score, row.prediction, golds
        )
        f1 = official.metric_max_over_ground_truths(official.f1_score, row.prediction, golds)
        assert (row.em, row.f1) == (100.0 * em, pytest.approx(100.0 * f1, abs=1e-9))


# --- the command line -------------------------------------------------------------------------


def _write_predictions(path: Path, dataset, every: int = 1) -> Path:
    predictions = {row["id"]: row["answers"]["text"][-1] + " ok" for row in dataset}
    kept = dict(list(predictions.items())[::every])
    path.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    return path


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUTF8": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.slow
def test_cli_prints_exactly_what_the_official_script_prints(mini, tmp_path):
    predictions = _write_predictions(tmp_path / "predictions.json", mini)
    ours = _run("-m", "qa_utils.metrics", str(MINI), str(predictions))
    theirs = _run(str(REFERENCE_SCRIPT), str(MINI), str(predictions))
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout.startswith('{"exact_match": ')


@pytest.mark.slow
def test_cli_malformed_file_gives_one_line_error_and_exit_2(tmp_path):
    bad = tmp_path / "predictions.json"
    bad.write_text('{"mini-1-1-1": "1902",\n  "mini-1-1-2": }', encoding="utf-8")
    result = _run("-m", "qa_utils.metrics", str(MINI), str(bad))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{bad}: line 2, column 17: invalid JSON" in result.stderr


def test_cli_in_process_matches_official_and_reports_ids(mini, tmp_path, capsys):
    predictions = _write_predictions(tmp_path / "p.json", mini, every=2)
    data = json.loads(predictions.read_text(encoding="utf-8")) | {"stray-id": "x"}
    predictions.write_text(json.dumps(data), encoding="utf-8")
    assert main([str(MINI), str(predictions)]) == 0
    out, err = capsys.readouterr()
    nested = json.loads(MINI.read_text(encoding="utf-8"))["data"]
    expected = official.evaluate(nested, data)
    capsys.readouterr()
    assert out == json.dumps(expected) + "\n"
    assert f"12 of {len(mini)} questions have no prediction" in err
    assert "1 predictions have ids that are not in the dataset" in err and "stray-id" in err


BAD_PREDICTIONS = {
    "not_json": (b'{"a": "b",}', "line 1, column 11: invalid JSON"),
    "not_an_object": (b'["1902"]', "expected a JSON object {id: answer}, got list"),
    "number_value": (b'{"mini-1-1-1": 1902}', "id 'mini-1-1-1': expected a string, got int"),
    "null_value": (b'{"mini-1-1-1": null}', "id 'mini-1-1-1': expected a string, got null"),
    "not_utf8": (b'{"mini-1-1-1": "caf\xe9"}', "byte 19: not valid UTF-8"),
    "surrogate_answer": (
        b'{"mini-1-1-1": "caf\\udce9"}',
        "id 'mini-1-1-1': answer holds a lone surrogate (U+DCE9) at character 3",
    ),
    "surrogate_id": (
        b'{"mini-\\ud800": "x"}',
        "id 'mini-\\ud800': id holds a lone surrogate (U+D800) at character 5",
    ),
}


@pytest.mark.parametrize("case", BAD_PREDICTIONS)
def test_cli_rejects_malformed_predictions(case, tmp_path, capsys):
    content, message = BAD_PREDICTIONS[case]
    path = tmp_path / "predictions.json"
    path.write_bytes(content)
    assert main([str(MINI), str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {path}: ") and message in err


def test_cli_rejects_malformed_dataset(tmp_path, capsys):
    nested = json.loads(MINI.read_text(encoding="utf-8"))
    nested["data"][1]["paragraphs"][0]["qas"][2]["answers"][0]["answer_start"] = "244"
    dataset = tmp_path / "dataset.json"
    dataset.write_text(json.dumps(nested), encoding="utf-8")
    predictions = tmp_path / "p.json"
    predictions.write_text("{}", encoding="utf-8")
    assert main([str(dataset), str(predictions)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{dataset}: data[1].paragraphs[0].qas[2].answers[0].answer_start" in err
    assert "expected an integer, got str" in err


@pytest.mark.parametrize("which", ["dataset", "predictions"])
def test_cli_missing_file(which, tmp_path, capsys):
    missing = tmp_path / "nowhere.json"
    args = [str(missing), str(MINI)] if which == "dataset" else [str(MINI), str(missing)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(missing) in err


def test_read_predictions_accepts_official_format(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"q1": "Denver Broncos", "q2": ""}', encoding="utf-8")
    assert read_predictions(path) == {"q1": "Denver Broncos", "q2": ""}
