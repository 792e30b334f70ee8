"""Tests for the SQuAD 2.0 scoring of qa_utils.core.metrics: equal to the official evaluate-v2.0.py.

The oracle is the official script beside the project (`load_official("v2.0")`), called through
its own functions in the order of its `main()`, and once as a subprocess.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qa_utils.core.data import load_squad
from qa_utils.core.metrics import (
    PER_EXAMPLE_COLUMNS,
    V2_COLUMNS,
    best_threshold,
    is_squad_v2,
    read_na_probs,
    score_predictions,
    v2_f1,
    v2_scores,
)
from qa_utils.metrics import main
from qa_utils.project.paths import load_official, official_script, shared_dir

REPO = Path(__file__).resolve().parents[2]
MINI_V2 = REPO / "tests" / "fixtures" / "mini_squad_v2.json"
DEV_V2 = shared_dir() / "squad" / "dev-v2.0-rebuilt.json"
official = load_official("v2.0")

WORDS = ["a", "an", "the", "The", "Paris", "paris", "tower", "1,889", "café", "東京", "—", "'s"]
SEPARATORS = [" ", "  ", "\t", ",", ".", "-", "\u00a0", ""]
worded = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=6)
answers = st.one_of(st.text(max_size=20), worded.map(lambda ps: "".join(w + s for w, s in ps)))
# A few distinct values so that ties in the no-answer probabilities are common.
probabilities = st.one_of(
    st.sampled_from([0.0, 0.25, 0.5, 1.0]), st.floats(0, 1), st.integers(0, 1)
)
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100)


def official_eval(nested: list, preds: dict, na_probs: dict | None, thresh: float = 1.0) -> dict:
    """evaluate-v2.0.py's main(), step by step through its own functions (no file, no plots)."""
    probs = na_probs if na_probs is not None else {k: 0.0 for k in preds}
    has_ans = official.make_qid_to_has_ans(nested)
    has_ids = [k for k, v in has_ans.items() if v]
    no_ids = [k for k, v in has_ans.items() if not v]
    with contextlib.redirect_stdout(io.StringIO()):
        exact_raw, f1_raw = official.get_raw_scores(nested, preds)
    exact = official.apply_no_ans_threshold(exact_raw, probs, has_ans, thresh)
    f1 = official.apply_no_ans_threshold(f1_raw, probs, has_ans, thresh)
    out = official.make_eval_dict(exact, f1)
    if has_ids:
        official.merge_eval(out, official.make_eval_dict(exact, f1, qid_list=has_ids), "HasAns")
    if no_ids:
        official.merge_eval(out, official.make_eval_dict(exact, f1, qid_list=no_ids), "NoAns")
    if na_probs is not None:
        official.find_all_best_thresh(out, preds, exact_raw, f1_raw, probs, has_ans)
    return dict(out)


def assert_same_scores(ours: dict, theirs: dict, tol: float = 1e-9) -> None:
    """Same keys in the same order, and every value within `tol`."""
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key] == pytest.approx(value, abs=tol, rel=0), key


# --- the metric functions against the official ones ---------------------------------------


@relaxed
@given(answers, answers)
def test_v2_f1_is_the_official_compute_f1_with_its_type(prediction, gold):
    ours, theirs = v2_f1(prediction, gold), official.compute_f1(gold, prediction)
    assert ours == theirs and type(ours) is type(theirs)


@relaxed
@given(answers, st.lists(answers, max_size=4))
def test_v2_scores_are_the_official_maxima(prediction, golds):
    kept = [g for g in golds if official.normalize_answer(g)] or [""]
    em = max(official.compute_exact(g, prediction) for g in kept)
    f1 = max(official.compute_f1(g, prediction) for g in kept)
    ours = v2_scores(prediction, golds)
    assert ours == (em, f1)
    assert (type(ours[0]), type(ours[1])) == (type(em), type(f1))


questions = st.lists(
    st.tuples(st.lists(answers, max_size=3), answers, probabilities),
    min_size=1,
    max_size=14,
)


def _generated(qs: list) -> tuple[list, list, dict, dict]:
    """Rows for our scorer, the nested data for the official one, predictions, na-probs."""
    rows = [
        {"id": f"q{i}", "answers": {"text": golds}, "is_impossible": not golds}
        for i, (golds, _, _) in enumerate(qs)
    ]
    qas = [{"id": f"q{i}", "answers": [{"text": t} for t in g]} for i, (g, _, _) in enumerate(qs)]
    predictions = {f"q{i}": p for i, (_, p, _) in enumerate(qs)}
    na_probs = {f"q{i}": prob for i, (_, _, prob) in enumerate(qs)}
    return rows, [{"paragraphs": [{"qas": qas}]}], predictions, na_probs


@relaxed
@given(questions, st.sampled_from([1.0, 0.5, 0.0, -1.0]), st.booleans(), st.randoms())
def test_scorer_matches_official_on_generated_files(qs, thresh, with_probs, rnd):
    rows, nested, predictions, na_probs = _generated(qs)
    keys = list(na_probs)
    rnd.shuffle(keys)  # the na-prob file's order decides ties, officially
    na_probs = {k: na_probs[k] for k in keys} if with_probs else None
    report = score_predictions(rows, predictions, na_probs, thresh)
    expected = official_eval(nested, predictions, na_probs, thresh)
    assert report.summary() == expected and list(report.summary()) == list(expected)


@relaxed
@given(questions)
def test_table_means_are_the_official_scores(qs):
    rows, nested, predictions, na_probs = _generated(qs)
    table = score_predictions(rows, predictions, na_probs, 0.5).per_example
    expected = official_eval(nested, predictions, na_probs, 0.5)
    assert table["em"].mean() == pytest.approx(expected["exact"], abs=1e-9)
    assert table["f1"].mean() == pytest.approx(expected["f1"], abs=1e-9)
    over = table["na_prob"] > 0.5
    assert (table.loc[over, "abstained"]).all()
    assert (table.loc[over, "em"] == 100.0 * table.loc[over, "is_impossible"]).all()


def test_best_threshold_is_the_official_find_best_thresh():
    has_ans = {"a": True, "b": False, "c": True, "d": False}
    raw = {"a": 1, "b": 0, "c": 0.5, "d": 1}
    preds = {"a": "x", "b": "y", "c": "z", "d": ""}
    na_probs = {"a": 0.2, "b": 0.4, "c": 0.4, "d": 0.9}
    expected = official.find_best_thresh(preds, raw, na_probs, has_ans)
    gains = [1, -1, 0.5, 0]
    assert best_threshold(list(na_probs.values()), gains, start=2, total=4) == expected
    assert expected == (100.0 * 3 / 4, 0.2)  # answer "a" only; "b" costs more than "c" gains


# --- the fixture: table, missing predictions, types ---------------------------------------


@pytest.fixture(scope="module")
def mini_v2():
    return load_squad(MINI_V2)


def _gold_file(dataset) -> dict[str, str]:
    """Predictions that are right everywhere: the first gold answer, or "" for no answer."""
    return {r["id"]: (r["answers"]["text"] or [""])[0] for r in dataset}


def test_v2_table_has_the_v2_columns(mini_v2):
    predictions = _gold_file(mini_v2)
    report = score_predictions(mini_v2, predictions)
    table = report.per_example
    assert is_squad_v2(mini_v2)
    assert list(table.columns) == [*PER_EXAMPLE_COLUMNS, *V2_COLUMNS]
    assert table["is_impossible"].tolist() == mini_v2["is_impossible"]
    assert table["na_prob"].isna().all()  # no na-prob file: unknown, not 0
    # The gold "The" normalises to "": officially it is no answer, and so is predicting it.
    the = table["id"] == "v2-1-2-4"
    assert table.loc[the, "abstained"].all() and not table.loc[the, "is_impossible"].any()
    assert (table.loc[~the, "abstained"] == table.loc[~the, "is_impossible"]).all()
    assert report.summary()["HasAns_exact"] == report.summary()["NoAns_f1"] == 100.0


def test_v2_missing_predictions_score_zero_where_the_official_script_stops(mini_v2):
    predictions = _gold_file(mini_v2)
    del predictions["v2-1-1-4"], predictions["v2-1-1-1"]
    report = score_predictions(mini_v2, predictions)
    assert report.missing_ids == ["v2-1-1-1", "v2-1-1-4"] and report.total == 15
    row = report.per_example.set_index("id").loc["v2-1-1-4"]
    assert (row["em"], row["abstained"]) == (0.0, False)
    nested = json.loads(MINI_V2.read_text(encoding="utf-8"))["data"]
    with pytest.raises(KeyError):
        official_eval(nested, predictions, None)


def test_na_probs_must_cover_the_predicted_questions(mini_v2):
    predictions = _gold_file(mini_v2)
    na_probs = dict.fromkeys(list(predictions)[1:], 0.5)
    with pytest.raises(ValueError, match=r"lack 1 predicted questions \(first: v2-1-1-1\)"):
        score_predictions(mini_v2, predictions, na_probs)


def test_na_probs_are_rejected_for_v1_data():
    rows = [{"id": "q", "answers": {"text": ["x"]}}]
    with pytest.raises(ValueError, match="SQuAD 2.0 datasets only"):
        score_predictions(rows, {"q": "x"}, {"q": 0.1})


# --- the real SQuAD 2.0 dev set ----------------------------------------------------------


@pytest.fixture(scope="module")
def dev_v2():
    """The rebuilt SQuAD 2.0 dev set: nested (for the official script), loaded, and rows."""
    if not DEV_V2.is_file():
        pytest.skip("../shared/squad/dev-v2.0-rebuilt.json is not beside the project")
    dataset = load_squad(DEV_V2)
    rows = dataset.select_columns(["id", "context", "answers"]).to_list()
    return json.loads(DEV_V2.read_text(encoding="utf-8"))["data"], dataset, rows


def _span(context: str, rng: random.Random) -> str:
    begin = rng.randrange(len(context))
    return context[begin : begin + rng.randint(1, 40)]


def synthetic_file(kind: str, rows: list[dict], seed: int = 0) -> tuple[dict, dict | None]:
    """A synthetic official-format prediction file and its na-prob file (None: without one)."""
    rng = random.Random(seed)
    golds = [(r["answers"]["text"] or [""])[0] for r in rows]
    texts = {
        "gold": golds,
        "empty": ["" for _ in rows],
        "abstain_all": ["" for _ in rows],
        "spans": [_span(r["context"], rng) for r in rows],
        "random_na_probs": [
            g if rng.random() < 0.6 else _span(r["context"], rng)
            for g, r in zip(golds, rows, strict=True)
        ],
    }[kind]
    predictions = {r["id"]: text for r, text in zip(rows, texts, strict=True)}
    if kind == "abstain_all":
        return predictions, dict.fromkeys(predictions, 1.0)
    if kind == "random_na_probs":
        ties = [0.0, 0.5, 1.0]
        return predictions, {
            k: rng.choice(ties) if rng.random() < 0.2 else rng.random() for k in predictions
        }
    if kind == "spans":
        return predictions, {k: round(rng.random(), 2) for k in predictions}
    return predictions, None


DEV_KINDS = ["gold", "empty", "spans", "abstain_all", "random_na_probs"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", DEV_KINDS)
@pytest.mark.parametrize("thresh", [1.0, 0.5])
def test_dev_v2_scores_equal_official(dev_v2, kind, thresh):
    nested, dataset, rows = dev_v2
    predictions, na_probs = synthetic_file(kind, rows)
    report = score_predictions(dataset, predictions, na_probs, thresh)
    expected = official_eval(nested, predictions, na_probs, thresh)
    assert_same_scores(report.summary(), expected)
    assert report.total == 11_873 and expected["NoAns_total"] == 5_945
    if na_probs is not None:
        assert "best_f1_thresh" in report.summary()
        without = official_eval(nested, predictions, None, thresh)
        assert_same_scores(score_predictions(dataset, predictions, None, thresh).summary(), without)


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUTF8": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_cli_equals_the_official_script_run_with_na_probs_and_out_file(dev_v2, tmp_path):
    _, _, rows = dev_v2
    predictions, na_probs = synthetic_file("random_na_probs", rows, seed=3)
    pred_path, na_path = tmp_path / "predictions.json", tmp_path / "na_probs.json"
    pred_path.write_text(json.dumps(predictions), encoding="utf-8")
    na_path.write_text(json.dumps(na_probs), encoding="utf-8")
    flags = ["--na-prob-file", str(na_path), "--na-prob-thresh", "0.7"]
    script = str(official_script("v2.0"))
    theirs = _run(
        script, str(DEV_V2), str(pred_path), *flags, "--out-file", str(tmp_path / "o.json")
    )
    ours = _run(
        "-m",
        "qa_utils.metrics",
        str(DEV_V2),
        str(pred_path),
        *flags,
        "--out-file",
        str(tmp_path / "q.json"),
    )
    assert theirs.returncode == 0 and ours.returncode == 0, ours.stderr
    expected = json.loads((tmp_path / "o.json").read_text(encoding="utf-8"))
    assert_same_scores(json.loads((tmp_path / "q.json").read_text(encoding="utf-8")), expected)
    assert set(expected) >= {"HasAns_f1", "NoAns_f1", "best_f1", "best_f1_thresh"}
    printed = _run("-m", "qa_utils", "score", str(DEV_V2), str(pred_path), *flags)
    stdout = _run(script, str(DEV_V2), str(pred_path), *flags).stdout
    assert printed.stdout == stdout


# --- the command line on the fixture ----------------------------------------------------------


def _write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


def test_cli_prints_the_official_dict(mini_v2, tmp_path, capsys):
    predictions = _gold_file(mini_v2) | {"v2-1-1-2": "in 1931, after a storm"}
    na_probs = {k: i / 20 for i, k in enumerate(predictions)}
    pred_path = _write(tmp_path / "p.json", predictions)
    na_path = _write(tmp_path / "na.json", na_probs)
    assert main([str(MINI_V2), str(pred_path), "-n", str(na_path), "-t", "0.4"]) == 0
    nested = json.loads(MINI_V2.read_text(encoding="utf-8"))["data"]
    expected = official_eval(nested, predictions, na_probs, 0.4)
    assert capsys.readouterr().out == json.dumps(expected, indent=2) + "\n"
    assert main([str(MINI_V2), str(pred_path), "-o", str(tmp_path / "out.json")]) == 0
    written = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert written == official_eval(nested, predictions, None)


BAD_NA_PROBS = {
    "string": ('{"v2-1-1-1": "0.3"}', "id 'v2-1-1-1': expected a number, got str"),
    "null": ('{"v2-1-1-1": null}', "id 'v2-1-1-1': expected a number, got null"),
    "nan": ('{"v2-1-1-1": NaN}', "id 'v2-1-1-1': expected a finite number, got nan"),
    "list": ("[0.3]", "expected a JSON object {id: probability}, got list"),
    "lacking": ("{}", "lack 15 predicted questions (first: v2-1-1-1"),
}


@pytest.mark.parametrize("case", BAD_NA_PROBS)
def test_cli_rejects_bad_na_prob_files_in_one_line(case, mini_v2, tmp_path, capsys):
    content, message = BAD_NA_PROBS[case]
    pred_path = _write(tmp_path / "p.json", _gold_file(mini_v2))
    na_path = tmp_path / "na.json"
    na_path.write_text(content, encoding="utf-8")
    assert main([str(MINI_V2), str(pred_path), "--na-prob-file", str(na_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith(f"error: {na_path}: ") and message in err


def test_cli_rejects_na_probs_for_v1_data(tmp_path, capsys):
    mini = REPO / "tests" / "fixtures" / "mini_squad.json"
    pred_path = _write(tmp_path / "p.json", {})
    na_path = _write(tmp_path / "na.json", {})
    assert main([str(mini), str(pred_path), "--na-prob-file", str(na_path)]) == 2
    assert "apply to SQuAD 2.0 datasets" in capsys.readouterr().err


def test_read_na_probs_keeps_the_file_order(tmp_path):
    path = tmp_path / "na.json"
    path.write_text('{"b": 0.5, "a": 1, "c": 0.0}', encoding="utf-8")
    assert list(read_na_probs(path).items()) == [("b", 0.5), ("a", 1), ("c", 0.0)]


def test_cli_rejects_a_bad_v2_dataset_in_one_line(mini_v2, tmp_path, capsys):
    nested = json.loads(MINI_V2.read_text(encoding="utf-8"))
    nested["data"][0]["paragraphs"][0]["qas"][0]["is_impossible"] = True
    data_path = _write(tmp_path / "bad_v2.json", nested)
    pred_path = _write(tmp_path / "p.json", _gold_file(mini_v2))
    assert main([str(data_path), str(pred_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    expected = "data[0].paragraphs[0].qas[0].is_impossible: is true, but the question has"
    assert err.startswith(f"error: {data_path}: {expected}")
