"""The explorer's site: files, numbers, spans, escaping, comparison (the browser tests draw it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_utils.analysis.tables import InputFileError
from qa_utils.cli import main
from qa_utils.core.data import load_squad
from qa_utils.core.metrics import read_predictions, score_predictions
from qa_utils.core.postprocess import Prediction
from qa_utils.core.records import build_records
from qa_utils.project.io import atomic_write_table
from qa_utils.workflow.explore import Site, explore, load_inputs, system_names

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATASET = FIXTURES / "analysis_squad.json"
PREDICTIONS = FIXTURES / "analysis_predictions.json"
OTHER = {"v2": "Ilse Brandt", "v5": "at dusk", "r2": "slate", "m3": "Drainage for farming"}


def read_data(path: Path) -> dict:
    """The payload of a data script written by the explorer."""
    text = path.read_text(encoding="utf-8")
    prefix = "window.EXPLORER_DATA = "
    assert text.startswith(prefix) and text.endswith(";\n")
    return json.loads(text[len(prefix) : -2])


def questions(article: dict) -> dict[str, dict]:
    """An article payload's questions by id."""
    return {q["id"]: q for p in article["paragraphs"] for q in p["questions"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    """The explorer of the fixture predictions, rule-based answer types."""
    inputs = load_inputs(DATASET, PREDICTIONS)
    return explore(inputs, tmp_path_factory.mktemp("explorer"), n_resamples=200)


def other_file(folder: Path) -> Path:
    """A second system: the fixture's predictions with four answers changed."""
    path = folder / "other.json"
    path.write_text(json.dumps({**read_predictions(PREDICTIONS), **OTHER}), encoding="utf-8")
    return path


def test_site_has_an_index_one_page_and_data_script_per_article_and_the_app(site):
    names = {
        "index.html", "data/index.js", "app.js", "style.css",
        *(f"articles/00{i}.html" for i in range(3)), *(f"data/00{i}.js" for i in range(3)),
    }  # fmt: skip
    assert set(site.sizes) == names
    assert all((site.out / name).stat().st_size == size for name, size in site.sizes.items())
    assert (site.articles, site.questions) == (3, 14) and len(site.article_bytes()) == 3
    page = (site.out / "articles" / "001.html").read_text(encoding="utf-8")
    assert 'src="../data/001.js"' in page and 'src="../app.js"' in page
    assert "http" not in page  # nothing fetched from the internet


def test_index_numbers_are_the_official_scores(site):
    index = read_data(site.out / "data" / "index.js")
    report = score_predictions(load_squad(DATASET), read_predictions(PREDICTIONS))
    overall = index["overall"][0]
    assert (overall["n"], overall["em"], overall["f1"]) == (
        14,
        round(report.exact_match, 2),
        round(report.f1, 2),
    )
    assert overall["f1_low"] <= overall["f1"] <= overall["f1_high"]
    assert index["ids"] == [{"missing": 1, "unknown": 1}]
    rows = {r["title"]: r for r in index["articles"]}
    assert [r["questions"] for r in index["articles"]] == [5, 5, 4]
    assert rows["Marsh_Orchid"]["systems"][0]["em"] == 75.0  # m3 has no prediction
    assert rows["Velmora_Harbour"]["page"] == "articles/000.html"


def test_article_data_has_gold_and_predicted_spans_types_and_slices(site):
    article = read_data(site.out / "data" / "000.js")
    context = article["paragraphs"][0]["context"]
    v2 = questions(article)["v2"]
    assert v2["gold"] == [["Ilse Brandt", 302], ["the harbour master, Ilse Brandt", 282]]
    answer = v2["answers"][0]
    assert context[answer["start"] : answer["end"]] == answer["text"] == "the harbour master"
    assert (answer["em"], answer["error"], answer["confidence"]) == (0, "partial overlap", None)
    assert set(v2["slices"]) == set(article["slices"]) >= {"question_word", "position"}
    assert v2["slices"]["question_word"] == "who" and v2["type"] in article["answer_types"]
    assert article["next"] == "001.html" and article["prev"] is None


def test_text_files_of_other_systems_empty_missing_and_absent_answers(tmp_path):
    predictions = tmp_path / "theirs.json"
    theirs = {"r1": "3 MAY 1886", "r2": "", "r3": "not in the passage", "zz": "unknown id"}
    predictions.write_text(json.dumps(theirs), encoding="utf-8")
    site = explore(load_inputs(DATASET, predictions), tmp_path / "site", n_resamples=50)
    answers = {
        k: q["answers"][0] for k, q in questions(read_data(site.out / "data/001.js")).items()
    }
    assert (answers["r1"]["start"], answers["r1"]["em"]) == (35, 100)  # located ignoring case
    assert answers["r2"]["text"] == "" and answers["r2"]["start"] == -1
    assert answers["r3"]["start"] == -1 and answers["r3"]["error"] == "not in context"
    assert answers["r4"] == {**answers["r4"], "text": "", "em": 0, "error": "no answer"}
    assert answers["r4"]["missing"] and not answers["r2"]["missing"]  # left out / left empty
    index = read_data(site.out / "data/index.js")
    assert index["ids"] == [{"missing": 11, "unknown": 1}]


def test_records_bring_confidences_and_exact_spans(tmp_path):
    examples = load_squad(DATASET)
    gold = [
        (a["text"][0], c) for a, c in zip(examples["answers"], examples["context"], strict=True)
    ]
    ours = {
        qid: Prediction(text, context.find(text), context.find(text) + len(text), 0.5, [])
        for qid, (text, context) in zip(examples["id"], gold, strict=True)
    }
    ours["v1"] = Prediction("1902", 147, 151, 0.9, [])
    records = atomic_write_table(tmp_path / "records.parquet", build_records(examples, ours).table)
    predictions = tmp_path / "predictions.json"
    predictions.write_text(json.dumps({k: p.text for k, p in ours.items()}), encoding="utf-8")
    site = explore(load_inputs(DATASET, predictions, records=records), tmp_path / "s")
    v1 = questions(read_data(site.out / "data/000.js"))["v1"]["answers"][0]
    assert (v1["confidence"], v1["start"], v1["end"]) == (0.9, 147, 151)
    assert read_data(site.out / "data/index.js")["has_confidence"] == [True]


def test_comparison_counts_the_questions_answered_differently(tmp_path):
    inputs = load_inputs(DATASET, PREDICTIONS, compare=other_file(tmp_path))
    site = explore(inputs, tmp_path / "site", n_resamples=100)
    index = read_data(site.out / "data/index.js")
    assert index["names"] == ["analysis_predictions.json", "other.json"]
    assert index["differ"] == len(OTHER) and [r["differ"] for r in index["articles"]] == [2, 1, 1]
    assert [c["metric"] for c in index["comparison"]] == ["em", "f1"]
    v5 = questions(read_data(site.out / "data/000.js"))["v5"]
    assert [a["text"] for a in v5["answers"]] == ["1874", "at dusk"]
    assert [a["em"] for a in v5["answers"]] == [0, 100]


def test_only_predicted_keeps_the_questions_with_a_prediction(tmp_path):
    site = explore(load_inputs(DATASET, PREDICTIONS, only_predicted=True), tmp_path, n_resamples=50)
    assert site.questions == 13 and "m3" not in questions(read_data(site.out / "data/002.js"))
    strangers = tmp_path / "strangers.json"
    strangers.write_text(json.dumps({"zz": "no such question"}), encoding="utf-8")
    with pytest.raises(InputFileError, match="strangers.json: no question of .* to show"):
        load_inputs(DATASET, strangers, only_predicted=True)


def test_markup_in_titles_and_passages_is_escaped_in_pages_and_kept_as_data(tmp_path):
    context = 'Use <b>bold</b> & "quotes" in <script>x</script> tags.'
    data = {
        "version": "1.1",
        "data": [
            {
                "title": '<img src=x onerror="alert(1)">&Co',
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": "h1",
                                "question": "What <i>tag</i> & what?",
                                "answers": [{"text": "<b>bold</b>", "answer_start": 4}],
                            }
                        ],
                    }
                ],
            }
        ],
    }
    (tmp_path / "markup.json").write_text(json.dumps(data), encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps({"h1": '& "quotes"'}), encoding="utf-8")
    site = explore(load_inputs(tmp_path / "markup.json", tmp_path / "p.json"), tmp_path / "site")
    page = (site.out / "articles/000.html").read_text(encoding="utf-8")
    assert "<img" not in page and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;Co" in page
    q = questions(read_data(site.out / "data/000.js"))["h1"]
    assert q["question"] == "What <i>tag</i> & what?"
    assert context[q["answers"][0]["start"] : q["answers"][0]["end"]] == '& "quotes"'


def test_a_smaller_site_replaces_a_larger_one_without_stale_pages(tmp_path):
    explore(load_inputs(DATASET, PREDICTIONS), tmp_path, n_resamples=50)
    (tmp_path / "small.json").write_text(
        json.dumps({"version": "1.1", "data": json.loads(DATASET.read_text())["data"][:1]})
    )
    smaller = explore(load_inputs(tmp_path / "small.json", PREDICTIONS), tmp_path, n_resamples=50)
    assert smaller.articles == 1
    assert sorted(p.name for p in (tmp_path / "articles").iterdir()) == ["000.html"]


def test_system_names_tell_same_named_files_apart():
    assert system_names([Path("a/p.json"), Path("b/q.json")]) == ["p.json", "q.json"]
    assert system_names([Path("a/p.json"), Path("b/p.json")]) == ["a/p.json", "b/p.json"]


def test_explore_command_writes_the_site_and_names_bad_files(tmp_path, capsys):
    out = tmp_path / "site"
    args = [str(DATASET), str(PREDICTIONS), "--out", str(out), "--no-spacy", "--bootstrap", "50"]
    assert main(["explore", *args]) == 0
    assert "3 articles, 14 questions" in capsys.readouterr().out
    assert (out / "index.html").is_file()
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    assert main(["explore", str(DATASET), str(bad), "--out", str(out), "--no-spacy"]) == 2
    error = capsys.readouterr().err
    assert str(bad) in error and "expected a JSON object" in error
