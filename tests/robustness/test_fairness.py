"""Name swaps rename people consistently and keep every gold answer at its offset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset

from qa_utils.analysis.answer_types import load_spacy
from qa_utils.core.data import load_squad
from qa_utils.robustness import fairness

CONTEXT = (
    "Nikola Tesla was born in Smiljan. In 1884 Tesla moved to New York, where he worked for "
    "Thomas Edison. Edison's company paid Tesla badly. The lab was later sold to a bank."
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mini_squad.json"

PEOPLE = [("Nikola Tesla", "Tesla"), ("Thomas Edison", "Edison")]


def squad(rows: list[dict]) -> Dataset:
    """A Dataset in the project's schema from (id, question, context, answer texts) rows."""
    columns = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for row in rows:
        starts = [row["context"].index(t) for t in row["answers"]]
        columns["id"].append(row["id"])
        columns["title"].append("Tesla")
        columns["context"].append(row["context"])
        columns["question"].append(row["question"])
        columns["answers"].append({"text": row["answers"], "answer_start": starts})
    return Dataset.from_dict(columns, features=load_squad(FIXTURE).features)


@pytest.fixture
def examples() -> Dataset:
    return squad(
        [
            {"id": "q1", "question": "Who did Tesla work for in New York?", "context": CONTEXT,
             "answers": ["Thomas Edison", "Edison"]},
            {"id": "q2", "question": "When did Tesla move to New York?", "context": CONTEXT,
             "answers": ["1884"]},
            {"id": "q3", "question": "What was sold?", "context": CONTEXT[CONTEXT.index("The"):],
             "answers": ["The lab"]},
        ]
    )  # fmt: skip


def offsets_valid(data: Dataset) -> bool:
    return all(
        row["context"][s : s + len(t)] == t
        for row in data
        for t, s in zip(row["answers"]["text"], row["answers"]["answer_start"], strict=True)
    )


@pytest.mark.parametrize("group", fairness.GROUPS)
def test_swap_keeps_offsets_valid_and_renames_consistently(examples, group):
    persons = {"q1": PEOPLE, "q2": PEOPLE, "q3": []}
    swapped = fairness.swap_names(examples, persons, group, seed=0)
    assert offsets_valid(swapped)
    assert swapped["id"] == examples["id"] and swapped.features == examples.features
    first = swapped[0]
    for old in ("Tesla", "Edison"):
        assert old not in first["context"] and old not in first["question"]
    mapping = fairness.name_mapping("q1", PEOPLE, "", group, seed=0)
    tesla, edison = mapping["Tesla"], mapping["Edison"]
    assert {tesla, edison} <= set(fairness.FIRST_NAMES[group]) and tesla != edison
    assert mapping["Nikola Tesla"] == tesla and mapping["Thomas Edison"] == edison
    assert first["context"].count(tesla) == 3 and first["context"].count(edison) == 2
    assert first["question"] == f"Who did {tesla} work for in New York?"
    assert first["answers"]["text"] == [edison, edison]
    assert swapped[1]["answers"]["text"] == ["1884"]


def test_same_index_in_every_group_and_text_without_names_unchanged(examples):
    persons = {"q1": PEOPLE, "q2": PEOPLE, "q3": []}
    versions = {g: fairness.swap_names(examples, persons, g, seed=3) for g in fairness.GROUPS}
    positions = {
        g: [fairness.FIRST_NAMES[g].index(w) for w in d[0]["answers"]["text"]]
        for g, d in versions.items()
    }
    assert len({tuple(p) for p in positions.values()}) == 1
    for data in versions.values():
        assert data[2] == examples[2]


def test_names_already_in_the_text_are_not_used():
    text = "Greg met Kenya Smith." * 2
    for seed in range(20):
        (k,) = fairness.name_indices("q", [("Kenya Smith", "Smith")], text, seed)
        assert k not in (fairness.FIRST_NAMES["EA male"].index("Greg"),
                         fairness.FIRST_NAMES["AA female"].index("Kenya"))  # fmt: skip


def test_answer_inside_a_longer_mention_snaps_to_the_new_name():
    text, mapping = "Dr. Nikola Tesla spoke.", {"Nikola Tesla": "Jamal", "Tesla": "Jamal"}
    new, edits = fairness.replace_mentions(text, mapping)
    answers = fairness.swap_answers({"text": ["Tesla"], "answer_start": [11]}, edits, new)
    assert new == "Dr. Jamal spoke." and answers == {"text": ["Jamal"], "answer_start": [4]}


def test_unknown_group_is_refused(examples):
    with pytest.raises(ValueError, match="unknown name group 'Other'"):
        fairness.swap_names(examples, {}, "Other")


def test_group_mentions_needs_a_full_name_and_drops_titles():
    people = fairness.group_mentions(["Queen Victoria", "Victoria", "Chopin", "Louis XIV"])
    assert people == [("Queen Victoria", "Victoria"), ("Louis XIV", "Louis")]


def test_find_persons_with_spacy(examples):
    nlp = load_spacy()
    if nlp is None:
        pytest.skip("no spaCy model installed")
    persons = fairness.find_persons(examples, nlp)
    named = {m for person in persons["q1"] for m in person}
    assert "Thomas Edison" in named and "Edison" in named
    assert persons["q3"] == []
    assert fairness.name_questions(examples, persons)["id"] == ["q1"]


def test_changed_answers_and_tables(examples):
    persons = {"q1": PEOPLE, "q2": PEOPLE, "q3": []}
    rows = []
    for group in ("clean", *fairness.GROUPS):
        edison = "Thomas Edison" if group == "clean" else fairness.name_mapping(
            "q1", PEOPLE, "", group)["Edison"]  # fmt: skip
        wrong = group == "AA female"
        rows += [
            {"condition": group, "id": "q1", "prediction": "1884" if wrong else edison,
             "f1": 0.0 if wrong else 100.0},
            {"condition": group, "id": "q2", "prediction": "1884", "f1": 100.0},
            {"condition": group, "id": "q3", "prediction": "The lab", "f1": 100.0},
        ]  # fmt: skip
    scores = pd.DataFrame(rows)
    scores["answer_changed"] = fairness.answer_changed(scores, examples, persons)
    assert scores.groupby("condition", sort=False)["answer_changed"].sum().tolist() == [
        0, 0, 0, 0, 1,
    ]  # fmt: skip
    table = fairness.group_table(scores, 200, 0).set_index("condition")
    assert table.loc["AA female", "f1"] == pytest.approx(200 / 3)
    assert table.loc["AA female", "changed"] == pytest.approx(100 / 3)
    contrasts = fairness.contrast_table(scores, 200, 0).set_index("contrast")
    assert contrasts.loc["EA - AA (female names)", "difference"] == pytest.approx(100 / 3)
    assert contrasts.loc["EA - AA (male names)", "difference"] == 0.0
    assert contrasts.loc["male - female", "difference"] == pytest.approx(50 / 3)


def test_surname_alias_inside_another_name_is_left_alone():
    mapping = {"Johann Gerhard": "Jamal", "Gerhard": "Jamal"}
    text = "Johann Gerhard wrote. Gerhard Lessing replied to Gerhard."
    assert fairness.replace_mentions(text, mapping)[0] == (
        "Jamal wrote. Gerhard Lessing replied to Jamal."
    )


def test_people_whose_last_word_is_a_common_word_are_dropped():
    common = fairness.common_words(["the mountains and the media"])
    people = fairness.group_mentions(["Tehachapi Mountains", "Virgin Media", "Mark Twain"], common)
    assert people == [("Mark Twain", "Twain")]
