"""Tests of the notebook-01 helpers: classification metrics, CV schemes, BLEU/ROUGE, online."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset
from sklearn.metrics import f1_score as sklearn_f1

from qa_utils.chapter.concepts import (
    SCHEMES,
    ConceptSizes,
    answer_metric_table,
    article_coin_labels,
    binary_scores,
    bleu_token_counts,
    concept_sizes,
    confusion_sentence,
    cv_compare,
    cv_sentence,
    cv_stats,
    fit_text_classifier,
    imbalance_sentence,
    labeller_note,
    metric_sentence,
    never_predicted_sentence,
    online_sentence,
    prevalence_sentence,
    prevalence_sweep,
    question_table,
    simulate_online,
    split_by_article,
    text_classifier,
)
from qa_utils.plots import SIZES
from qa_utils.plots.concepts import (
    plot_confusion,
    plot_cv_compare,
    plot_prevalence_sweep,
    plot_simulated_online,
)


def toy_questions(n_articles: int = 8, per_article: int = 10) -> pd.DataFrame:
    """Questions whose wording names their article; the answer type follows the wh-word."""
    rows = []
    for a in range(n_articles):
        for q in range(per_article):
            wh, kind = ("when", "Date") if q % 2 else ("who", "Person")
            rows.append(
                {
                    "title": f"art{a}",
                    "question": f"{wh} did topic{a} happen {q}",
                    "answer_type": kind,
                }
            )
    return pd.DataFrame(rows)


def test_concept_sizes_follow_profile_and_overrides() -> None:
    assert concept_sizes("smoke") == ConceptSizes(2_000, 2_000, 300)
    assert concept_sizes("quick").questions is None
    assert concept_sizes("smoke", questions=500, lm_train_questions=700).questions == 500
    assert concept_sizes("smoke", lm_train_questions=700).lm_train_questions == 700


def test_concept_sizes_describe_reads_none_as_all() -> None:
    text = ConceptSizes(None, 20_000, None).describe()
    assert text.startswith("all dev questions for the classifiers;")
    assert "the first 20,000 training questions" in text and "all dev paragraphs" in text
    assert "2,000 dev questions" in concept_sizes("smoke").describe()


def test_concept_sizes_rejects_unknown_profile() -> None:
    with pytest.raises(ValueError, match="unknown profile 'tiny'"):
        concept_sizes("tiny")


def test_question_table_types_the_first_gold_answer() -> None:
    examples = Dataset.from_list(
        [
            {
                "id": "q1",
                "title": "T",
                "context": "c",
                "question": "When?",
                "answers": {"text": ["March 1874", "1874"], "answer_start": [0, 6]},
            },
            {
                "id": "q2",
                "title": "T",
                "context": "c",
                "question": "How many?",
                "answers": {"text": ["3.5 million"], "answer_start": [0]},
            },
        ]
    )
    table = question_table(examples)
    assert list(table.columns) == ["id", "title", "question", "answer", "answer_type"]
    assert table["answer"].tolist() == ["March 1874", "3.5 million"]
    assert table["answer_type"].tolist() == ["Date", "Other Numeric"]


def test_split_by_article_keeps_articles_on_one_side() -> None:
    train, test = split_by_article(toy_questions(), test_size=0.25, seed=0)
    assert not set(train["title"]) & set(test["title"])
    assert len(train) + len(test) == 80 and test["title"].nunique() == 2


def test_binary_scores_hand_example_and_sklearn() -> None:
    y_true, y_pred = [1, 1, 1, 0, 0, 0, 0, 0], [1, 1, 0, 1, 0, 0, 0, 0]
    scores = binary_scores(y_true, y_pred)
    assert scores["accuracy"] == 6 / 8
    assert scores["precision"] == 2 / 3 and scores["recall"] == 2 / 3
    assert scores["f1"] == pytest.approx(sklearn_f1(y_true, y_pred))


def test_binary_scores_of_a_classifier_that_never_says_yes() -> None:
    scores = binary_scores([1, 0, 0, 0], [0, 0, 0, 0])
    assert scores == {"accuracy": 0.75, "precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_prevalence_sweep_moves_precision_not_recall() -> None:
    rng = np.random.default_rng(1)
    y_true = np.repeat([1, 0], 500)
    # recall 0.8 on positives, 5% false alarms on negatives
    y_pred = np.concatenate([rng.random(500) < 0.8, rng.random(500) < 0.05]).astype(int)
    sweep = prevalence_sweep(y_true, y_pred, rates=(0.5, 0.05), n=4000, seed=0)
    assert sweep["majority_accuracy"].tolist() == [0.5, 0.95]
    assert sweep["recall"].iloc[0] == pytest.approx(sweep["recall"].iloc[1], abs=0.05)
    assert sweep["precision"].iloc[1] < sweep["precision"].iloc[0] - 0.3
    assert sweep.equals(prevalence_sweep(y_true, y_pred, rates=(0.5, 0.05), n=4000, seed=0))


def test_prevalence_sweep_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both positive and negative"):
        prevalence_sweep([1, 1], [1, 0])


def test_text_classifier_learns_wh_words() -> None:
    table = toy_questions()
    model = fit_text_classifier(table["question"], table["answer_type"], seed=0)
    assert model.predict(["when did topic3 happen 9"]).tolist() == ["Date"]
    assert model.get_params()["logisticregression__random_state"] == 0
    balanced = text_classifier(seed=1, class_weight="balanced")
    assert balanced.get_params()["logisticregression__class_weight"] == "balanced"


def test_article_coin_labels_are_constant_within_an_article() -> None:
    titles = np.array(["b", "a", "b", "c", "a"])
    coins = article_coin_labels(titles, seed=3)
    assert coins[0] == coins[2] and coins[1] == coins[4]
    assert set(coins) <= {0, 1}
    assert (coins == article_coin_labels(titles, seed=3)).all()


def test_cv_compare_shows_leakage_only_with_shuffled_folds() -> None:
    table = toy_questions()
    tasks = {"coin": article_coin_labels(table["title"], seed=0)}
    scores = cv_compare(table["question"], tasks, table["title"], n_splits=4, seed=0)
    assert set(scores["scheme"]) == set(SCHEMES) and len(scores) == 8
    by_scheme = scores.groupby("scheme")
    assert (by_scheme.get_group(SCHEMES[1])["shared_groups"] == 0).all()
    assert (by_scheme.get_group(SCHEMES[0])["shared_groups"] > 0).all()
    # the question names its article, so shuffled folds memorise the per-article coin
    shuffled, grouped = (by_scheme.get_group(s)["accuracy"].mean() for s in SCHEMES)
    assert shuffled > 0.9 and grouped < shuffled - 0.3


def test_cv_compare_majority_accuracy_is_the_training_majority_on_the_test_fold() -> None:
    table = toy_questions(n_articles=6, per_article=4)
    labels = np.array([1] * 16 + [0] * 8)  # articles 0-3 say 1, articles 4-5 say 0
    scores = cv_compare(table["question"], {"coin": labels}, table["title"], n_splits=6)
    grouped = scores[scores["scheme"] == SCHEMES[1]]
    # the training majority is always 1: right on the four 1-articles, wrong on the two others
    assert sorted(grouped["majority_accuracy"].tolist()) == [0.0, 0.0, 1.0, 1.0, 1.0, 1.0]


def test_bleu_token_counts_use_sacrebleu_tokens_not_words() -> None:
    assert bleu_token_counts(["February 7, 2016", "Denver Broncos", "U.S."]).tolist() == [4, 2, 4]
    assert bleu_token_counts([]).size == 0


def test_answer_metric_table_short_answers() -> None:
    table = answer_metric_table("Denver Broncos", ["Denver Broncos", "Broncos", "Panthers"])
    exact, partial, wrong = (row for _, row in table.iterrows())
    assert (exact["EM"], exact["F1"], exact["ROUGE-L"]) == (100.0, 100.0, 100.0)
    assert exact["BLEU"] == 0.0  # fewer than 4 tokens: no 4-gram can match
    assert partial["F1"] == pytest.approx(200 / 3) and partial["EM"] == 0.0
    assert wrong[["EM", "F1", "BLEU", "sentence_BLEU", "ROUGE-1"]].sum() == 0.0


def test_simulate_online_ramps_the_drifting_share() -> None:
    correct = np.array([True] * 80 + [False] * 20)
    drifting = np.array([False] * 80 + [True] * 20)
    online = simulate_online(correct, drifting, days=5, per_day=200, final_share=1.0, seed=0)
    assert online["drifting_share"].iloc[0] == pytest.approx(0.2)
    assert online["drifting_share"].iloc[-1] == 1.0
    assert online["accuracy"].iloc[-1] == 0.0  # every drifting question is answered wrongly
    assert online["n_feedback"].between(1, 200).all()
    assert online.equals(
        simulate_online(correct, drifting, days=5, per_day=200, final_share=1.0, seed=0)
    )


def test_simulate_online_needs_both_slices() -> None:
    with pytest.raises(ValueError, match="inside and outside the drifting slice"):
        simulate_online([True, False], [False, False])


def test_plots_have_fixed_sizes() -> None:
    sweep = prevalence_sweep([1, 0, 1, 0], [1, 0, 0, 0], rates=(0.5, 0.1), n=100)
    assert tuple(plot_prevalence_sweep(sweep).get_size_inches()) == SIZES["single"]
    fig = plot_confusion(["a", "b", "b"], ["a", "b", "a"], labels=["a", "b"])
    assert tuple(fig.get_size_inches()) == SIZES["square"]
    scores = pd.DataFrame({"task": ["t"] * 2, "scheme": list(SCHEMES), "accuracy": [0.9, 0.5]})
    assert tuple(plot_cv_compare(scores).get_size_inches()) == SIZES["single"]
    online = simulate_online([True, False], [False, True], days=3, per_day=10)
    assert tuple(plot_simulated_online(online, 0.5).get_size_inches()) == SIZES["single"]


def test_prevalence_plot_and_sentence_name_the_baseline_alike() -> None:
    sweep = prevalence_sweep([1, 0, 1, 0], [1, 0, 0, 0], rates=(0.5, 0.1), n=100)
    legend = plot_prevalence_sweep(sweep).axes[0].get_legend()
    assert "majority accuracy (always 'no')" in [t.get_text() for t in legend.get_texts()]
    assert "close to the majority accuracy (always 'no'), 0.90." in prevalence_sentence(sweep)


def test_labeller_note_quotes_the_counts():
    counts = pd.Series({"Common Noun Phrase": 4448, "Location": 139, "Person": 69})
    text = labeller_note(counts)
    assert "only 69 of these 4,656 answers *Person* and 139 *Location*" in text
    assert "under-counts" in text


def test_imbalance_sentence_reads_the_scores():
    scores = pd.DataFrame(
        {
            "accuracy": [0.914, 0.973, 0.974],
            "precision": [0.0, 0.909, 0.813],
            "recall": [0.0, 0.762, 0.900],
            "f1": [0.0, 0.829, 0.855],
        },
        index=["no", "lr", "balanced"],
    )
    text = imbalance_sentence(scores, "no", "lr", "balanced")
    assert "91.4% accuracy" in text and "recall (0.76 to 0.90)" in text
    assert "precision (0.91 to 0.81)" in text


def test_never_predicted_and_confusion_sentences():
    truth = ["Date", "Date", "Person", "Clause", "Clause"]
    pred = ["Date", "Date", "Date", "Date", "Date"]
    labels = ["Date", "Person", "Clause"]
    text = never_predicted_sentence(truth, pred, labels)
    assert "never predicts 2 of the 3 types (Person, Clause), which hold 60.0%" in text
    assert "never right" not in text
    confusion = confusion_sentence(truth, pred, labels, min_questions=1)
    assert "from 0% (2 types: Person, Clause) to 100% (Date)" in confusion
    assert "sends 100% of the 1 *Person* questions to *Date*" in confusion


def test_never_predicted_sentence_names_types_predicted_but_never_right():
    truth = ["Date", "Date", "Person", "Clause"]
    pred = ["Date", "Clause", "Date", "Date"]
    text = never_predicted_sentence(truth, pred, ["Date", "Person", "Clause"])
    assert "never predicts 1 of the 3 types (Person)" in text
    assert "*Clause* is predicted once but never right" in text


def test_confusion_sentence_skips_small_rows():
    # Other: 2 questions, all sent to Date; Clause: 4 questions, half sent to Date
    truth = ["Other"] * 2 + ["Clause"] * 4 + ["Date"] * 4
    pred = ["Date"] * 2 + ["Clause", "Clause", "Date", "Date"] + ["Date"] * 4
    labels = ["Date", "Clause", "Other"]
    assert "100% of the 2 *Other*" in confusion_sentence(truth, pred, labels, min_questions=1)
    text = confusion_sentence(truth, pred, labels, min_questions=3)
    assert "at least 3 test questions" in text and "50% of the 4 *Clause* questions" in text
    assert "no type has 30 test questions" in confusion_sentence(truth, pred, labels)


def cv_rows(coin: list[float], task: list[float], chance: float) -> pd.DataFrame:
    """Two folds per (task, scheme): shuffled first, then grouped, for the coin and the task."""
    rows = []
    for name, values in (("coin per article", coin), ("answer type", task)):
        for scheme, pair in zip(SCHEMES, (values[:2], values[2:]), strict=True):
            for fold, accuracy in enumerate(pair):
                shared = 48 if scheme == SCHEMES[0] else 0
                rows.append(
                    {"task": name, "scheme": scheme, "fold": fold, "accuracy": accuracy,
                     "majority_accuracy": chance, "shared_groups": shared}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_cv_sentence_compares_the_drop_with_the_folds_spread():
    # grouped answer type: mean 0.665, SD 0.0283; drop 0.04 = 1.4 SDs
    cv = cv_rows([0.87, 0.88, 0.50, 0.54], [0.70, 0.71, 0.645, 0.685], chance=0.57)
    stats = cv_stats(cv)
    assert list(stats.columns) == ["accuracy", "sd", "majority_accuracy", "shared_groups"]
    assert stats.loc[("answer type", SCHEMES[1]), "sd"] == pytest.approx(0.02828, abs=1e-5)
    text = cv_sentence(cv, held_out=0.70)
    assert "accuracy 0.88" in text and "to 0.52, no better than chance" in text
    assert "majority coin scores 0.57" in text
    assert "0.705 to 0.665; one split of held-out articles (section 3) scored 0.700" in text
    assert "drop of 0.040 is 1.4 times the grouped folds' standard deviation (0.028)" in text
    assert "hard to tell from the folds' noise" in text


def test_cv_sentence_names_a_clear_drop_and_a_coin_above_chance():
    cv = cv_rows([0.87, 0.88, 0.80, 0.82], [0.80, 0.80, 0.60, 0.61], chance=0.57)
    text = cv_sentence(cv)
    assert "to 0.81, above chance" in text and "section 3" not in text
    assert "well beyond the folds' spread: part of its shuffled score was memorised" in text
    flat = cv_rows([0.87, 0.88, 0.50, 0.54], [0.60, 0.60, 0.61, 0.62], chance=0.57)
    assert "Grouped folds cost it nothing" in cv_sentence(flat)


def test_metric_sentence_says_which_metrics_notice_word_order():
    candidates = ["Denver Broncos", "the Denver Broncos", "denver broncos", "Broncos"]
    metrics = answer_metric_table("Denver Broncos", [*candidates, "Broncos of Denver"])
    text = metric_sentence(metrics)
    assert '"denver broncos" gets ROUGE-1 100' in text
    assert '"Broncos of Denver" gets token F1 80 and ROUGE-1 80, which count words' in text
    assert "only ROUGE-L, the longest common subsequence, penalises it (40)" in text
    assert "BLEU's higher n-grams notice it too" in text
    assert 'gives it 34.7, less than the one-word "Broncos" (36.8)' in text
    assert "Only ROUGE-L" not in text


def test_online_sentence_gives_the_feedback_interval():
    online = pd.DataFrame(
        {
            "day": [1, 2],
            "accuracy": [0.69, 0.38],
            "feedback_accuracy": [0.5, 0.5],
            "n_feedback": [25, 25],
        }
    )
    text = online_sentence(online, 0.7)
    assert "stays at 0.70" in text and "from 0.69 on day 1 to 0.38 on day 2" in text
    assert "about 25 answers a day give a 95% interval of about ±0.20" in text
