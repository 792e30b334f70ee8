"""Distribution shift: seeded topic splits inside SQuAD, the shift table, named sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from datasets import Dataset

from qa_utils.core.data import load_squad
from qa_utils.robustness import shift

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def examples() -> Dataset:
    """The 25 questions of the mini SQuAD fixture."""
    return load_squad(FIXTURES / "mini_squad.json")


def topic_examples(n_titles: int = 10, paragraphs: int = 4, questions: int = 3) -> Dataset:
    """Synthetic SQuAD examples: n_titles articles, each with a few paragraphs and questions."""
    rows = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for t in range(n_titles):
        for p in range(paragraphs):
            for q in range(questions):
                rows["id"].append(f"t{t}-p{p}-q{q}")
                rows["title"].append(f"Topic_{t}")
                rows["context"].append(f"Paragraph {p} of topic {t} mentions item {q}.")
                rows["question"].append(f"What does paragraph {p} mention ({q})?")
                rows["answers"].append({"text": [f"item {q}"], "answer_start": [28]})
    return Dataset.from_dict(rows)


def test_split_topics_is_seeded_and_partitions_the_titles():
    data = topic_examples()
    split = shift.split_topics(data, unseen_fraction=0.3, seed=0)
    assert len(split.unseen) == 3 and set(split.seen) | set(split.unseen) == set(data["title"])
    assert not set(split.seen) & set(split.unseen)
    assert split == shift.split_topics(data, unseen_fraction=0.3, seed=0)
    with pytest.raises(ValueError, match="at least two articles, got 1"):
        shift.split_topics(data.select(range(3)))


def test_topic_datasets_hold_out_paragraphs_of_seen_topics_and_all_unseen_topics():
    data = topic_examples()
    split = shift.split_topics(data, unseen_fraction=0.2, seed=1)
    train, seen_eval, unseen_eval = shift.topic_datasets(data, split, holdout_fraction=0.25, seed=0)
    assert set(train["title"]) <= set(split.seen) and set(seen_eval["title"]) <= set(split.seen)
    assert set(unseen_eval["title"]) == set(split.unseen)
    assert not set(train["context"]) & set(seen_eval["context"])
    assert len(train) + len(seen_eval) + len(unseen_eval) == len(data)
    small = shift.topic_datasets(data, split, n_train=5, n_eval=4, seed=0)
    assert [len(d) for d in small] == [5, 4, 4]


def scores(f1: list[float]) -> pd.DataFrame:
    """A per-example table with just the scores (EM = F1 for 0/100 scores)."""
    return pd.DataFrame({"em": f1, "f1": f1})


def test_shift_table_puts_the_reference_first_and_measures_unpaired_drops():
    tables = {
        "squadshifts/reddit": scores([0.0, 100.0] * 50),
        "squad/dev": scores([100.0, 100.0, 100.0, 0.0] * 50),
    }
    table = shift.shift_table(tables, n_resamples=300).set_index("set")
    assert table.index.tolist() == ["squad/dev", "squadshifts/reddit"]
    assert table.loc["squad/dev", "drop"] == 0
    reddit = table.loc["squadshifts/reddit"]
    assert reddit["drop"] == pytest.approx(25.0) and reddit["em_drop"] == pytest.approx(25.0)
    assert reddit["drop_low"] < 25.0 < reddit["drop_high"]
    assert reddit["f1_low"] < 50.0 < reddit["f1_high"]
    with pytest.raises(KeyError, match="reference set 'squad/dev'"):
        shift.shift_table({"squadshifts/reddit": scores([0.0])})


def test_answer_sets_answers_named_sets_with_one_model(tmp_path, monkeypatch, tiny_bert):
    from qa_utils.core.model import load_tokenizer
    from qa_utils.project.config import get_profile

    monkeypatch.setenv("QA_SHARED", str(FIXTURES / "shared"))
    model_dir = tmp_path / "model"
    tiny_bert().save_pretrained(model_dir)
    load_tokenizer("embedded").save_pretrained(model_dir)
    sets = shift.load_sets(["squad/dev", "squadshifts/reddit"], n_questions=3, seed=0)
    results = shift.answer_sets(model_dir, get_profile("smoke", max_length=96, doc_stride=32), sets)
    assert [len(r.table) for r in results.values()] == [3, 3]
    reddit = results["squadshifts/reddit"]
    assert set(reddit.table["title"]) == {"Filtered_Reddit_Comments"}
    assert reddit.table["f1"].between(0, 100).all() and reddit.questions_per_second > 0
    assert set(reddit.seconds) == {"features_s", "predict_s", "postprocess_s", shift.SCORE}


def test_overview_reference_table_and_pretraining_mix(tmp_path, monkeypatch):
    monkeypatch.setenv("QA_SHARED", str(FIXTURES / "shared"))
    sets = shift.load_sets(["squadshifts/reddit"])
    overview = shift.set_overview(sets).iloc[0]
    assert (overview["questions"], overview["articles"], overview["contexts"]) == (4, 1, 3)
    ours = shift.shift_table({"squad/dev": scores([100.0, 0.0] * 20)}, n_resamples=50)
    beside = shift.beside_reference(ours, ours.assign(n=10570))
    assert beside.loc[0, "n full"] == 10570 and beside.loc[0, "F1 here"] == beside.loc[0, "F1 full"]
    config = tmp_path / "data_config.json"
    config.write_text('[{"name": "reddit/2015.jsonl.gz", "weight": 3},'
                      ' {"name": "squad_pairs.jsonl.gz", "weight": 1}]')  # fmt: skip
    mix = shift.pretraining_shares(config, {"Reddit": "reddit", "SQuAD": "squad", "x": "none"})
    assert mix.to_dict() == {"Reddit": 0.75, "SQuAD": 0.25, "x": 0.0}
    with pytest.raises(FileNotFoundError, match="no committed table"):
        shift.committed("nothing", root=tmp_path)
