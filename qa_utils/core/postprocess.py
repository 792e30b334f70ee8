"""Turn start/end logits into answers: the best span per example over all of its windows.

The algorithm is the usual one (HF ``run_qa``): in every window take the ``n_best_size`` best
start tokens and the ``n_best_size`` best end tokens, keep the pairs that form a valid span
inside the context, score them by ``start_logit + end_logit``, and rank the candidates of all
windows of an example together. Here every step runs on whole arrays at once; only building
the result objects is a Python loop (one pass over examples).

SQuAD 2.0 mode (a `null_threshold`): an example's null score is the smallest CLS start + end
logit over its windows; it predicts "" when the null score minus the best span's score
exceeds the threshold, and its n-best list includes the null candidate.
"""

from __future__ import annotations

import dataclasses
import gc
import itertools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

PAD_LOGIT = -1e4
"""Logit given to positions past the end of a window; never chosen over a real token."""

OffsetPair = Sequence[int] | None

OFFSETS_TYPE = pa.list_(pa.list_(pa.int64()))

NO_ANSWER = {"text": "", "start": 0, "end": 0, "probability": 0.0}
"""What an example gets when none of its windows holds a valid span."""

CLS_INDEX = 0
"""Position of the [CLS] token, the no-answer label of training (`qa_utils.core.features`)."""


def sigmoid(x: float) -> float:
    """The logistic function, without overflow for large |x| (and 0 or 1 at -inf or +inf).

    >>> sigmoid(0.0), sigmoid(math.inf), sigmoid(-1000.0)
    (0.5, 1.0, 0.0)
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@dataclass(frozen=True)
class Prediction:
    """The chosen answer of one example, with its n-best list.

    Attributes:
        text: ``context[start:end]``; ``""`` when no window holds a valid span.
        start: Character offset of the answer in the context.
        end: Character offset just past the answer (exclusive).
        confidence: Probability of the chosen answer among the n-best (0 when there is none).
        nbest: Candidates, best first: dicts with text, start, end, score, probability
            (SQuAD 2.0 mode: the null candidate has text "" and start = end = -1).
        null_diff: SQuAD 2.0 mode only: the null score minus the best span's score
            (+inf without a span); None otherwise.
    """

    text: str
    start: int
    end: int
    confidence: float
    nbest: list[dict[str, Any]]
    null_diff: float | None = None

    @property
    def na_prob(self) -> float | None:
        """Probability of no answer against the best span: sigmoid(null_diff); None in v1.1."""
        return None if self.null_diff is None else sigmoid(self.null_diff)

    def best_span(self) -> dict[str, Any] | None:
        """The best non-null candidate (what it answers when it does not abstain), or None."""
        return next((c for c in self.nbest if c["start"] >= 0 and c["text"]), None)


def pad_logits(logits: Sequence[np.ndarray], pad_value: float = PAD_LOGIT) -> np.ndarray:
    """Stack variable-length logit vectors into one float32 matrix padded on the right.

    >>> pad_logits([np.array([1.0, 2.0]), np.array([3.0])]).tolist()
    [[1.0, 2.0], [3.0, -10000.0]]
    """
    rows = [np.asarray(row, dtype=np.float32).reshape(-1) for row in logits]
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    out = np.full((len(rows), int(lengths.max(initial=0))), pad_value, dtype=np.float32)
    if rows:
        out[np.arange(out.shape[1]) < lengths[:, None]] = np.concatenate(rows)
    return out


class ContextOffsets(NamedTuple):
    """Offset mappings in array form: which tokens are context, and their character spans.

    Attributes:
        is_context: bool (n_windows, seq_len); False for ``None`` offsets and for padding.
        spans: int (n_context_tokens, 2), the ``[start, end)`` character span of every
            context token, window after window (the True entries of ``is_context``, in order).
    """

    is_context: np.ndarray
    spans: np.ndarray


def context_offsets(
    offset_mapping: Sequence[Sequence[OffsetPair]] | pa.Array | pa.ChunkedArray,
    seq_len: int | None = None,
) -> ContextOffsets:
    """Convert offset mappings (``None`` for non-context tokens) into `ContextOffsets`.

    Args:
        offset_mapping: Per window, one ``[start, end]`` pair or ``None`` per token. Either
            Python lists, or (much faster, no Python objects) the pyarrow column of a
            features dataset: ``features.with_format("arrow")["offset_mapping"]``.
        seq_len: Width of ``is_context``; defaults to the longest window.
    """
    if isinstance(offset_mapping, pa.Array | pa.ChunkedArray):
        flags, spans, lengths = _arrow_offsets(offset_mapping)
    else:
        flags, spans, lengths = _python_offsets(offset_mapping)
    longest = int(lengths.max(initial=0))
    width = longest if seq_len is None else seq_len
    if width < longest:
        raise ValueError(f"logits have {width} positions but a window has {longest} tokens")
    is_context = np.zeros((len(lengths), width), dtype=bool)
    is_context[np.arange(width) < lengths[:, None]] = flags
    return ContextOffsets(is_context, spans)


def offsets_to_array(
    offset_mapping: Sequence[Sequence[OffsetPair]] | pa.Array | pa.ChunkedArray,
    seq_len: int | None = None,
) -> np.ndarray:
    """Convert offset mappings into one padded int array: -1 for ``None`` and padding.

    Args:
        offset_mapping: As for `context_offsets` (Python lists or a pyarrow column).
        seq_len: Width of the result; defaults to the longest window.

    Returns:
        int32 array (n_windows, seq_len, 2) of ``[start, end)`` character offsets.

    >>> offsets_to_array([[None, [0, 5]], [[6, 9]]]).tolist()
    [[[-1, -1], [0, 5]], [[6, 9], [-1, -1]]]
    """
    offsets = context_offsets(offset_mapping, seq_len)
    out = np.full((*offsets.is_context.shape, 2), -1, dtype=np.int32)
    out[offsets.is_context] = offsets.spans
    return out


def _python_offsets(
    rows: Sequence[Sequence[OffsetPair]],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat context flags per token, spans of the context tokens, and tokens per window."""
    lengths = np.array([len(row) for row in rows], dtype=np.int64)
    flags = np.array([pair is not None for row in rows for pair in row], dtype=bool)
    spans = [pair for row in rows for pair in row if pair is not None]
    return flags, np.array(spans, dtype=np.int64).reshape(-1, 2), lengths


def _arrow_offsets(
    column: pa.Array | pa.ChunkedArray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Like `_python_offsets`, for a pyarrow list<list<int>> column, without Python objects."""
    # Normalize the type: a column whose offsets are all None is inferred as null or list<null>.
    column = column.cast(OFFSETS_TYPE)
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    flags, spans, lengths = [np.zeros(0, bool)], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for chunk in chunks:
        pairs = chunk.flatten()  # one entry per token, null where the offset is None
        flags.append(pairs.is_valid().to_numpy(zero_copy_only=False))
        # flatten() skips null entries: the values are exactly the context tokens' spans.
        spans.append(pairs.flatten().to_numpy(zero_copy_only=False))
        lengths.append(chunk.value_lengths().fill_null(0).to_numpy(zero_copy_only=False))
    return (
        np.concatenate(flags),
        np.concatenate(spans).astype(np.int64, copy=False).reshape(-1, 2),
        np.concatenate(lengths).astype(np.int64, copy=False),
    )


def _top_k_unsorted(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest values of each row, in column order."""
    # A threshold at the k-th largest value is cheaper than argpartition; rows where that
    # value is tied (more than k entries reach it) fall back to argpartition.
    above = values >= np.partition(values, -k, axis=1)[:, -k, None]
    tied = np.flatnonzero(np.count_nonzero(above, axis=1) != k)
    if len(tied):
        above[tied] = False
        above[tied[:, None], np.argpartition(values[tied], -k, axis=1)[:, -k:]] = True
    return np.flatnonzero(above).reshape(len(values), k) % values.shape[1]


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the k largest values of each row, largest first."""
    top = _top_k_unsorted(values, k)
    order = np.argsort(-np.take_along_axis(values, top, axis=1), axis=1, kind="stable")
    return np.take_along_axis(top, order, axis=1)


def _check_no_nan(start_top: np.ndarray, end_top: np.ndarray) -> None:
    """Raise ValueError if the windows' top start or end logits include NaN.

    np.partition orders NaN after every number, so a NaN anywhere in a row of logits is
    among that row's top k: checking the (n_windows, k) top values checks all of them.
    """
    for name, top in (("start_logits", start_top), ("end_logits", end_top)):
        bad_rows = np.flatnonzero(np.isnan(top).any(axis=1))
        if len(bad_rows):
            raise ValueError(f"{name} has NaN in {len(bad_rows)} rows (first: row {bad_rows[0]})")


def window_candidates(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    is_context: np.ndarray,
    n_best_size: int = 20,
    max_answer_length: int = 30,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best valid (start, end) token pairs of every window (in no particular order).

    Args:
        start_logits: float32 (n_windows, seq_len).
        end_logits: float32 (n_windows, seq_len).
        is_context: bool (n_windows, seq_len), True for tokens of the context.
        n_best_size: Start and end tokens tried per window, and pairs kept per window.
        max_answer_length: Longest answer, in tokens.

    Returns:
        scores (n_windows, m) float32, -inf where a window has fewer than m valid pairs;
        start tokens and end tokens (n_windows, m). With k = min(n_best_size, seq_len)
        tokens tried per side, m = min(n_best_size, k * k).
    """
    n, k = len(start_logits), min(n_best_size, start_logits.shape[1])
    starts, ends = _top_k_unsorted(start_logits, k), _top_k_unsorted(end_logits, k)
    length = ends.astype(np.int32)[:, None, :] - starts.astype(np.int32)[:, :, None]
    # Gather per token first and broadcast afterwards: k + k lookups per window, not k * k.
    s_ok = np.take_along_axis(is_context, starts, axis=1)[:, :, None]
    e_ok = np.take_along_axis(is_context, ends, axis=1)[:, None, :]
    valid = s_ok & e_ok & (length >= 0) & (length < max_answer_length)
    start_top = np.take_along_axis(start_logits, starts, axis=1)
    end_top = np.take_along_axis(end_logits, ends, axis=1)
    _check_no_nan(start_top, end_top)
    pair_scores = np.where(valid, start_top[:, :, None] + end_top[:, None, :], -np.inf)
    pair_scores = pair_scores.reshape(n, k * k)
    best = _top_k_unsorted(pair_scores, min(n_best_size, k * k))
    return (
        np.take_along_axis(pair_scores, best, axis=1),
        np.take_along_axis(starts, best // k, axis=1),
        np.take_along_axis(ends, best % k, axis=1),
    )


def merge_windows(
    scores: np.ndarray, window_example: np.ndarray, n_examples: int, n_best_size: int = 20
) -> np.ndarray:
    """Rank the candidates of all windows of each example together and keep the best.

    Args:
        scores: (n_windows, m) candidate scores from `window_candidates`.
        window_example: (n_windows,) index of each window's example.
        n_examples: Number of examples (an example without windows gets no candidates).
        n_best_size: Candidates kept per example.

    Returns:
        int64 (n_examples, n_best_size): flat indices into ``scores``, best first, -1 for none.
    """
    n_windows, m = scores.shape
    order = np.argsort(window_example, kind="stable")
    counts = np.bincount(window_example, minlength=n_examples)
    slot = np.arange(n_windows) - (np.cumsum(counts) - counts)[window_example[order]]
    grid = np.full((n_examples, max(int(counts.max(initial=0)), 1), m), -1, dtype=np.int64)
    grid[window_example[order], slot] = order[:, None] * m + np.arange(m)
    grid = grid.reshape(n_examples, -1)
    # The appended -inf is what the -1 (no candidate) entries of the grid pick up.
    grid_scores = np.append(scores.reshape(-1), -np.inf)[grid]
    best = _top_k(grid_scores, min(n_best_size, grid.shape[1]))
    chosen = np.take_along_axis(grid, best, axis=1)
    return np.where(np.isfinite(np.take_along_axis(grid_scores, best, axis=1)), chosen, -1)


def _softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Softmax of each row over its finite entries (-inf entries get probability 0)."""
    top = np.max(scores, axis=1, keepdims=True, initial=-np.inf)
    exp = np.exp(scores - np.where(np.isfinite(top), top, 0.0))
    total = exp.sum(axis=1, keepdims=True)
    return np.divide(exp, total, out=np.zeros_like(exp), where=total > 0)


def _column(table: Any, name: str) -> list[Any]:
    """One column as a list, from a datasets.Dataset (read once via Arrow) or a list of dicts."""
    if hasattr(table, "with_format"):
        return table.with_format("arrow")[name].to_pylist()
    return [row[name] for row in table]


def _offset_column(features: Any) -> Any:
    """The offset_mapping column: Arrow for a datasets.Dataset (fast), else Python lists."""
    if hasattr(features, "with_format"):
        return features.with_format("arrow")["offset_mapping"]
    return [row["offset_mapping"] for row in features]


def _window_examples(window_ids: list[str], example_ids: list[str]) -> np.ndarray:
    """Index into ``example_ids`` of each window's example; error on an unknown id."""
    position = {example_id: i for i, example_id in enumerate(example_ids)}
    try:
        return np.array([position[i] for i in window_ids], dtype=np.int64)
    except KeyError as error:
        raise ValueError(f"features has example_id {error.args[0]!r}, not in examples") from None


def _check_inputs(start_logits: np.ndarray, end_logits: np.ndarray, n_windows: int) -> None:
    """Raise ValueError when the logit matrices do not match each other or the features."""
    if start_logits.ndim != 2 or start_logits.shape != end_logits.shape:
        raise ValueError(
            "start_logits and end_logits must be 2-D with the same shape, got "
            f"{start_logits.shape} and {end_logits.shape}"
        )
    if len(start_logits) != n_windows:
        raise ValueError(f"logits have {len(start_logits)} rows but features has {n_windows}")


def _chosen_spans(
    offsets: ContextOffsets, candidates: tuple[np.ndarray, ...], chosen: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Character spans (n_examples, n_best, 2) and scores of the candidates `merge_windows` chose.

    Args:
        offsets: The windows' `ContextOffsets` (with at least one context token).
        candidates: scores, start tokens and end tokens from `window_candidates`.
        chosen: (n_examples, n_best) flat candidate indices, -1 for none.
    """
    scores, start_tokens, end_tokens = candidates
    window, rank = np.divmod(np.maximum(chosen, 0), scores.shape[1])
    # The row-major running count of context tokens, minus one, is each context token's row
    # in offsets.spans.
    count = np.cumsum(offsets.is_context, dtype=np.int32).reshape(offsets.is_context.shape)
    starts = offsets.spans[count[window, start_tokens[window, rank]] - 1, 0]
    ends = offsets.spans[count[window, end_tokens[window, rank]] - 1, 1]
    return np.stack([starts, ends], axis=-1), np.where(chosen >= 0, scores[window, rank], -np.inf)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector inside the block (if it was running)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _build_predictions(
    example_ids: list[str],
    contexts: list[str],
    char_spans: np.ndarray,
    scores: np.ndarray,
) -> dict[str, Prediction]:
    """Assemble `Prediction` objects from each example's ranked candidates.

    The n-best dicts are hundreds of thousands of small objects without reference cycles;
    in a large heap (a notebook holding datasets) the collections their allocation triggers
    cost several times more than building them, so the collector is paused meanwhile.

    Args:
        example_ids: One id per example.
        contexts: One context per example.
        char_spans: int (n_examples, n_best, 2) character spans, best first.
        scores: float (n_examples, n_best), -inf where there is no candidate.
    """
    found = np.isfinite(scores)
    counts = np.count_nonzero(found, axis=1)
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    columns = (
        np.repeat(np.array(contexts, dtype=object), counts).tolist(),
        char_spans[..., 0][found].tolist(),
        char_spans[..., 1][found].tolist(),
        scores[found].tolist(),
        _softmax_rows(scores.astype(np.float64))[found].tolist(),
    )
    with _gc_paused():
        candidates = [
            {"text": context[s:e], "start": s, "end": e, "score": score, "probability": p}
            for context, s, e, score, p in zip(*columns, strict=True)
        ]
        nbests = [candidates[a:b] for a, b in itertools.pairwise(bounds)]
        return {
            example_id: Prediction(
                best["text"], best["start"], best["end"], best["probability"], nbest
            )
            for example_id, nbest in zip(example_ids, nbests, strict=True)
            for best in [nbest[0] if nbest else NO_ANSWER]
        }


def postprocess_predictions(
    examples: Any,
    features: Any,
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    n_best_size: int = 20,
    max_answer_length: int = 30,
    null_threshold: float | None = None,
) -> dict[str, Prediction]:
    """Pick each example's best answer span over all of its windows (or "", in SQuAD 2.0 mode).

    Args:
        examples: datasets.Dataset or list of dicts with ``id`` and ``context``.
        features: datasets.Dataset (or list of dicts) with ``offset_mapping`` and
            ``example_id``, as built by ``qa_utils.core.features.build_eval_features``.
        start_logits: float32 (n_features, seq_len); row i belongs to ``features[i]``,
            padded on the right (see `pad_logits`).
        end_logits: Same shape as ``start_logits``.
        n_best_size: Start/end tokens tried per window and candidates kept per example.
        max_answer_length: Longest answer, in tokens.
        null_threshold: None: always answer with the best span (SQuAD v1.1). A number turns
            on SQuAD 2.0 mode: predict "" when the null score minus the best span's score
            exceeds it (math.inf: never, but still score the null candidate).

    Returns:
        One `Prediction` per example id, in the order of ``examples``.
    """
    if n_best_size < 1 or max_answer_length < 1:
        raise ValueError("n_best_size and max_answer_length must be at least 1")
    start_logits = np.asarray(start_logits, dtype=np.float32)
    end_logits = np.asarray(end_logits, dtype=np.float32)
    example_ids, contexts = _column(examples, "id"), _column(examples, "context")
    window_example = _window_examples(_column(features, "example_id"), example_ids)
    _check_inputs(start_logits, end_logits, len(window_example))
    offsets = context_offsets(_offset_column(features), start_logits.shape[1])
    if not len(offsets.spans):  # no window has a context token: nothing to rank
        no_spans = np.zeros((len(example_ids), 0, 2), dtype=np.int64)
        return _build_predictions(example_ids, contexts, no_spans, no_spans[..., 0])
    candidates = window_candidates(
        start_logits, end_logits, offsets.is_context, n_best_size, max_answer_length
    )
    chosen = merge_windows(candidates[0], window_example, len(example_ids), n_best_size)
    spans = _build_predictions(example_ids, contexts, *_chosen_spans(offsets, candidates, chosen))
    if null_threshold is None:
        return spans
    nulls = null_scores(start_logits, end_logits, window_example, len(example_ids))
    return {
        example_id: with_null(spans[example_id], null, null_threshold)
        for example_id, null in zip(example_ids, nulls.tolist(), strict=True)
    }


def null_scores(
    start_logits: np.ndarray, end_logits: np.ndarray, window_example: np.ndarray, n_examples: int
) -> np.ndarray:
    """Each example's null score: the smallest [CLS] start + end logit over its windows.

    >>> logits = np.array([[1.0, 0.0], [-2.0, 0.0], [5.0, 0.0]], dtype=np.float32)
    >>> null_scores(logits, logits, np.array([0, 0, 1]), 3).tolist()
    [-4.0, 10.0, inf]
    """
    cls = start_logits[:, CLS_INDEX] + end_logits[:, CLS_INDEX]  # float32, like span scores
    out = np.full(n_examples, np.inf, dtype=np.float32)
    np.minimum.at(out, window_example, cls)
    return out


def with_null(prediction: Prediction, null: float, threshold: float) -> Prediction:
    """A span prediction in SQuAD 2.0 mode: the null candidate ranked in, "" past the threshold.

    Probabilities are a softmax over the spans and the null candidate together; null_diff is
    the null score minus the best span's score (+inf without a span: then it abstains).
    """
    if not math.isfinite(null):  # the example has no window at all
        return dataclasses.replace(prediction, start=-1, end=-1, null_diff=math.inf)
    empty = {"text": "", "start": -1, "end": -1, "score": null}
    # Stable sort: spans stay best first, and a span tied with the null candidate stays ahead.
    ranked = sorted([*prediction.nbest, empty], key=lambda c: -c["score"])
    probabilities = _softmax_rows(np.array([[c["score"] for c in ranked]]))[0].tolist()
    nbest = [{**c, "probability": p} for c, p in zip(ranked, probabilities, strict=True)]
    diff = null - prediction.nbest[0]["score"] if prediction.nbest else math.inf
    return at_threshold(Prediction("", -1, -1, 0.0, nbest, diff), threshold)


def at_threshold(prediction: Prediction, threshold: float) -> Prediction:
    """A SQuAD 2.0 prediction decided at `threshold`: "" when its null_diff exceeds it.

    Re-deciding needs no model run: the n-best list holds the best span and the null candidate.
    """
    if prediction.null_diff is None:
        raise ValueError("only SQuAD 2.0 predictions (with a null_diff) have a threshold")
    abstain = prediction.null_diff > threshold
    chosen = next((c for c in prediction.nbest if (c["start"] < 0) == abstain), None)
    if chosen is None:  # no window at all: nothing but ""
        return dataclasses.replace(prediction, text="", start=-1, end=-1)
    return Prediction(
        chosen["text"],
        chosen["start"],
        chosen["end"],
        chosen["probability"],
        prediction.nbest,
        prediction.null_diff,
    )
