"""Perturbations keep ids, schema and gold answers valid, and are seeded per question."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from datasets import Dataset

from qa_utils.core.data import load_squad
from qa_utils.robustness import perturb, probes

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def examples() -> Dataset:
    """The 25 questions of the mini SQuAD fixture."""
    return load_squad(FIXTURES / "mini_squad.json")


def answers_at_offsets(examples: Dataset) -> bool:
    """Whether every gold answer text sits at its answer_start in its context."""
    return all(
        context[start : start + len(text)] == text
        for context, answers in zip(examples["context"], examples["answers"], strict=True)
        for text, start in zip(answers["text"], answers["answer_start"], strict=True)
    )


def assert_same_schema(clean: Dataset, perturbed: Dataset) -> None:
    assert perturbed.features == clean.features
    assert perturbed["id"] == clean["id"]
    assert perturbed["title"] == clean["title"]
    assert [a["text"] for a in perturbed["answers"]] == [a["text"] for a in clean["answers"]]


def test_typos_are_seeded_and_keep_first_letters_short_words_and_digits(examples):
    noisy = perturb.add_typos(examples, rate=0.3, seed=1)
    assert_same_schema(examples, noisy)
    assert noisy["question"] == perturb.add_typos(examples, rate=0.3, seed=1)["question"]
    assert noisy["question"] != perturb.add_typos(examples, rate=0.3, seed=2)["question"]
    assert noisy["context"] == examples["context"]
    for clean, typo in zip(examples["question"], noisy["question"], strict=True):
        first = [w[0] for w in clean.split()]
        assert [w[0] for w in typo.split()] == first
        assert re.findall(r"\d+", typo) == re.findall(r"\d+", clean)
        short = [w for w in re.findall(r"\b\w{1,3}\b", clean)]
        assert [w for w in short if w not in typo] == []
    assert sum(a != b for a, b in zip(examples["question"], noisy["question"], strict=True)) > 15


def test_typo_rate_zero_changes_nothing_and_bad_rate_is_refused(examples):
    assert perturb.add_typos(examples, rate=0.0)["question"] == examples["question"]
    with pytest.raises(ValueError, match="typo rate must be between 0 and 1, got 1.5"):
        perturb.add_typo_noise("When was it built?", 1.5, np.random.default_rng(0))


def test_a_question_gets_the_same_typos_in_any_subset(examples):
    whole = perturb.add_typos(examples, rate=0.3, seed=0)
    part = perturb.add_typos(examples.select([3, 7]), rate=0.3, seed=0)
    assert part["question"] == [whole["question"][3], whole["question"][7]]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is the capital of France?", "Tell me what the capital of France is?"),
        ("In what year was the breakwater added?", "In which year was the breakwater added?"),
        ("What year did the regatta start?", "Which year did the regatta start?"),
        ("How many ferries run in winter?", "What number of ferries run in winter?"),
        ("When was the harbour dredged?", "At what point was the harbour dredged?"),
        ("Where does the ferry go?", "In what place does the ferry go?"),
        ("Who started the Lantern Regatta?", "Which person started the Lantern Regatta?"),
        ("Why was the regatta started?", "For what reason was the regatta started?"),
        ("Which boat won?", "What boat won?"),
        ("What did Brandt not do?", "What did Brandt not do?"),
        ("What is named Sea Swallow?", "What's named Sea Swallow?"),
        ("The ferry did not run when?", "The ferry didn't run when?"),
        ("Name the lifeboat.", "Name the lifeboat."),
    ],
)
def test_rewrite_question(question, expected):
    assert perturb.rewrite_question(question) == expected


def test_rewrite_questions_keeps_everything_but_the_question(examples):
    rewritten = perturb.rewrite_questions(examples)
    assert_same_schema(examples, rewritten)
    assert rewritten["context"] == examples["context"]
    assert 0 < probes.changed(examples, rewritten).sum() < len(examples)


@pytest.mark.parametrize(
    ("question", "fake", "expected"),
    [
        ("When was the stone breakwater added?", "1843", "The stone breakwater was added in 1843."),
        ("Who started the Lantern Regatta?", "Jon Snow", "Jon Snow started the Lantern Regatta."),
        ("What is the capital of Oskar?", "Lund", "The capital of Oskar is Lund."),
        ("What did Ilse Brandt start?", "a choir", "Ilse Brandt did start a choir."),
        (
            "How often does the ferry run in winter?",
            "hourly",
            "The ferry does run in winter hourly.",
        ),
        ("In what year was the regatta first held?", "1950", "The regatta was first held in 1950."),
        ("The lifeboat was named what?", "Osprey", "The lifeboat was named Osprey."),
        ("Name the lifeboat.", "Osprey", "Name the lifeboat Osprey."),
    ],
)
def test_declarative(question, fake, expected):
    assert perturb.declarative(question, fake) == expected


def test_distractors_keep_gold_answers_at_their_offsets(examples):
    for position in ("end", "random"):
        adversarial = perturb.add_distractors(examples, seed=0, position=position)
        assert_same_schema(examples, adversarial)
        assert adversarial["question"] == examples["question"]
        assert answers_at_offsets(adversarial)
        assert probes.changed(examples, adversarial).all()


def test_distractor_at_the_end_is_a_new_last_sentence_with_a_fake_answer(examples):
    adversarial = perturb.add_distractors(examples, seed=0, position="end")
    for clean, context, answers in zip(
        examples["context"], adversarial["context"], examples["answers"], strict=True
    ):
        assert context.startswith(clean + " ")
        sentence = context[len(clean) + 1 :]
        assert sentence.endswith(".") and sentence[0].isupper()
        assert all(a not in sentence for a in answers["text"] if len(a) > 3)


def test_random_position_distractors_are_seeded_and_never_split_an_answer(examples):
    first = perturb.add_distractors(examples, seed=3, position="random")
    assert (
        first["context"] == perturb.add_distractors(examples, seed=3, position="random")["context"]
    )
    assert (
        first["context"] != perturb.add_distractors(examples, seed=4, position="random")["context"]
    )
    moved = [
        (a["answer_start"], b["answer_start"])
        for a, b in zip(examples["answers"], first["answers"], strict=True)
    ]
    assert any(old != new for old, new in moved)  # some distractors land before the answer


def test_mutated_question_differs_and_fake_answer_has_the_gold_type(examples):
    pools = perturb.distractor_pools(examples)
    rng = np.random.default_rng(0)
    question = "When was the stone breakwater added in 1902?"
    assert perturb.mutate_question(question, "Velmora_Harbour", pools, rng) != question
    fake = perturb.fake_answer(["March 1874"], "Velmora_Harbour", pools, rng)
    assert fake != "March 1874" and re.fullmatch(r"[A-Z][a-z]+ 18\d\d", fake)


def test_insert_sentence_refuses_to_break_an_answer():
    answers = {"text": ["stone breakwater"], "answer_start": [4]}
    with pytest.raises(
        ValueError, match="question q7: gold answer 'stone breakwater' is no longer"
    ):
        perturb.insert_sentence("The stone breakwater.", answers, "Fake.", 9, "q7")
    context, moved = perturb.insert_sentence("The stone breakwater.", answers, "Fake.", 0, "q7")
    assert context == "Fake. The stone breakwater." and moved["answer_start"] == [10]


def test_unknown_distractor_position_is_refused(examples):
    with pytest.raises(ValueError, match="position must be 'end' or 'random', got 'middle'"):
        perturb.add_distractors(examples, position="middle")
