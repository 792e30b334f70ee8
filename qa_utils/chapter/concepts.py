"""Helpers for notebook 01: classic metrics on a classification task built from SQuAD.

The task: predict a question's answer type (the SQuAD paper's taxonomy, assigned to the gold
answer by `qa_utils.analysis.answer_types.rule_answer_type`) from the question text alone. It
is cheap
(TF-IDF + logistic regression), real, imbalanced, and grouped by article, which is all that
accuracy, precision/recall/F1, confusion matrices and grouped cross-validation need.
Perplexity lives in `qa_utils.chapter.lm`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import sacrebleu
from numpy.typing import ArrayLike
from rouge_score import rouge_scorer
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, precision_recall_fscore_support
from sklearn.model_selection import GroupKFold, GroupShuffleSplit, KFold
from sklearn.pipeline import Pipeline, make_pipeline
from threadpoolctl import threadpool_limits

from qa_utils.analysis.answer_types import classify_answers
from qa_utils.chapter.errors import off_diagonal
from qa_utils.core.metrics import exact_match_score, f1_score

if TYPE_CHECKING:
    from datasets import Dataset


SCHEMES = ("KFold (shuffled)", "GroupKFold (by article)")


@dataclass(frozen=True)
class ConceptSizes:
    """How much data notebook 01 uses; None means all of it."""

    questions: int | None  # dev questions for the classification tasks
    lm_train_questions: int | None  # train questions whose paragraphs train the LMs
    lm_dev_paragraphs: int | None  # dev paragraphs the LMs are scored on

    def describe(self) -> str:
        """The sizes in words (None reads "all").

        >>> print(ConceptSizes(None, 20_000, 300).describe())
        all dev questions for the classifiers; the paragraphs of the first 20,000 training
        questions train the language models and 300 dev paragraphs score them
        """

        def amount(n: int | None, what: str, first: str = "") -> str:
            return f"all {what}" if n is None else f"{first}{n:,} {what}"

        return (
            f"{amount(self.questions, 'dev questions')} for the classifiers; the paragraphs of "
            f"{amount(self.lm_train_questions, 'training questions', 'the first ')} train the "
            f"language models and {amount(self.lm_dev_paragraphs, 'dev paragraphs')} score them"
        )


PROFILE_SIZES = {
    "smoke": ConceptSizes(questions=2_000, lm_train_questions=2_000, lm_dev_paragraphs=300),
    "quick": ConceptSizes(questions=None, lm_train_questions=20_000, lm_dev_paragraphs=None),
    "full": ConceptSizes(questions=None, lm_train_questions=None, lm_dev_paragraphs=None),
}


def concept_sizes(profile: str, questions: int = 0, lm_train_questions: int = 0) -> ConceptSizes:
    """The profile's sizes, with the notebook's non-zero parameters taking precedence."""
    if profile not in PROFILE_SIZES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_SIZES)}")
    sizes = PROFILE_SIZES[profile]
    return ConceptSizes(
        questions=questions or sizes.questions,
        lm_train_questions=lm_train_questions or sizes.lm_train_questions,
        lm_dev_paragraphs=sizes.lm_dev_paragraphs,
    )


def question_table(examples: Dataset) -> pd.DataFrame:
    """One row per question: id, title, question, answer (the first gold) and its answer_type."""
    answers = [a["text"][0] for a in examples["answers"]]
    return pd.DataFrame(
        {
            "id": list(examples["id"]),
            "title": list(examples["title"]),
            "question": list(examples["question"]),
            "answer": answers,
            "answer_type": classify_answers(answers),
        }
    )


def split_by_article(
    table: pd.DataFrame, test_size: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split rows into train and test so that no article (title) is on both sides."""
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train_idx, test_idx = next(splitter.split(table, groups=table["title"]))
    return table.iloc[train_idx].reset_index(drop=True), table.iloc[test_idx].reset_index(drop=True)


def text_classifier(seed: int = 0, class_weight: str | None = None) -> Pipeline:
    """TF-IDF of word 1-2-grams feeding a logistic regression: a cheap, strong text baseline."""
    return make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(max_iter=1000, class_weight=class_weight, random_state=seed),
    )


def fit_text_classifier(
    texts: ArrayLike, labels: ArrayLike, seed: int = 0, class_weight: str | None = None
) -> Pipeline:
    """Fit a `text_classifier` on texts and their labels."""
    # One BLAS thread: lbfgs makes many tiny BLAS calls, and waking BLAS threads for each of
    # them cost 10-25x the CPU time of the fit on 2 shared cores (measured), for no speed-up.
    with threadpool_limits(limits=1, user_api="blas"):
        return text_classifier(seed, class_weight).fit(texts, labels)


def binary_scores(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """Accuracy, precision, recall and F1 of the positive class (1); 0 where undefined.

    >>> binary_scores([1, 1, 0, 0], [1, 0, 0, 0])
    {'accuracy': 0.75, 'precision': 1.0, 'recall': 0.5, 'f1': 0.6666666666666666}
    """
    precision, recall, f1, _ = precision_recall_fscore_support(
        y_true, y_pred, average="binary", zero_division=0
    )
    values = (accuracy_score(y_true, y_pred), precision, recall, f1)
    return dict(zip(("accuracy", "precision", "recall", "f1"), map(float, values), strict=True))


def prevalence_sweep(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    rates: Sequence[float] = (0.5, 0.2, 0.1, 0.05, 0.01),
    n: int = 5_000,
    seed: int = 0,
) -> pd.DataFrame:
    """Score the same predictions on test sets resampled to different shares of positives.

    Each test set draws `n` items with replacement: round(rate * n) from the positives, the
    rest from the negatives. Recall and specificity stay put; accuracy and precision move.

    Returns:
        One row per rate: positive_rate, accuracy, precision, recall, f1, majority_accuracy.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    positives, negatives = np.flatnonzero(y_true == 1), np.flatnonzero(y_true != 1)
    if len(positives) == 0 or len(negatives) == 0:
        raise ValueError("prevalence_sweep needs both positive and negative test items")
    rng = np.random.default_rng(seed)
    rows = []
    for rate in rates:
        n_pos = round(rate * n)
        idx = np.concatenate([rng.choice(positives, n_pos), rng.choice(negatives, n - n_pos)])
        scores = binary_scores(y_true[idx], y_pred[idx])
        rows.append({"positive_rate": rate, **scores, "majority_accuracy": 1 - n_pos / n})
    return pd.DataFrame(rows)


def article_coin_labels(titles: ArrayLike, seed: int = 0) -> np.ndarray:
    """A fair coin flipped once per article: a label no question wording can predict."""
    titles = np.asarray(titles)
    unique = np.unique(titles)
    coins = np.random.default_rng(seed).integers(0, 2, size=len(unique))
    return coins[np.searchsorted(unique, titles)]


def cv_compare(
    texts: ArrayLike,
    tasks: Mapping[str, ArrayLike],
    groups: ArrayLike,
    n_splits: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """Cross-validated accuracy of `text_classifier` with shuffled and with grouped folds.

    Returns:
        One row per (task, scheme, fold): accuracy; majority_accuracy, the accuracy of always
        predicting the training folds' most frequent label (chance, on the same folds); and
        shared_groups, the number of the test fold's groups (articles) that also appear in its
        training folds.
    """
    texts, groups = np.asarray(texts, dtype=object), np.asarray(groups)
    # KFold ignores groups (and warns if given them); GroupKFold keeps each group in one fold
    splitters = {
        SCHEMES[0]: (KFold(n_splits, shuffle=True, random_state=seed), None),
        SCHEMES[1]: (GroupKFold(n_splits), groups),
    }
    rows = []
    for task, labels in tasks.items():
        y = np.asarray(labels)
        for scheme, (splitter, split_groups) in splitters.items():
            for fold, (train, test) in enumerate(splitter.split(texts, y, split_groups)):
                model = fit_text_classifier(texts[train], y[train], seed)
                majority = DummyClassifier(strategy="most_frequent").fit(texts[train], y[train])
                rows.append(
                    {
                        "task": task,
                        "scheme": scheme,
                        "fold": fold,
                        "accuracy": accuracy_score(y[test], model.predict(texts[test])),
                        "majority_accuracy": majority.score(texts[test], y[test]),
                        "shared_groups": len(set(groups[test]) & set(groups[train])),
                    }
                )
    return pd.DataFrame(rows)


def bleu_token_counts(texts: Sequence[str]) -> np.ndarray:
    """How many tokens BLEU sees in each text: sacrebleu's default 13a tokenizer, not words.

    >>> bleu_token_counts(["February 7, 2016", "Denver Broncos"]).tolist()
    [4, 2]
    """
    tokenizer = Tokenizer13a()
    return np.array([len(tokenizer(text).split()) for text in texts], dtype=int)


def answer_metric_table(gold: str, candidates: Sequence[str]) -> pd.DataFrame:
    """EM, F1, BLEU and ROUGE of candidate answers against one gold answer, all in 0-100.

    BLEU is sacrebleu's standard corpus BLEU-4; sentence_BLEU is its sentence-level variant
    (exponential smoothing, effective n-gram order). ROUGE uses Porter stemming.

    >>> answer_metric_table("Denver Broncos", ["Broncos"]).iloc[0, 1:].round(1).tolist()
    [0.0, 66.7, 0.0, 36.8, 66.7, 66.7]
    """
    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=True)
    rows = []
    for candidate in candidates:
        rouge = scorer.score(gold, candidate)
        rows.append(
            {
                "candidate": candidate,
                "EM": 100.0 * exact_match_score(candidate, gold),
                "F1": 100.0 * f1_score(candidate, gold),
                "BLEU": sacrebleu.corpus_bleu([candidate], [[gold]]).score,
                "sentence_BLEU": sacrebleu.sentence_bleu(candidate, [gold]).score,
                "ROUGE-1": 100.0 * rouge["rouge1"].fmeasure,
                "ROUGE-L": 100.0 * rouge["rougeL"].fmeasure,
            }
        )
    return pd.DataFrame(rows)


def simulate_online(
    correct: ArrayLike,
    drifting: ArrayLike,
    days: int = 14,
    per_day: int = 300,
    final_share: float = 0.8,
    feedback_rate: float = 0.1,
    seed: int = 0,
) -> pd.DataFrame:
    """Replay held-out outcomes as a live stream whose mix drifts towards one slice.

    Day d draws `per_day` questions; the share from the `drifting` slice rises linearly from
    its offline share to `final_share`. Only a `feedback_rate` share of users say whether
    the answer was right, so the accuracy a live system can see is a noisy estimate.

    Returns:
        One row per day: day, drifting_share, accuracy (all questions, unknown live),
        feedback_accuracy (what the feedback shows) and n_feedback.
    """
    correct, drifting = np.asarray(correct, dtype=bool), np.asarray(drifting, dtype=bool)
    inside, outside = np.flatnonzero(drifting), np.flatnonzero(~drifting)
    if len(inside) == 0 or len(outside) == 0:
        raise ValueError(
            "simulate_online needs questions both inside and outside the drifting slice"
        )
    rng = np.random.default_rng(seed)
    rows = []
    for day, share in enumerate(np.linspace(drifting.mean(), final_share, days), start=1):
        n_in = round(share * per_day)
        idx = np.concatenate([rng.choice(inside, n_in), rng.choice(outside, per_day - n_in)])
        seen = rng.random(per_day) < feedback_rate
        feedback = correct[idx][seen].mean() if seen.any() else np.nan
        rows.append(
            {
                "day": day,
                "drifting_share": n_in / per_day,
                "accuracy": correct[idx].mean(),
                "feedback_accuracy": feedback,
                "n_feedback": int(seen.sum()),
            }
        )
    return pd.DataFrame(rows)


def labeller_note(counts: pd.Series) -> str:
    """Why the rule-based labels under-count people and places, quoting `counts` (per type)."""
    total = int(counts.sum())
    person, place = int(counts.get("Person", 0)), int(counts.get("Location", 0))
    return (
        f"The spelling rules call only {person:,} of these {total:,} answers *Person* and "
        f"{place:,} *Location*: without a title or a place word they cannot tell a person or a "
        "place from an organisation, so *Other Entity* absorbs the rest. Notebook 04 labels the "
        "same dev answers with spaCy's named-entity recogniser and finds many more people and "
        "places. The rule-based labeller under-counts them: in this notebook Person and "
        "Location are rare partly because of the labeller, not only because of the data."
    )


def imbalance_sentence(scores: pd.DataFrame, majority: str, plain: str, weighted: str) -> str:
    """The majority classifier's accuracy against its zero recall, and what class weights trade."""
    base, lr, bal = scores.loc[majority], scores.loc[plain], scores.loc[weighted]
    trade = (
        f"Class weights buy recall ({lr['recall']:.2f} to {bal['recall']:.2f}) with precision "
        f"({lr['precision']:.2f} to {bal['precision']:.2f})."
    )
    return (
        f"The *{majority}* classifier has {base['accuracy']:.1%} accuracy and is useless: accuracy "
        f"rewards the majority class. Precision, recall and F1 expose it (recall "
        f"{base['recall']:.2f}, F1 {base['f1']:.2f}). " + trade
    )


def prevalence_sentence(sweep: pd.DataFrame) -> str:
    """What the prevalence figure shows: recall flat, precision falling, accuracy rising."""
    first, last = sweep.iloc[0], sweep.iloc[-1]
    return (
        f"From {first['positive_rate']:.0%} to {last['positive_rate']:.0%} dates in the test "
        f"set, recall moves between {sweep['recall'].min():.2f} and {sweep['recall'].max():.2f}, "
        f"precision falls from {first['precision']:.2f} to {last['precision']:.2f}, and accuracy "
        f"rises from {first['accuracy']:.2f} to {last['accuracy']:.2f}, close to the majority "
        f"accuracy (always 'no'), {last['majority_accuracy']:.2f}."
    )


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str]) -> pd.DataFrame:
    """Questions per (true type, predicted type): a row per true type, a column per prediction."""
    table = pd.crosstab(pd.Series(y_true, name="true"), pd.Series(y_pred, name="predicted"))
    return table.reindex(index=labels, columns=labels, fill_value=0)


def confusion_sentence(
    y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str], min_questions: int = 30
) -> str:
    """What the confusion matrix shows: the range of the diagonal and the largest confusion.

    The largest confusion is taken among true types with at least `min_questions` questions
    (`qa_utils.chapter.errors.off_diagonal`): a row of five questions gives shares of 0% or 100%.
    """
    counts = confusion_counts(y_true, y_pred, labels)
    present = counts[counts.sum(axis=1) > 0]
    recall = pd.Series(np.diag(counts.loc[present.index, present.index]), index=present.index)
    recall = recall / present.sum(axis=1)
    worst = recall[recall == recall.min()].index.tolist()
    lowest = worst[0] if len(worst) == 1 else f"{len(worst)} types: {', '.join(worst)}"
    text = (
        f"The diagonal (recall per type) runs from {recall.min():.0%} ({lowest}) to "
        f"{recall.max():.0%} ({recall.idxmax()})"
    )
    cells = off_diagonal(counts, min_questions=min_questions, n=1)
    if cells.empty:
        return text + f"; no type has {min_questions} test questions to show a confusion."
    cell = cells.iloc[0]
    return text + (
        f". Among the types with at least {min_questions} test questions, the largest "
        f"confusion sends {cell['share']:.0%} of the {cell['row_total']:,} *{cell['gold']}* "
        f"questions to *{cell['predicted']}*."
    )


def times(n: int) -> str:
    """A count in words: "once", "twice" or "n times".

    >>> [times(1), times(2), times(1200)]
    ['once', 'twice', '1,200 times']
    """
    return {1: "once", 2: "twice"}.get(int(n), f"{n:,} times")


def never_predicted_sentence(y_true: ArrayLike, y_pred: ArrayLike, labels: Sequence[str]) -> str:
    """Which types the classifier never predicts, and how many test questions they hold."""
    truth, guesses = np.asarray(y_true), np.asarray(y_pred)
    predicted, right = set(guesses), set(guesses[truth == guesses])
    never = [t for t in labels if t not in predicted]
    wrong = [t for t in labels if t in predicted and t not in right]
    held = pd.Series(truth).isin(never).mean()
    never_right = "".join(
        f" *{t}* is predicted {times((guesses == t).sum())} but never right, so its row of "
        "the report is all zeros too."
        for t in wrong
    )
    return (
        f"The classifier never predicts {len(never)} of the {len(labels)} types "
        f"({', '.join(never) or 'none'}), which hold {held:.1%} of the test questions: the macro "
        "average counts each of them as much as a common type, the weighted average hardly at "
        f"all.{never_right} Person and Location are among the rare ones partly because the "
        "rule-based labeller under-counts them (section 1), so their zeros say as much about "
        "the silver labels as about the classifier."
    )


def cv_stats(cv: pd.DataFrame) -> pd.DataFrame:
    """Per (task, scheme) of `cv_compare`: the folds' mean accuracy and its SD, chance (the mean
    majority_accuracy on the same folds) and the mean number of shared articles."""
    return cv.groupby(["task", "scheme"]).agg(
        accuracy=("accuracy", "mean"),
        sd=("accuracy", "std"),
        majority_accuracy=("majority_accuracy", "mean"),
        shared_groups=("shared_groups", "mean"),
    )


def cv_sentence(cv: pd.DataFrame, held_out: float | None = None) -> str:
    """The coin against chance under both schemes, and the real task's drop against the spread.

    Args:
        cv: `cv_compare`'s rows for the tasks "coin per article" and "answer type".
        held_out: The answer-type accuracy of one split of held-out articles, if quoted.
    """
    shuffled, grouped = SCHEMES
    stats = cv_stats(cv)
    coin, shared = stats.loc["coin per article"], stats.loc["coin per article", "shared_groups"]
    above = coin.loc[grouped, "accuracy"] - coin.loc[grouped, "majority_accuracy"]
    verdict = "no better than chance" if above <= coin.loc[grouped, "sd"] else "above chance"
    return (
        f"With shuffled folds a test fold shares {shared[shuffled]:.0f} articles with its "
        f"training folds on average (grouped: {shared[grouped]:.0f}), and the coin is "
        f'"predicted" with accuracy {coin.loc[shuffled, "accuracy"]:.2f}: the model learnt '
        f"which article a question comes from. Grouped folds bring it to "
        f"{coin.loc[grouped, 'accuracy']:.2f}, {verdict}: always predicting the training folds' "
        f"majority coin scores {coin.loc[grouped, 'majority_accuracy']:.2f} on the same folds "
        "(articles differ in size, so the two sides of the coin hold different shares of the "
        "questions). " + drop_sentence(stats.loc["answer type"], held_out)
    )


def drop_sentence(task: pd.DataFrame, held_out: float | None = None) -> str:
    """The real task's shuffled-to-grouped drop, measured in the grouped folds' SDs.

    Args:
        task: One task's rows of `cv_stats` (index: the schemes).
        held_out: The accuracy of one split of held-out articles, if quoted.
    """
    shuffled, grouped = SCHEMES
    # the means rounded as the notebook's table shows them (numpy rounds 0.6815 up, format down)
    before, after = np.round(task.loc[[shuffled, grouped], "accuracy"].to_numpy(), 3)
    sd = task.loc[grouped, "sd"]
    split = (
        f"; one split of held-out articles (section 3) scored {held_out:.3f}" if held_out else ""
    )
    text = f"The real task goes from {before:.3f} to {after:.3f}{split}. "
    if before <= after:
        return text + "Grouped folds cost it nothing: no sign of memorised topic."
    verdict = (
        "well beyond the folds' spread: part of its shuffled score was memorised topic."
        if before - after > 2 * sd
        else "within two of the folds' own standard deviations, so on this task the leak that "
        "the coin shows so clearly is hard to tell from the folds' noise."
    )
    return text + (
        f"That drop of {before - after:.3f} is {(before - after) / sd:.1f} times the grouped "
        f"folds' standard deviation ({np.round(sd, 3):.3f}): " + verdict
    )


def metric_sentence(metrics: pd.DataFrame) -> str:
    """BLEU against ROUGE against EM/F1 on the Denver Broncos candidates (`answer_metric_table`)."""
    m = metrics.set_index("candidate")

    def score(candidate: str, column: str) -> str:
        return f"{m.loc[candidate, column]:.0f}"

    return (
        f"Standard BLEU-4 gives {score('Denver Broncos', 'BLEU')} even to the exact answer: two "
        "words have no 4-gram, so the 4-gram precision is 0 and so is the geometric mean. "
        "Sentence-level BLEU (smoothed, up to the n-grams the answer has) avoids that, yet gives "
        f'"the Denver Broncos" {score("the Denver Broncos", "sentence_BLEU")} and "denver '
        f'broncos" {score("denver broncos", "sentence_BLEU")}, because BLEU compares raw, '
        "case-sensitive tokens; SQuAD's normalisation (lower-case, drop punctuation and "
        'articles) makes both exact. The correct-ish "Broncos" gets '
        f"{score('Broncos', 'BLEU')} from BLEU-4 and {score('Broncos', 'F1')} from F1. ROUGE's "
        'tokenizer lower-cases and drops punctuation, so "denver broncos" gets ROUGE-1 '
        f'{score("denver broncos", "ROUGE-1")}, but it keeps articles ("the Denver Broncos": '
        f"{score('the Denver Broncos', 'ROUGE-1')}). " + order_sentence(metrics)
    )


def order_sentence(metrics: pd.DataFrame) -> str:
    """Which metrics notice the swapped "Broncos of Denver" (rows of `answer_metric_table`)."""
    m = metrics.set_index("candidate")
    swap, one = m.loc["Broncos of Denver"], m.loc["Broncos"]
    bleu = (
        f"BLEU's higher n-grams notice it too: no bigram matches, so sentence-level BLEU gives it "
        f'{swap["sentence_BLEU"]:.1f}, less than the one-word "Broncos" '
        f"({one['sentence_BLEU']:.1f}) although it holds both gold words."
        if swap["sentence_BLEU"] < one["sentence_BLEU"]
        else f"Sentence-level BLEU gives it {swap['sentence_BLEU']:.1f}."
    )
    return (
        f'Word order: "Broncos of Denver" gets token F1 {swap["F1"]:.0f} and ROUGE-1 '
        f"{swap['ROUGE-1']:.0f}, which count words and ignore order; of the two ROUGE scores "
        f"only ROUGE-L, the longest common subsequence, penalises it ({swap['ROUGE-L']:.0f}). "
        + bleu
    )


def online_sentence(online: pd.DataFrame, offline_accuracy: float) -> str:
    """What the online figure shows: frozen offline accuracy, falling live accuracy, noise."""
    first, last = online.iloc[0], online.iloc[-1]
    n = online["n_feedback"].mean()
    p = online["feedback_accuracy"].mean()
    half_width = 1.96 * np.sqrt(p * (1 - p) / max(n, 1))
    move = "falls" if last["accuracy"] < first["accuracy"] else "rises"
    return (
        f"The offline accuracy stays at {offline_accuracy:.2f}: the test set is frozen. Live "
        f"accuracy {move} from {first['accuracy']:.2f} on day {first['day']:.0f} to "
        f"{last['accuracy']:.2f} on day {last['day']:.0f} as the mix drifts, and the feedback "
        f"estimate follows it only roughly: about {n:.0f} answers a day give a 95% interval of "
        f"about ±{half_width:.2f}."
    )
