"""Word n-gram language models with add-k smoothing, and perplexity from per-token NLL.

A model small enough to train in seconds on SQuAD paragraphs, so that perplexity can be
computed from first principles: every token gets a negative log-likelihood (NLL, in nats)
and perplexity is exp(mean NLL) over the held-out tokens.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

BOS, EOS, UNK = "<s>", "</s>", "<unk>"

TOKEN_RE = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Split text into lower-cased words and punctuation marks.

    >>> tokenize("Super Bowl 50 was an American football game.")
    ['super', 'bowl', '50', 'was', 'an', 'american', 'football', 'game', '.']
    """
    return TOKEN_RE.findall(text.lower())


def perplexity(nll: ArrayLike) -> float:
    """Perplexity: exp of the mean negative log-likelihood (nats) per token.

    >>> round(perplexity([math.log(4)] * 3), 6)  # uniform over 4 words: as unsure as a 4-way choice
    4.0
    >>> round(perplexity([math.log(2), math.log(8)]), 6)  # the geometric mean of 1/p
    4.0
    """
    values = np.asarray(nll, dtype=float)
    if values.size == 0:
        raise ValueError("perplexity needs the NLL of at least one token")
    return float(np.exp(values.mean()))


def paragraph_docs(contexts: Iterable[str], limit: int | None = None) -> list[list[str]]:
    """Tokenize each distinct paragraph once (SQuAD repeats a context for each of its questions)."""
    unique = list(dict.fromkeys(contexts))
    return [tokenize(text) for text in unique[:limit]]


def build_vocab(docs: Iterable[Sequence[str]], min_count: int = 2) -> frozenset[str]:
    """Words seen at least `min_count` times, plus UNK and EOS: every outcome a model predicts."""
    counts = Counter(word for doc in docs for word in doc)
    return frozenset(w for w, c in counts.items() if c >= min_count) | {UNK, EOS}


def oov_rate(docs: Iterable[Sequence[str]], vocab: frozenset[str]) -> float:
    """Share of tokens outside `vocab` (they are scored as UNK)."""
    flags = [word not in vocab for doc in docs for word in doc]
    return float(np.mean(flags)) if flags else 0.0


def known_tokens(docs: Iterable[Sequence[str]], vocab: frozenset[str]) -> np.ndarray:
    """True for each token `NgramLM.corpus_nll` scores that is not UNK (every EOS is known).

    >>> known_tokens([["the", "cat"], ["dog"]], frozenset({"the", "dog"})).tolist()
    [True, False, True, True, True]
    """
    flags = [flag for doc in docs for flag in [word in vocab for word in doc] + [True]]
    return np.array(flags, dtype=bool)


def padded_ngrams(doc: Sequence[str], order: int, vocab: frozenset[str]) -> list[tuple[str, ...]]:
    """The n-grams whose last word is predicted: each token of `doc` (UNK if unknown), then EOS.

    >>> padded_ngrams(["the", "cat"], 2, frozenset({"the", UNK, EOS}))
    [('<s>', 'the'), ('the', '<unk>'), ('<unk>', '</s>')]
    """
    words = [w if w in vocab else UNK for w in doc]
    padded = [BOS] * (order - 1) + words + [EOS]
    return [tuple(padded[i : i + order]) for i in range(len(padded) - order + 1)]


@dataclass(frozen=True)
class NgramLM:
    """A word n-gram model; each order is add-k smoothed, the orders linearly interpolated.

    P_j(w | h) = (c(h, w) + k) / (c(h) + k |V|) uses the last j - 1 words of h, and
    P(w | h) = sum_j weights[j - 1] * P_j(w | h). Each P_j sums to 1 over `vocab` (words, UNK,
    EOS), so any convex mixture does too. Weights (0, ..., 0, 1) give plain add-k smoothing.
    """

    order: int
    k: float
    weights: tuple[float, ...]
    vocab: frozenset[str]
    ngrams: Counter  # n-grams of every order 1..order
    histories: Counter  # their histories (orders 0..order-1)

    @classmethod
    def fit(
        cls,
        docs: Sequence[Sequence[str]],
        order: int = 2,
        k: float = 0.01,
        weights: Sequence[float] | None = None,
        vocab: frozenset[str] | None = None,
        min_count: int = 2,
    ) -> NgramLM:
        """Count n-grams of tokenized documents; weights go lowest order first (default: add-k)."""
        weights = tuple(weights) if weights is not None else (0.0,) * (order - 1) + (1.0,)
        check_config(order, k, weights)
        vocab = vocab if vocab is not None else build_vocab(docs, min_count)
        lowest = next(j for j, w in enumerate(weights, start=1) if w > 0)
        ngrams: Counter = Counter()
        for doc in docs:
            grams = padded_ngrams(doc, order, vocab)
            ngrams.update(gram[-j:] for j in range(lowest, order + 1) for gram in grams)
        histories: Counter = Counter()
        for gram, count in ngrams.items():
            histories[gram[:-1]] += count
        return cls(order, k, weights, vocab, ngrams, histories)

    def ngrams_of(self, doc: Sequence[str]) -> list[tuple[str, ...]]:
        """The n-grams this model scores for `doc` (see `padded_ngrams`)."""
        return padded_ngrams(doc, self.order, self.vocab)

    def prob(self, gram: tuple[str, ...]) -> float:
        """P(last word of `gram` | the words before it)."""
        total = 0.0
        for j, weight in enumerate(self.weights, start=1):
            if weight > 0:
                part = gram[-j:]
                denominator = self.histories[part[:-1]] + self.k * len(self.vocab)
                total += weight * (self.ngrams[part] + self.k) / denominator
        return total

    def token_nll(self, doc: Sequence[str]) -> np.ndarray:
        """Negative log-likelihood (nats) of each token of `doc` and of its EOS."""
        return np.array([-math.log(self.prob(gram)) for gram in self.ngrams_of(doc)])

    def corpus_nll(self, docs: Iterable[Sequence[str]]) -> np.ndarray:
        """Per-token NLL of all documents, concatenated."""
        parts = [self.token_nll(doc) for doc in docs]
        return np.concatenate(parts) if parts else np.array([])


def check_config(order: int, k: float, weights: tuple[float, ...]) -> None:
    """Reject settings that would give a model that is not a probability distribution."""
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    if k <= 0:
        raise ValueError(f"k must be positive (with k=0 unseen n-grams get probability 0): {k}")
    if len(weights) != order or min(weights) < 0 or not math.isclose(sum(weights), 1.0):
        raise ValueError(f"weights must be {order} non-negative numbers summing to 1: {weights}")


def perplexity_curve(
    train_docs: Sequence[Sequence[str]],
    eval_docs: Sequence[Sequence[str]],
    models: Mapping[str, Mapping[str, Any]],
    fractions: Sequence[float] = (0.1, 0.3, 1.0),
    vocab: frozenset[str] | None = None,
) -> pd.DataFrame:
    """Held-out perplexity of each model trained on growing prefixes of `train_docs`.

    The vocabulary is the same for every row (by default, that of all of `train_docs`), so the
    perplexities are comparable: only the counts change.

    Args:
        train_docs: Tokenized training documents.
        eval_docs: Tokenized held-out documents.
        models: Name -> keyword arguments of `NgramLM.fit` (order, k, weights).
        fractions: Shares of `train_docs` to train on.
        vocab: The shared vocabulary.

    Returns:
        One row per (model, fraction): model, fraction, train_tokens, perplexity.
    """
    vocab = vocab if vocab is not None else build_vocab(train_docs)
    rows = []
    for fraction in fractions:
        part = train_docs[: max(1, round(fraction * len(train_docs)))]
        tokens = sum(len(doc) for doc in part)
        for name, spec in models.items():
            nll = NgramLM.fit(part, vocab=vocab, **spec).corpus_nll(eval_docs)
            row = {"model": name, "fraction": fraction, "train_tokens": tokens}
            rows.append({**row, "perplexity": perplexity(nll)})
    return pd.DataFrame(rows)


def curve_table(curve: pd.DataFrame) -> pd.DataFrame:
    """`perplexity_curve` as a table: a row per training size, a column per model (in order)."""
    table = curve.pivot(index="train_tokens", columns="model", values="perplexity")
    table = table[list(dict.fromkeys(curve["model"]))]
    return table.rename(index="{:,}".format).rename_axis(index="training tokens", columns=None)


def perplexity_table(
    nll: Mapping[str, Mapping[str, np.ndarray]], known: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Perplexity of each model on each text, over all tokens and over the non-UNK ones.

    Args:
        nll: Text name -> model name -> per-token NLL (`NgramLM.corpus_nll`).
        known: Text name -> `known_tokens` of that text.

    Returns:
        A row per model; per text a column `text` and a column `text, no <unk>`.
    """
    columns = {}
    for text, by_model in nll.items():
        columns[text] = {name: perplexity(v) for name, v in by_model.items()}
    for text, by_model in nll.items():
        mask = known[text]
        columns[f"{text}, no {UNK}"] = {name: perplexity(v[mask]) for name, v in by_model.items()}
    return pd.DataFrame(columns)


def curve_gains(curve: pd.DataFrame) -> pd.DataFrame:
    """Per model of `perplexity_curve`: perplexity with the least and the most training text,
    the factor it fell by and the absolute fall."""
    ordered = curve.sort_values("train_tokens")
    ends = ordered.groupby("model")["perplexity"].agg(["first", "last"])
    return ends.assign(factor=ends["first"] / ends["last"], fall=ends["first"] - ends["last"])


def curve_sentence(curve: pd.DataFrame) -> str:
    """What the perplexity curve shows: the factor each model falls by, and the largest fall."""
    gains = curve_gains(curve)
    tokens = curve["train_tokens"]
    alike = gains["factor"].max() / gains["factor"].min() < 1.1
    factors = ", ".join(f"{m} {f:.2f}x" for m, f in gains["factor"].items())
    biggest = gains["fall"].idxmax()
    start = ", which started highest" if biggest == gains["first"].idxmax() else ""
    verdict = (
        "More data lowers every curve alike: on this much text it does not favour the models "
        "with more context."
        if alike
        else f"The {gains['factor'].idxmax()} gains the most, relatively."
    )
    return (
        f"From {tokens.min():,} to {tokens.max():,} training tokens every model's perplexity "
        f"falls, by {'about the same factor' if alike else 'different factors'} ({factors}); "
        f"the largest absolute fall is the {biggest}'s ({gains['fall'].max():.0f}){start}. "
        + verdict
    )


def unk_share_of_gap(row: pd.Series) -> float:
    """How much of a model's train-over-dev perplexity gap the UNK tokens account for.

    The gap is log(train / dev) perplexity; without UNK it is log(train, no <unk> / dev, no
    <unk>). The share is 1 minus their ratio: 1 or more when the gap vanishes without UNK.

    >>> round(unk_share_of_gap(pd.Series({"dev": 100.0, "train": 400.0,
    ...     "dev, no <unk>": 100.0, "train, no <unk>": 200.0})), 3)
    0.5
    """
    gap = math.log(row["train"] / row["dev"])
    return 1 - math.log(row[f"train, no {UNK}"] / row[f"dev, no {UNK}"]) / gap


def unk_sentence(row: pd.Series, unk_train: float, unk_dev: float) -> str:
    """Why a model scores better on dev than on training text: UNK, and how much of it."""
    share = unk_share_of_gap(row)
    amount = "entirely" if share >= 1 else "mostly" if share >= 0.5 else "partly"
    rest = (
        "; the rest of the gap is in the texts themselves"
        if share < 1
        else ", so the gap is all `<unk>`"
    )
    return (
        f"The unigram scores *better* on dev ({row['dev']:.0f}) than on training text "
        f"({row['train']:.0f}) {amount} because dev has more `<unk>` tokens ({unk_dev:.1%} against "
        f"{unk_train:.1%} of the scored training paragraphs), and `<unk>` is one frequent, cheap "
        "token that stands for many rare words: over the other tokens it scores "
        f"{row[f'dev, no {UNK}']:.0f} on dev and {row[f'train, no {UNK}']:.0f} on training "
        f"text{rest}. Compare perplexities of models on the same text, never of texts."
    )


def perplexity_sentence(table: pd.DataFrame, unk_train: float, unk_dev: float) -> str:
    """What the dev/train perplexity table says (`perplexity_table` of the five models).

    Args:
        table: Rows: the five models; columns dev, train and their "no <unk>" versions.
        unk_train: Share of UNK tokens in the scored training text.
        unk_dev: Share of UNK tokens in dev.
    """
    dev, train = table["dev"], table["train"]
    uni, bi, tri = dev["unigram"], dev["bigram, add-k"], dev["trigram, add-k"]
    add_k = (
        "Add-k alone gives unseen word pairs so much probability that the bigram "
        f"({bi:.0f}) does not even beat the unigram ({uni:.0f})"
        if bi >= uni
        else f"With add-k alone the bigram scores {bi:.0f} against the unigram's {uni:.0f}"
    )
    unigram = (
        unk_sentence(table.loc["unigram"], unk_train, unk_dev)
        if uni < train["unigram"]
        else "Compare perplexities of models on the same text, never of texts: the share of "
        f"`<unk>` tokens differs ({unk_dev:.1%} of dev, {unk_train:.1%} of the scored training "
        "text)."
    )
    return (
        f"{add_k}, and the add-k trigram scores {tri:.0f}: smoothing matters as much as "
        "context. Interpolation falls back on the lower orders: bigram "
        f"{dev['bigram, interpolated']:.0f}, trigram {dev['trigram, interpolated']:.0f}. On "
        f"training text the interpolated trigram scores {train['trigram, interpolated']:.0f}: "
        "that gap to dev is memorisation. " + unigram
    )
