"""Fuzzing the service's request model and the path it feeds: any body gets 200 or a 4xx with a
readable detail, never a 500; any text that passes the request model gets a sound answer."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from qa_utils.core.inference import Answer, QAModel
from qa_utils.core.model import load_tokenizer
from qa_utils.project.config import InferenceSettings
from qa_utils.serving.app import AnswerRequest, ServiceLimits, create_app

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LIMITS = ServiceLimits(max_question_chars=40, max_context_chars=200, max_context_tokens=60)

texts = st.text(st.characters(codec=None), max_size=30)  # lone surrogates included
# Characters tokenizers drop or split oddly (zero-width, NUL, BOM, a lone combining accent).
odd = ["", " ", "\u200b", "\x00", "\ufeff", "\u0301", "\U000e0001", "巴黎", "🌱", "\u3000"]
awkward = st.sampled_from([*odd, "\ud800"])
fields = st.one_of(texts, awkward, st.none(), st.integers(), st.floats(), st.lists(texts))
strings = st.one_of(texts, awkward, st.text(min_size=150, max_size=260))  # some over a bound
bodies = st.one_of(
    st.fixed_dictionaries({"question": strings, "context": strings}),
    st.fixed_dictionaries({}, optional={"question": fields, "context": fields, "extra": fields}),
    st.recursive(st.one_of(st.none(), texts, st.integers()), st.lists, max_leaves=5),
)


class Echo:
    """Answers with the context's first character; counts tokens as characters."""

    def answer(self, question: str, context: str) -> Answer:
        return Answer(context[:1], 0, 1, 0.5)

    def count_tokens(self, text: str) -> int:
        return len(text)


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Echo, LIMITS)) as test_client:
        yield test_client


@FUZZ
@given(bodies)
def test_the_request_model_accepts_answerable_text_or_raises_a_validation_error(body):
    try:
        request = AnswerRequest.model_validate(body)
    except ValidationError:
        return
    for text in (request.question, request.context):
        assert text.strip() and text.encode("utf-8")


@FUZZ
@given(st.one_of(bodies.map(json.dumps).map(str.encode), st.binary(max_size=300)))
def test_any_body_gets_200_or_a_4xx_with_a_readable_detail_never_500(client, content):
    response = client.post("/answer", content=content, headers={"content-type": "application/json"})
    # 400: not UTF-8 at all (FastAPI's answer); 413: over a bound; 422: not a valid request
    assert response.status_code in (200, 400, 413, 422), response.text
    event(str(response.status_code))
    if response.status_code != 200:
        detail = response.json()["detail"]
        assert isinstance(detail, str) and detail and "\n" not in detail
    else:
        assert response.json()["answer"] == json.loads(content)["context"][:1]


@pytest.fixture(scope="module")
def tiny_model(tiny_bert) -> QAModel:
    """A tiny BERT with the embedded tokenizer: the real inference path, milliseconds a call."""
    return QAModel(tiny_bert(), load_tokenizer("embedded"), InferenceSettings(48, 16, 5, 8, 4))


answerable = st.text(st.characters(codec="utf-8"), min_size=1, max_size=80).filter(str.strip)


@settings(FUZZ, max_examples=12)  # the real tokenizer and a model: tens of ms each
@given(
    answerable,
    st.one_of(answerable, st.lists(st.sampled_from(odd) | answerable, max_size=8).map("".join)),
)
def test_any_answerable_text_gets_a_span_of_its_context(tiny_model, question, context):
    if not context.strip():
        return
    answer = tiny_model.answer(question, context)
    assert 0 <= answer.start <= answer.end <= len(context)
    assert answer.text == context[answer.start : answer.end] and 0 <= answer.score <= 1
    assert tiny_model.count_tokens(context) >= 0
