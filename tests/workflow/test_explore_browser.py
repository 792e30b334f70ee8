"""The explorer in a real browser (headless Chromium): highlights, filters, sorting, comparison.

Each test opens the site from disk (file://, as a user would) and saves a screenshot beside
its files in the test's tmp folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selenium.webdriver.support.select import Select

from qa_utils.core.data import load_squad
from qa_utils.core.metrics import read_predictions
from qa_utils.core.records import build_records
from qa_utils.project.io import atomic_write_table
from qa_utils.workflow.explore import Site, explore, load_inputs

pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATASET = FIXTURES / "analysis_squad.json"
PREDICTIONS = FIXTURES / "analysis_predictions.json"
OTHER = {"v2": "Ilse Brandt", "v5": "at dusk", "r2": "slate", "m3": "Drainage for farming"}
CONFIDENCES = {"v1": 0.9, "v2": 0.6, "v3": 0.3, "v4": 0.45, "v5": 0.8}


def read_data(path: Path) -> dict:
    """The payload of a data script written by the explorer."""
    text = path.read_text(encoding="utf-8")
    return json.loads(text.removeprefix("window.EXPLORER_DATA = ").removesuffix(";\n"))


def questions(site: Site, stem: str) -> dict[str, dict]:
    """An article's questions by id, as its data script holds them."""
    article = read_data(site.out / "data" / f"{stem}.js")
    return {q["id"]: q for p in article["paragraphs"] for q in p["questions"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Site:
    """The fixture predictions with confidences from a records file."""
    folder = tmp_path_factory.mktemp("explorer")
    table = build_records(load_squad(DATASET), read_predictions(PREDICTIONS)).table
    table["confidence"] = table["id"].map(CONFIDENCES).fillna(0.1)
    records = atomic_write_table(folder / "records.parquet", table)
    return explore(load_inputs(DATASET, PREDICTIONS, records=records), folder / "site")


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Site:
    """The fixture predictions beside a second system that answers four questions otherwise."""
    folder = tmp_path_factory.mktemp("compared")
    other = folder / "other.json"
    other.write_text(json.dumps({**read_predictions(PREDICTIONS), **OTHER}), encoding="utf-8")
    return explore(load_inputs(DATASET, PREDICTIONS, compare=other), folder / "site")


def shown_ids(browser) -> list[str]:
    """Ids of the question cards on the page, top to bottom."""
    return [card.get_attribute("data-id") for card in browser.all("article.qa")]


def marks(card, kind: str) -> list[str]:
    """Texts of one kind of highlight (gold, pred, both) in a card's passages."""
    return [m.text for m in card.find_elements("css selector", f"mark.hl-{kind}")]


def test_index_lists_articles_with_counts_scores_and_sorts(browser, site, tmp_path):
    browser.open((site.out / "index.html").as_uri())
    rows = browser.all("#articles tbody tr")
    cells = [[c.text for c in row.find_elements("css selector", "td")] for row in rows]
    index = read_data(site.out / "data" / "index.js")
    assert [c[1] for c in cells] == ["Velmora Harbour", "Orrin Valley Railway", "Marsh Orchid"]
    assert [c[3] for c in cells] == ["5", "5", "4"]
    assert [c[4] for c in cells] == [f"{a['systems'][0]['em']:.1f}" for a in index["articles"]]
    browser.screenshot(tmp_path / "index.png")
    header = next(th for th in browser.all("#articles th") if th.text.startswith("F1"))
    header.click()  # ascending F1: the railway (37.1) first
    first = browser.all("#articles tbody tr")[0].find_elements("css selector", "td")
    assert [first[0].text, first[1].text] == ["2", "Orrin Valley Railway"]
    browser.one("#articles a[href='articles/002.html']").click()
    browser.wait_for(lambda d: d.execute_script("return document.body.dataset.ready"))
    assert browser.one("h1").text == "Marsh Orchid" and browser.errors() == []


def test_passages_highlight_gold_predicted_and_overlap_in_their_colours(browser, site, tmp_path):
    browser.open((site.out / "articles" / "000.html").as_uri())
    cards = {card.get_attribute("data-id"): card for card in browser.all("article.qa")}
    # v2: predicted "the harbour master" inside the gold "the harbour master, Ilse Brandt"
    assert marks(cards["v2"], "both") == ["the harbour master"]
    assert marks(cards["v2"], "gold") == [", Ilse Brandt"] and marks(cards["v2"], "pred") == []
    # v5: predicted "1874" in another sentence than the gold "at dusk"
    assert marks(cards["v5"], "pred") == ["1874"] and marks(cards["v5"], "gold") == ["at dusk"]
    assert marks(cards["v5"], "both") == []
    assert marks(cards["v1"], "gold") == ["in "] and marks(cards["v1"], "both") == ["1902"]
    # the marks split the passage without changing a character of it
    passage = cards["v2"].find_element("css selector", ".passage")
    text = browser.driver.execute_script("return arguments[0].textContent", passage)
    assert text == read_data(site.out / "data/000.js")["paragraphs"][0]["context"]
    colours = {
        kind: cards[card]
        .find_element("css selector", f"mark.hl-{kind}")
        .value_of_css_property("background-color")
        for kind, card in (("gold", "v2"), ("both", "v2"), ("pred", "v5"))
    }
    assert len(set(colours.values())) == 3, colours
    browser.screenshot(tmp_path / "highlights.png")
    assert browser.errors() == []


def test_empty_and_left_out_predictions_show_as_such_with_only_the_gold_span(
    browser, site, tmp_path
):
    browser.open((site.out / "articles" / "001.html").as_uri())
    card = browser.one("article.qa[data-id='r2']")
    assert card.find_element("css selector", ".pred-text").text == "no answer"
    assert marks(card, "gold") == ["slate"] and marks(card, "pred") == marks(card, "both") == []
    browser.open((site.out / "articles" / "002.html").as_uri())
    missing = browser.one("article.qa[data-id='m3'] .pred-text")  # not in the prediction file
    assert missing.text == "not in the prediction file"
    browser.screenshot(tmp_path / "no_answer.png")


def test_filters_narrow_the_questions_and_sorting_orders_them(browser, site, tmp_path):
    browser.open((site.out / "articles" / "000.html").as_uri())
    data = questions(site, "000")
    count = browser.one("#count")
    browser.one("#f-wrong").click()
    wrong = [k for k, q in data.items() if q["answers"][0]["em"] < 100]
    assert shown_ids(browser) == wrong and count.text == f"{len(wrong)} of 5 questions"
    browser.one("#f-wrong").click()
    Select(browser.one("#f-type")).select_by_value(data["v4"]["type"])
    assert shown_ids(browser) == [k for k, q in data.items() if q["type"] == data["v4"]["type"]]
    Select(browser.one("#f-type")).select_by_value("")
    Select(browser.one("#f-slice")).select_by_visible_text("who (1)")
    assert shown_ids(browser) == ["v2"]
    Select(browser.one("#f-slice")).select_by_value("")
    browser.one("#f-conf-min").send_keys("0.5")
    assert shown_ids(browser) == [k for k, c in CONFIDENCES.items() if c >= 0.5]
    browser.one("#f-conf-max").send_keys("0.85")
    assert shown_ids(browser) == ["v2", "v5"]
    browser.screenshot(tmp_path / "confidence_filter.png")
    browser.one("#f-conf-min").clear()
    browser.one("#f-conf-max").clear()
    browser.one("#f-search").send_keys("REGATTA")
    assert shown_ids(browser) == ["v2", "v4"] and count.text == "2 of 5 questions"
    browser.one("#f-search").clear()
    Select(browser.one("#f-sort")).select_by_value("f1-asc")
    f1 = [data[k]["answers"][0]["f1"] for k in shown_ids(browser)]
    assert len(f1) == 5 and f1 == sorted(f1)
    Select(browser.one("#f-sort")).select_by_value("conf-desc")
    assert shown_ids(browser) == sorted(CONFIDENCES, key=CONFIDENCES.get, reverse=True)
    assert browser.errors() == []


def test_comparison_shows_both_systems_with_differing_questions_first(browser, compared, tmp_path):
    browser.open((compared.out / "articles" / "000.html").as_uri())
    # v5 gains 100 F1 points in the second system, v2 33: the largest difference first
    assert shown_ids(browser) == ["v5", "v2", "v1", "v3", "v4"]
    first = browser.all("article.qa")[0]
    columns = first.find_elements("css selector", ".system")
    assert [c.find_element("css selector", ".pred-text").text for c in columns] == [
        "1874",
        "at dusk",
    ]
    assert marks(columns[0], "pred") == ["1874"] and marks(columns[1], "both") == ["at dusk"]
    assert "differs" in first.get_attribute("class")
    browser.screenshot(tmp_path / "compare.png")
    browser.one("#f-differ").click()
    assert shown_ids(browser) == ["v5", "v2"]
    browser.one("#f-differ").click()
    browser.one("#f-wrong").click()  # wrong in either system
    assert shown_ids(browser) == ["v5", "v2", "v4"]
    assert browser.errors() == []


def test_markup_in_the_data_is_shown_as_text(browser, tmp_path):
    context = 'Use <b>bold</b> & "quotes" in <script>x</script> tags.'
    paragraph = {
        "context": context,
        "qas": [
            {
                "id": "h1",
                "question": "What <i>tag</i> & what?",
                "answers": [{"text": "<b>bold</b>", "answer_start": 4}],
            }
        ],
    }
    dataset = {"version": "1.1", "data": [{"title": "<img src=x>&Co", "paragraphs": [paragraph]}]}
    (tmp_path / "markup.json").write_text(json.dumps(dataset), encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps({"h1": '& "quotes"'}), encoding="utf-8")
    site = explore(load_inputs(tmp_path / "markup.json", tmp_path / "p.json"), tmp_path / "site")
    browser.open((site.out / "articles" / "000.html").as_uri())
    assert browser.one("h1").text == "<img src=x>&Co" and not browser.all("img, b, i")
    assert browser.one(".qa-question").text == "What <i>tag</i> & what?"
    card = browser.one("article.qa")
    assert marks(card, "gold") == ["<b>bold</b>"] and marks(card, "pred") == ['& "quotes"']
    browser.screenshot(tmp_path / "markup.png")
    assert browser.errors() == []


def test_a_long_article_draws_its_cards_in_chunks_as_the_reader_scrolls(browser, tmp_path):
    context = "The ferry to Velmora leaves twice a day from the old harbour."
    qas = [
        {"id": f"q{i}", "question": f"Question {i} about the ferry?",
         "answers": [{"text": "twice a day", "answer_start": 28}]}
        for i in range(130)
    ]  # fmt: skip
    paragraph = {"context": context, "qas": qas}
    dataset = {"version": "1.1", "data": [{"title": "Long", "paragraphs": [paragraph]}]}
    (tmp_path / "long.json").write_text(json.dumps(dataset), encoding="utf-8")
    (tmp_path / "p.json").write_text(json.dumps({f"q{i}": "twice" for i in range(130)}))
    site = explore(load_inputs(tmp_path / "long.json", tmp_path / "p.json"), tmp_path / "site")
    browser.open((site.out / "articles" / "000.html").as_uri())
    assert len(shown_ids(browser)) == 50 and browser.one("#count").text == "130 of 130 questions"
    more = browser.one("#more")
    assert more.text == "show 50 more (80 not shown yet)"
    scroll_to = "arguments[0].scrollIntoView({block: 'center'})"  # below the sticky toolbar
    browser.driver.execute_script(scroll_to, more)  # in sight: the next 50 are drawn
    browser.wait_for(lambda d: len(shown_ids(browser)) == 100)
    browser.driver.execute_script(scroll_to, more)
    browser.wait_for(lambda d: len(shown_ids(browser)) == 130)
    assert shown_ids(browser)[-1] == "q129" and not more.is_displayed()
    browser.one("#f-search").send_keys("question 129 about")
    assert shown_ids(browser) == ["q129"]  # filters search every question, drawn or not
    assert browser.errors() == []
