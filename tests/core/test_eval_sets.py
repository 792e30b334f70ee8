"""Named evaluation sets: names resolve under the shared folder, and the shifted sets load."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_utils import cli
from qa_utils.core.data import load_squad
from qa_utils.core.eval_sets import (
    EVAL_SETS,
    SHIFT_SETS,
    eval_set_path,
    published_results_path,
    resolve_eval_set,
)

SHARED = Path(__file__).parents[1] / "fixtures" / "shared"


@pytest.fixture
def shared(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The fixture stand-in for ../shared, as $QA_SHARED."""
    monkeypatch.setenv("QA_SHARED", str(SHARED))
    return SHARED


def test_every_shift_set_is_registered_under_squadshifts():
    assert set(SHIFT_SETS) <= set(EVAL_SETS)
    assert all(EVAL_SETS[name].startswith("squadshifts/") for name in SHIFT_SETS)


def test_a_name_resolves_under_the_shared_folder(shared):
    assert eval_set_path("squadshifts/reddit") == shared / "squadshifts" / "reddit_v1.0.json"
    assert published_results_path() == shared / "squadshifts" / "published_results.csv"


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="unknown evaluation set 'squadshifts/nyt'.*squad/dev"):
        resolve_eval_set("squadshifts/nyt")


def test_a_registered_set_missing_from_the_folder_says_where_it_looked(shared):
    with pytest.raises(FileNotFoundError, match="amazon_reviews_v1.0.json.*QA_SHARED"):
        eval_set_path("squadshifts/amazon")


def test_the_reddit_layout_loads_one_article_with_every_post(shared):
    data = load_squad(eval_set_path("squadshifts/reddit"))
    assert len(data) == 4
    assert set(data["title"]) == {"Filtered_Reddit_Comments"}
    assert len(set(data["context"])) == 3
    assert data[2]["id"] == "5d9b75b18ae5305bc982a003"
    assert data[2]["answers"]["text"] == ["March", "in March"]


def test_the_command_line_takes_a_set_name_or_a_path(shared, tmp_path):
    reddit = shared / "squadshifts" / "reddit_v1.0.json"
    assert cli.squad_source("squadshifts/reddit", "validation") == reddit
    assert cli.squad_source(str(reddit), "validation") == reddit
    with pytest.raises(cli.UserError, match="nor a known evaluation set"):
        cli.squad_source(str(tmp_path / "none.json"), "validation")
    with pytest.raises(cli.UserError, match="squadshifts/amazon: .*not beside the project"):
        cli.squad_source("squadshifts/amazon", "validation")
