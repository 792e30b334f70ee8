"""Tests of qa_utils.robustness: perturbations keep the answer valid; scores and topic splits."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset
from matplotlib.figure import Figure

from qa_utils import plots
from qa_utils.core.data import load_squad
from qa_utils.robustness import perturb, probes, shift

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


# ---------------------------------------------------------------- typos


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


# ---------------------------------------------------------------- rewrites


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


# ---------------------------------------------------------------- distractors


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


# ---------------------------------------------------------------- scores under perturbations


def memorising_predictor(clean: Dataset):
    """Answers questions it has seen verbatim with the gold answer, others with the first word."""
    known = {(q, c): a["text"][0] for q, c, a in zip(
        clean["question"], clean["context"], clean["answers"], strict=True)}  # fmt: skip

    def predict(examples: Dataset) -> dict[str, str]:
        pairs = zip(examples["id"], examples["question"], examples["context"], strict=True)
        return {i: known.get((q, c), c.split()[0]) for i, q, c in pairs}

    return predict


def test_robustness_table_measures_the_drop_with_paired_intervals(examples):
    probes = perturb.perturbations(seed=0, typo_rate=0.2)
    scores = probes.evaluate_perturbations(memorising_predictor(examples), examples, probes)
    assert list(scores["condition"].unique()) == ["clean", *probes]
    table = probes.robustness_table(scores, n_resamples=500, seed=0).set_index("condition")
    assert table.loc["clean", "f1"] == 100.0 and table.loc["clean", "drop"] == 0.0
    for name in probes:
        row = table.loc[name]
        assert row["drop"] == pytest.approx(100.0 - row["f1"])
        assert row["drop_low"] <= row["drop"] <= row["drop_high"]
        assert row["f1_low"] <= row["f1"] <= row["f1_high"]
    assert table.loc["distractor (end)", "changed"] == 1.0
    assert table.loc["distractor (end)", "p_value"] < 0.01
    again = probes.robustness_table(scores, n_resamples=500, seed=0)
    pd.testing.assert_frame_equal(again, table.reset_index())


def test_answer_all_matches_separate_calls_and_answers_each_distinct_input_once(examples):
    predict, seen = memorising_predictor(examples), []

    def counting(data: Dataset) -> dict[str, str]:
        seen.append(len(data))
        return predict(data)

    datasets = [examples, perturb.rewrite_questions(examples), examples.select(range(3))]
    answers = probes.answer_all(counting, datasets)
    assert answers == [predict(d) for d in datasets]
    distinct = set(zip(datasets[1]["question"], datasets[1]["context"], strict=True))
    distinct |= set(zip(examples["question"], examples["context"], strict=True))
    assert seen == [len(distinct)] and len(distinct) < 2 * len(examples)


def test_plot_robustness_returns_a_fixed_size_figure(examples):
    probes = {"rewrites": perturb.rewrite_questions}
    scores = probes.evaluate_perturbations(memorising_predictor(examples), examples, probes)
    fig = plots.plot_robustness(probes.robustness_table(scores, n_resamples=100))
    assert isinstance(fig, Figure) and tuple(fig.get_size_inches()) == plots.ROBUSTNESS_SIZE


# ---------------------------------------------------------------- domain shift


def topic_examples(n_titles: int = 10, paragraphs: int = 4, questions: int = 3) -> Dataset:
    """Synthetic SQuAD examples: n_titles articles, each with a few paragraphs and questions."""
    rows = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for t in range(n_titles):
        for p in range(paragraphs):
            for q in range(questions):
                rows["id"].append(f"t{t}-p{p}-q{q}")
                rows["title"].append(f"Topic_{t}")
                rows["context"].append(f"Paragraph {p} of topic {t} mentions item {q}.")
                rows["question"].append(f"What does paragraph {p} mention ({q})?")
                rows["answers"].append({"text": [f"item {q}"], "answer_start": [28]})
    return Dataset.from_dict(rows)


def test_split_topics_is_seeded_and_partitions_the_titles():
    data = topic_examples()
    split = shift.split_topics(data, unseen_fraction=0.3, seed=0)
    assert len(split.unseen) == 3 and set(split.seen) | set(split.unseen) == set(data["title"])
    assert not set(split.seen) & set(split.unseen)
    assert split == shift.split_topics(data, unseen_fraction=0.3, seed=0)
    with pytest.raises(ValueError, match="at least two articles, got 1"):
        shift.split_topics(data.select(range(3)))


def test_topic_datasets_hold_out_paragraphs_of_seen_topics_and_all_unseen_topics():
    data = topic_examples()
    split = shift.split_topics(data, unseen_fraction=0.2, seed=1)
    train, seen_eval, unseen_eval = shift.topic_datasets(data, split, holdout_fraction=0.25, seed=0)
    assert set(train["title"]) <= set(split.seen) and set(seen_eval["title"]) <= set(split.seen)
    assert set(unseen_eval["title"]) == set(split.unseen)
    assert not set(train["context"]) & set(seen_eval["context"])
    assert len(train) + len(seen_eval) + len(unseen_eval) == len(data)
    small = shift.topic_datasets(data, split, n_train=5, n_eval=4, seed=0)
    assert [len(d) for d in small] == [5, 4, 4]


def test_article_scores_spread_and_topic_comparison():
    table = pd.DataFrame(
        {
            "title": ["A", "A", "B", "B", "C"],
            "em": [100, 0, 100, 100, 0],
            "f1": [100, 50, 100, 80, 0],
        }
    )
    per_article = shift.article_scores(table)
    assert per_article["title"].tolist() == ["C", "A", "B"]
    assert per_article["f1"].tolist() == [0.0, 75.0, 90.0]
    spread = shift.article_spread(per_article)
    assert spread["worst"] == "C" and spread["best"] == "B" and spread["mean"] == pytest.approx(55)
    fig = plots.plot_article_scores(per_article)
    assert tuple(fig.get_size_inches()) == plots.ARTICLES_SIZE
    comparison = shift.compare_topics(table[table.title != "C"], table[table.title == "C"], 200)
    assert comparison["group"].tolist() == ["seen topics", "unseen topics", "difference"]
    diff = comparison.iloc[2]
    assert diff["f1"] == pytest.approx(82.5) and diff["f1_low"] <= 82.5 <= diff["f1_high"]
