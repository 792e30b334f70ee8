"""Fuzzing the SQuAD loader: any file gives sound questions or one `SquadFormatError`, never more.

Hypothesis writes hostile files (arbitrary JSON, near-valid SQuAD with broken fields, text that
is not Unicode, random bytes) and checks that `load_squad` either returns questions that keep
every promise of the schema or raises the one documented error, whose message names the file.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from qa_utils.core.data import SquadFormatError, load_squad, load_squad_with_problems

FUZZ = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text as files carry it: any code point, lone surrogates (JSON "\ud800" escapes) included.
texts = st.text(st.characters(codec=None), max_size=12)
words = st.sampled_from(["Velmora", "1902", "the sea", " ", "", "光の喫茶", "🌱", "\ud800", "\x00"])
short = st.one_of(words, texts)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 50), st.floats(), short)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(words, texts), inner, max_size=4)
    ),
    max_leaves=20,
)


def mostly(valid: st.SearchStrategy, broken: st.SearchStrategy) -> st.SearchStrategy:
    """`valid` seven times in eight, else `broken`: files that are nearly right load or fail
    on one field, which is where a loader's bugs hide."""
    return st.one_of(*[valid] * 7, broken)


def answer_for(context: str) -> st.SearchStrategy[dict]:
    """An answer that is usually a span of the context and sometimes broken."""
    span = st.integers(0, max(len(context) - 1, 0)).flatmap(
        lambda s: st.integers(s + 1, max(len(context), s + 1)).map(
            lambda e: {"text": context[s:e], "answer_start": s}
        )
    )
    broken = st.fixed_dictionaries(
        {}, optional={"text": scalars, "answer_start": st.one_of(st.integers(-3, 99), scalars)}
    )
    return mostly(span, broken)


@st.composite
def paragraphs(draw: st.DrawFn) -> dict:
    """A paragraph whose fields are usually well-formed and sometimes anything at all."""
    context = draw(mostly(st.text(min_size=1, max_size=40), short))
    question = st.fixed_dictionaries(
        {
            "id": mostly(st.text(min_size=1, max_size=6), scalars),
            "question": mostly(st.text(min_size=1, max_size=20), scalars),
            "answers": mostly(st.lists(answer_for(context), min_size=1, max_size=3), scalars),
        }
    )
    qas = draw(st.lists(question, max_size=3))
    return draw(mostly(st.just({"context": context, "qas": qas}), json_values))


articles = st.fixed_dictionaries(
    {"title": mostly(st.text(max_size=8), scalars), "paragraphs": st.lists(paragraphs())}
)
squad_files = mostly(st.fixed_dictionaries({"data": st.lists(articles, max_size=3)}), json_values)


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """One folder for the module's examples (hypothesis reruns a test many times)."""
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def check_sound(dataset) -> None:
    """The promises of every loaded split: real questions whose answers point at their text."""
    assert len(dataset) > 0
    assert len(set(dataset["id"])) == len(dataset)
    for row in dataset:
        for name in ("id", "context", "question"):
            assert row[name].strip() and row[name].encode("utf-8")
        answers = row["answers"]
        assert answers["text"] and len(answers["text"]) == len(answers["answer_start"])
        for text, start in zip(answers["text"], answers["answer_start"], strict=True):
            assert text and row["context"][start : start + len(text)] == text


def load_or_refuse(path: Path, strict: bool = True) -> None:
    """Load `path`: sound questions, or a `SquadFormatError` naming the file. Nothing else."""
    try:
        dataset = load_squad_with_problems(path, strict=strict).dataset
    except SquadFormatError as err:
        assert str(err).startswith(f"{path}: ") and "\n" not in str(err)
        event("refused")
        return
    check_sound(dataset)
    event("loaded")


@FUZZ
@given(squad_files, st.booleans())
def test_any_nested_file_loads_sound_questions_or_one_clear_error(folder, document, strict):
    path = folder / "fuzz.json"
    path.write_text(json.dumps(document), encoding="utf-8")  # ASCII escapes, as JSON allows
    load_or_refuse(path, strict)


flat_records = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(min_size=1, max_size=6), scalars),
        "title": st.one_of(short, scalars),
        "context": st.one_of(st.just("Velmora is on the Grell Sea."), short),
        "question": st.one_of(st.text(min_size=1, max_size=20), scalars),
        "answers": st.one_of(
            st.just({"text": ["Velmora"], "answer_start": [0]}),
            st.fixed_dictionaries({"text": st.lists(short), "answer_start": st.lists(scalars)}),
            json_values,
        ),
    }
)
garbage_lines = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20)


@FUZZ
@given(
    st.lists(st.one_of(flat_records.map(json.dumps), json_values.map(json.dumps), garbage_lines)),
    st.booleans(),
)
def test_any_json_lines_file_loads_sound_questions_or_one_clear_error(folder, lines, strict):
    path = folder / "fuzz.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    load_or_refuse(path, strict)


@FUZZ
@given(st.binary(max_size=200), st.sampled_from([".json", ".jsonl", ".parquet"]))
def test_any_bytes_load_or_give_one_clear_error(folder, raw, suffix):
    path = folder / f"fuzz{suffix}"
    path.write_bytes(raw)
    load_or_refuse(path)


@FUZZ
@given(st.lists(paragraphs(), min_size=1, max_size=4))
def test_strict_and_lenient_loading_agree_on_what_is_sound(folder, paras):
    path = folder / "agree.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": paras}]}), "utf-8")
    try:
        strict = load_squad(path)
    except SquadFormatError:
        strict = None
    try:
        lenient = load_squad_with_problems(path, strict=False)
    except SquadFormatError:
        assert strict is None  # nothing sound at all: both refuse
        return
    check_sound(lenient.dataset)
    if strict is not None:  # a file without problems loads the same either way
        assert not lenient.problems and strict["id"] == lenient.dataset["id"]
    else:
        assert lenient.problems
