"""The service's demo page in a real browser (headless Chromium) against the embedded model."""

from __future__ import annotations

import httpx
import pytest

from qa_utils.serving import harness

pytestmark = pytest.mark.slow

CONTEXT = (
    'The Velmora ferry was built in 1902 by the harbour master, Ilse Brandt, to carry salt <& "'
    'brine"> across the Grell Sea. It sails twice a day in summer and once a day in winter.'
)
QUESTION = "Who built the Velmora ferry?"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """`python -m qa_utils serve --model embedded` on a free port (stopped after the module)."""
    log = tmp_path_factory.mktemp("service") / "service.log"
    running = harness.start_service("embedded", log)
    try:
        yield running
    finally:
        running.stop()


def ask(browser, question: str, context: str) -> None:
    """Fill in the form and press the button (the values are set as a user would paste them)."""
    for field, value in (("#context", context), ("#question", question)):
        browser.driver.execute_script(
            "arguments[0].value = arguments[1]", browser.one(field), value
        )
    browser.one("#ask").click()


def test_demo_page_answers_with_the_span_highlighted_its_score_and_nbest(
    browser, service, tmp_path
):
    expected = httpx.post(
        f"{service.url}/answer", json={"question": QUESTION, "context": CONTEXT}, timeout=60
    ).json()
    browser.open(f"{service.url}/")
    assert browser.one("#model").text == "embedded"
    ask(browser, QUESTION, CONTEXT)
    browser.wait_for(lambda d: browser.one("#result").is_displayed())
    assert browser.one("#answer").text == expected["answer"].strip()
    assert browser.one("#score").text == f"{expected['score']:.3f}"
    assert "ms in the service" in browser.one("#latency").text
    mark = browser.one("#passage mark.answer-span")
    passage = browser.driver.execute_script(
        "return arguments[0].textContent", browser.one("#passage")
    )
    text = browser.driver.execute_script("return arguments[0].textContent", mark)
    assert (
        passage == CONTEXT
        and text == expected["answer"] == CONTEXT[expected["start"] : expected["end"]]
    )
    rows = browser.all("#nbest tbody tr")
    assert len(rows) == len(expected["nbest"]) >= 2
    cells = [row.find_elements("css selector", "td")[1].text for row in rows]
    assert cells == [c["text"].strip() for c in expected["nbest"]]
    browser.screenshot(tmp_path / "demo_answer.png")
    assert browser.errors() == []


def test_demo_page_shows_the_apis_422_message_for_an_empty_question(browser, service, tmp_path):
    browser.open(f"{service.url}/")
    ask(browser, "", CONTEXT)
    browser.wait_for(lambda d: browser.one("#error").is_displayed())
    message = browser.one("#error").text
    assert message.startswith("422") and message.endswith(
        "question: must not be empty or only whitespace"
    )
    assert not browser.one("#result").is_displayed()
    browser.screenshot(tmp_path / "demo_422.png")
