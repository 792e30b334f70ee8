"""Tests of the n-gram language models and perplexity (notebook 01)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qa_utils.chapter.lm import (
    EOS,
    UNK,
    NgramLM,
    build_vocab,
    curve_gains,
    curve_sentence,
    curve_table,
    known_tokens,
    oov_rate,
    padded_ngrams,
    paragraph_docs,
    perplexity,
    perplexity_curve,
    perplexity_sentence,
    perplexity_table,
    tokenize,
    unk_share_of_gap,
)
from qa_utils.plots import SIZES
from qa_utils.plots.concepts import plot_perplexity_curve

TOY = [tokenize("the cat sat"), tokenize("the dog sat")]
SPECS = [
    {"order": 1},
    {"order": 2},
    {"order": 3, "k": 0.5},
    {"order": 2, "weights": (0.4, 0.6)},
    {"order": 3, "weights": (0.2, 0.3, 0.5)},
]


def test_tokenize_lowercases_and_splits_punctuation() -> None:
    assert tokenize("In 1889, Paris!") == ["in", "1889", ",", "paris", "!"]


def test_perplexity_of_uniform_and_mixed_nll() -> None:
    assert perplexity([math.log(10)] * 5) == pytest.approx(10)
    probs = np.array([0.5, 0.25, 0.125])
    # exp(mean NLL) is the geometric mean of 1/p
    assert perplexity(-np.log(probs)) == pytest.approx(np.prod(1 / probs) ** (1 / 3))


def test_perplexity_rejects_no_tokens() -> None:
    with pytest.raises(ValueError, match="at least one token"):
        perplexity([])


def test_paragraph_docs_deduplicates_repeated_contexts() -> None:
    docs = paragraph_docs(["A b.", "A b.", "C d"], limit=None)
    assert docs == [["a", "b", "."], ["c", "d"]]
    assert paragraph_docs(["A b.", "C d", "E"], limit=1) == [["a", "b", "."]]


def test_vocab_keeps_frequent_words_and_oov_becomes_unk() -> None:
    vocab = build_vocab(TOY, min_count=2)
    assert vocab == {"the", "sat", UNK, EOS}
    assert oov_rate([["the", "cat"]], vocab) == 0.5
    assert padded_ngrams(["the", "cat"], 1, vocab) == [("the",), (UNK,), (EOS,)]


def test_add_one_bigram_matches_hand_computation() -> None:
    lm = NgramLM.fit(TOY, order=2, k=1.0, min_count=1)
    assert len(lm.vocab) == 6  # the cat dog sat </s> <unk>
    assert lm.prob(("the", "cat")) == pytest.approx((1 + 1) / (2 + 6))
    assert lm.prob(("cat", "sat")) == pytest.approx((1 + 1) / (1 + 6))
    assert lm.prob(("dog", "the")) == pytest.approx(1 / 7)  # seen history, unseen word
    assert lm.prob(("<unk>", "the")) == pytest.approx(1 / 6)  # unseen history: uniform


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("history", [("<s>", "the"), ("the", "cat"), ("zebra", "moon")])
def test_probabilities_sum_to_one(spec: dict, history: tuple[str, ...]) -> None:
    lm = NgramLM.fit(TOY, min_count=1, **spec)
    context = history[len(history) - (lm.order - 1) :] if lm.order > 1 else ()
    total = sum(lm.prob((*context, word)) for word in lm.vocab)
    assert total == pytest.approx(1.0)


def test_token_nll_scores_every_token_and_eos() -> None:
    lm = NgramLM.fit(TOY, order=2, k=1.0, min_count=1)
    nll = lm.token_nll(["the", "cat", "sat"])
    assert nll.shape == (4,)
    assert perplexity(nll) == pytest.approx(math.exp(nll.mean()))
    assert np.concatenate([nll, nll]) == pytest.approx(lm.corpus_nll([TOY[0], TOY[0]]))
    assert lm.corpus_nll([]).size == 0


def test_huge_k_gives_perplexity_of_vocabulary_size() -> None:
    lm = NgramLM.fit(TOY, order=1, k=1e9, min_count=1)
    assert perplexity(lm.corpus_nll(TOY)) == pytest.approx(len(lm.vocab), rel=1e-6)


def test_bigram_fits_its_training_text_better_than_unigram() -> None:
    docs = [tokenize("new york is big . new york is old .")] * 3
    unigram = NgramLM.fit(docs, order=1, min_count=1)
    bigram = NgramLM.fit(docs, order=2, min_count=1)
    assert perplexity(bigram.corpus_nll(docs)) < perplexity(unigram.corpus_nll(docs))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": 0}, "order must be at least 1"),
        ({"k": 0.0}, "k must be positive"),
        ({"order": 2, "weights": (1.0,)}, "weights must be 2"),
        ({"order": 2, "weights": (0.5, 0.6)}, "summing to 1"),
        ({"order": 2, "weights": (-0.5, 1.5)}, "non-negative"),
    ],
)
def test_bad_settings_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NgramLM.fit(TOY, **kwargs)


def test_perplexity_curve_and_plot() -> None:
    train = [tokenize("the cat sat on the mat")] * 4 + [tokenize("a dog sat on a log")] * 4
    models = {"unigram": {"order": 1}, "bigram": {"order": 2, "weights": (0.5, 0.5)}}
    curve = perplexity_curve(train, [tokenize("the dog sat")], models, fractions=(0.5, 1.0))
    assert list(curve.columns) == ["model", "fraction", "train_tokens", "perplexity"]
    assert len(curve) == 4 and curve["train_tokens"].is_monotonic_increasing
    fig = plot_perplexity_curve(curve)
    assert tuple(fig.get_size_inches()) == SIZES["single"]


def test_curve_sentence_says_which_model_gains_what():
    curve = pd.DataFrame(
        {
            "model": ["unigram", "bigram"] * 2,
            "train_tokens": [100, 100, 1000, 1000],
            "perplexity": [1247.1, 649.1, 672.4, 348.4],
        }
    )
    gains = curve_gains(curve)
    assert gains.loc["unigram", "factor"] == pytest.approx(1247.1 / 672.4)
    text = curve_sentence(curve)
    assert "about the same factor" in text and "unigram's (575), which started highest" in text
    assert "does not favour the models with more context" in text
    steeper = curve.assign(perplexity=[1247.1, 900.0, 672.4, 300.0])
    assert "The bigram gains the most, relatively." in curve_sentence(steeper)


def test_known_tokens_align_with_corpus_nll() -> None:
    lm = NgramLM.fit(TOY, order=2, k=1.0, min_count=2)  # only "the", "sat" (and EOS) known
    docs = [tokenize("the cat sat"), tokenize("a dog")]
    known = known_tokens(docs, lm.vocab)
    assert known.tolist() == [True, False, True, True, False, False, True]
    assert known.shape == lm.corpus_nll(docs).shape


def test_perplexity_table_masks_unk_tokens() -> None:
    nll = {"dev": {"m": np.log([2.0, 8.0, 100.0])}, "train": {"m": np.log([4.0, 4.0])}}
    known = {"dev": np.array([True, True, False]), "train": np.array([True, True])}
    table = perplexity_table(nll, known)
    assert list(table.columns) == ["dev", "train", "dev, no <unk>", "train, no <unk>"]
    assert table.loc["m", "dev"] == pytest.approx(1600 ** (1 / 3))
    assert table.loc["m", "dev, no <unk>"] == pytest.approx(4.0)
    assert table.loc["m", "train, no <unk>"] == pytest.approx(4.0)


def test_curve_table_keeps_model_order_and_formats_tokens() -> None:
    curve = pd.DataFrame(
        {
            "model": ["unigram", "bigram"] * 2,
            "train_tokens": [67332, 67332, 507964, 507964],
            "perplexity": [1247.1, 649.1, 672.4, 348.4],
        }
    )
    table = curve_table(curve)
    assert list(table.columns) == ["unigram", "bigram"]
    assert table.index.tolist() == ["67,332", "507,964"]
    assert table.loc["507,964", "bigram"] == 348.4


MODELS = ["unigram", "bigram, add-k", "trigram, add-k", "bigram, interpolated"]


def ppl_table(dev_known: float, train_known: float) -> pd.DataFrame:
    """The five models' perplexities with given unigram perplexities without UNK."""
    return pd.DataFrame(
        {
            "dev": [672.4, 732.5, 3535.3, 348.4, 347.2],
            "train": [867.9, 81.4, 23.9, 126.8, 40.5],
            "dev, no <unk>": [dev_known, 900.0, 4000.0, 400.0, 400.0],
            "train, no <unk>": [train_known, 90.0, 25.0, 130.0, 42.0],
        },
        index=[*MODELS, "trigram, interpolated"],
    )


def test_unk_share_of_gap() -> None:
    assert unk_share_of_gap(ppl_table(858.0, 948.0).loc["unigram"]) == pytest.approx(
        1 - math.log(948 / 858) / math.log(867.9 / 672.4)
    )


@pytest.mark.parametrize(
    ("dev_known", "train_known", "amount", "rest"),
    [
        (858.0, 948.0, "mostly", "the rest of the gap is in the texts themselves"),
        (700.0, 900.0, "partly", "the rest of the gap is in the texts themselves"),
        (950.0, 940.0, "entirely", "so the gap is all `<unk>`"),
    ],
)
def test_perplexity_sentence_reads_the_table(
    dev_known: float, train_known: float, amount: str, rest: str
) -> None:
    text = perplexity_sentence(ppl_table(dev_known, train_known), 0.027, 0.078)
    assert "bigram (732) does not even beat the unigram (672)" in text
    assert f"*better* on dev (672) than on training text (868) {amount} because" in text
    assert "(7.8% against 2.7% of the scored training paragraphs)" in text
    assert f"it scores {dev_known:.0f} on dev and {train_known:.0f} on training text" in text
    assert rest in text


def test_perplexity_sentence_when_dev_is_worse() -> None:
    table = ppl_table(858.0, 948.0).assign(train=lambda t: t["dev"] / 2)
    text = perplexity_sentence(table, 0.027, 0.078)
    assert "*better*" not in text and "7.8% of dev, 2.7% of the scored training" in text
