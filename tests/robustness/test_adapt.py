"""Adapting to a new domain: the split by product, the samples, the curve, one real adaptation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from datasets import Dataset

from qa_utils.core.data import FEATURES, load_squad
from qa_utils.project.config import RUN_CONFIG, get_profile
from qa_utils.robustness import adapt

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mini_squad.json"


def products(n_groups: int = 20, per_group: int = 4) -> Dataset:
    """Questions about `n_groups` products, `per_group` each, grouped by title like Amazon's."""
    rows = [
        {
            "id": f"p{g}q{q}",
            "title": f"Product_{g}",
            "context": f"Product {g} works well and costs {q} dollars.",
            "question": f"How much does product {g} cost, variant {q}?",
            "answers": {
                "text": [f"{q} dollars"],
                "answer_start": [len(f"Product {g} works well and costs ")],
            },
        }
        for g in range(n_groups)
        for q in range(per_group)
    ]
    return Dataset.from_list(rows, features=FEATURES)


def test_split_keeps_every_product_on_one_side():
    examples = products()
    split = adapt.split_by_group(examples, test_share=0.2, validation_share=0.1, seed=0)
    groups = split.groups()
    assert not groups["pool"] & groups["test"]
    assert not groups["pool"] & groups["validation"]
    assert not groups["validation"] & groups["test"]
    assert len(groups["test"]) == 4 and len(groups["validation"]) == 2
    ids = list(split.pool["id"]) + list(split.validation["id"]) + list(split.test["id"])
    assert sorted(ids) == sorted(examples["id"])
    assert split.sizes().to_dict() == {
        "questions": {"pool": 56, "validation": 8, "test": 16},
        "products": {"pool": 14, "validation": 2, "test": 4},
    }


def test_split_depends_on_the_seed_not_on_the_file_order():
    examples = products()
    first = adapt.split_by_group(examples, seed=3)
    shuffled = adapt.split_by_group(examples.shuffle(seed=1), seed=3)
    other = adapt.split_by_group(examples, seed=4)
    assert set(first.test["id"]) == set(shuffled.test["id"])
    assert set(first.validation["id"]) == set(shuffled.validation["id"])
    assert first.groups()["test"] != other.groups()["test"]


@pytest.mark.parametrize(
    ("examples", "shares", "message"),
    [
        (products(n_groups=2), (0.2, 0.1), "at least 3 groups"),
        (products(), (0.6, 0.4), "sum below 1"),
        (products(), (0.2, 0.0), "must be positive"),
        (products().remove_columns("title"), (0.2, 0.1), "no 'title' column"),
    ],
)
def test_split_refuses_what_it_cannot_split(examples, shares, message):
    with pytest.raises(ValueError, match=message):
        adapt.split_by_group(examples, *shares)


def test_samples_are_seeded_nested_and_in_pool_order():
    pool = products()
    small, large = adapt.draw_sample(pool, 10, seed=5), adapt.draw_sample(pool, 30, seed=5)
    assert set(small["id"]) < set(large["id"])
    assert list(small["id"]) == list(adapt.draw_sample(pool, 10, seed=5)["id"])
    assert list(small["id"]) != list(adapt.draw_sample(pool, 10, seed=6)["id"])
    positions = [list(pool["id"]).index(i) for i in large["id"]]
    assert positions == sorted(positions)
    with pytest.raises(ValueError, match="between 1 and the pool's 80"):
        adapt.draw_sample(pool, 81, seed=0)


def scores(f1: list[float]) -> pd.DataFrame:
    """A per-question score table with ids q0, q1, ..."""
    return pd.DataFrame({"id": [f"q{i}" for i in range(len(f1))], "f1": f1})


def test_compare_pairs_questions_by_id():
    base = scores([0.0, 50.0, 100.0, 0.0])
    after = scores([100.0, 50.0, 100.0, 0.0]).iloc[::-1]
    result = adapt.compare(after, base, resamples=200)
    assert result["f1"] == pytest.approx(62.5)
    assert result["change"] == pytest.approx(25.0)
    assert result["change_low"] <= 25.0 <= result["change_high"]
    with pytest.raises(ValueError, match="same questions"):
        adapt.compare(scores([1.0, 2.0]), base)


def curve() -> pd.DataFrame:
    """Base model and two sizes x two seeds, target F1 rising and SQuAD F1 falling."""
    base = {"amazon": scores([50.0] * 4), "squad": scores([80.0] * 4)}
    rows = [adapt.point_row(0, 0, base, base, 100)]
    for size, gain in ((10, 10.0), (40, 20.0)):
        for seed in (0, 1):
            after = {"amazon": scores([50.0 + gain + seed] * 4), "squad": scores([80.0 - seed] * 4)}
            rows.append(adapt.point_row(size, seed, after, base, 100))
    return pd.DataFrame(rows)


def test_summary_and_sentence_follow_the_points():
    summary = adapt.curve_summary(curve())
    assert summary["size"].tolist() == [0, 10, 40]
    assert summary["amazon_f1"].tolist() == pytest.approx([50.0, 60.5, 70.5])
    assert summary["forgetting"].tolist() == pytest.approx([0.0, -0.5, -0.5])
    assert summary["seeds"].tolist() == [1, 2, 2]
    sentence = adapt.describe_curve(summary)
    assert (
        "F1 50.0" in sentence
        and "40 questions: 70.5 (+20.5; range 70.0-71.0 over 2 seeds)" in sentence
    )
    assert "-0.5 at 10" in sentence and "(mean over seeds)" in sentence
    one_seed = summary.assign(seeds=1)
    assert "(mean over seeds)" not in adapt.describe_curve(one_seed)


def test_reference_curve_reads_the_committed_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="run python -m benchmarks.adapt"):
        adapt.reference_curve(tmp_path)
    target = tmp_path / adapt.REFERENCE_CURVE
    target.parent.mkdir(parents=True)
    curve().to_csv(target, index=False)
    assert adapt.reference_curve(tmp_path)["size"].tolist() == [0, 10, 10, 40, 40]


def test_the_profile_rate_is_kept_unless_another_is_clearly_better():
    table = pd.DataFrame(
        {
            "learning_rate": [1e-4, 3e-5, 3e-4],
            "f1": [60.0, 61.0, 59.0],
            "change_low": [0.0, -1.0, -3.0],
        }
    )
    assert adapt.choose_learning_rate(table, 1e-4) == 1e-4
    table.loc[1, "change_low"] = 0.5
    assert adapt.choose_learning_rate(table, 1e-4) == 3e-5


def test_notebook_plan_is_small_under_smoke_and_quick():
    assert adapt.notebook_plan(get_profile("smoke")).sizes == (8, 16)
    quick = adapt.notebook_plan(get_profile("quick"))
    assert max(quick.sizes) <= 500 and quick.test_questions <= 500


@pytest.mark.slow
def test_adapting_continues_from_the_given_model(tmp_path):
    examples = load_squad(FIXTURE)
    profile = get_profile("smoke", max_length=128, doc_stride=32, batch_size=8, save_steps=100)
    first = adapt.adapt("embedded", adapt.draw_sample(examples, 16, 0), profile, tmp_path / "a", 0)
    sample = adapt.draw_sample(examples, 8, 1)
    second = adapt.adapt(first.model_dir, sample, profile, tmp_path / "b", 1, learning_rate=5e-5)
    saved = json.loads((second.model_dir / RUN_CONFIG).read_text())["profile"]
    assert saved["model"] == str(first.model_dir)
    assert (saved["seed"], saved["learning_rate"], second.train_questions) == (1, 5e-5, 8)
    from safetensors.numpy import load_file

    before, after = (load_file(r.model_dir / "model.safetensors") for r in (first, second))
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    result = adapt.score_model(second.model_dir, {"mini": examples}, profile)
    assert (
        result["mini"]["id"].tolist() == list(examples["id"])
        and result["mini"]["f1"].between(0, 100).all()
    )


@pytest.mark.slow
def test_one_seed_of_the_curve_scores_the_base_and_each_size(tmp_path):
    examples = load_squad(FIXTURE)
    profile = get_profile("smoke", max_length=128, doc_stride=32, batch_size=8, save_steps=100)
    tests = {"amazon": examples.select(range(5)), "squad": examples.select(range(5, 10))}
    curve = adapt.adaptation_curve("embedded", examples, tests, profile, (8,), tmp_path, 2, 50)
    assert curve[["size", "seed"]].values.tolist() == [[0, 2], [8, 2]]
    assert (tmp_path / "size8-seed2" / "model.safetensors").is_file()
    assert curve.loc[0, "amazon_change"] == 0 and curve.loc[1, "train_seconds"] > 0


def test_sizes_sentence_compares_this_run_with_the_committed_benchmark():
    def curve(sizes, seeds, amazon, squad, base):
        rows = [{"size": 0, "amazon_f1": base}] + [
            {"size": n, "amazon_f1": base + 1} for n in sizes for _ in range(seeds)
        ]
        return pd.DataFrame(rows).assign(amazon_questions=amazon, squad_questions=squad)

    own, committed = curve([100, 400], 1, 300, 300, 65.3), curve([500, 2000], 3, 1472, 1000, 62.5)
    text = adapt.sizes_sentence(own, committed, test_total=1472)
    assert text.startswith(
        "This run scores 300 of the 1,472 test-product questions and 300 SQuAD dev questions, "
        "adapted on 100 and 400 questions (one seed each); the committed benchmark scores "
        "1,472 of the 1,472 test-product questions and 1,000 SQuAD dev questions, adapted on "
        "500 and 2,000 questions (3 seeds each)."
    )
    assert "(65.3 here, 62.5 committed)" in text
    assert "differ because the questions differ, and the models they started from may" in text


def test_sizes_sentence_names_the_other_starting_model_when_the_training_rates_differ():
    def curve(rate, base):
        rows = {"size": [0, 100], "amazon_f1": [base, base + 1], adapt.MODEL_RATE: rate}
        return pd.DataFrame(rows).assign(amazon_questions=300, squad_questions=300)

    text = adapt.sizes_sentence(curve(2e-4, 65.6), curve(1e-4, 62.5), test_total=1472)
    assert (
        "(65.6 here, 62.5 committed) differ because the questions differ and the committed "
        "curve started from another model (trained at learning rate 1e-4, this run's at 2e-4), "
        "and their forgetting"
    ) in text
    same = adapt.sizes_sentence(curve(1e-4, 65.6), curve(1e-4, 62.5), test_total=1472)
    assert "differ because the questions differ, and their forgetting" in same
    unknown = adapt.sizes_sentence(curve(np.nan, 65.6), curve(1e-4, 62.5), test_total=1472)
    assert "the models they started from may differ too" in unknown


def test_model_learning_rate_reads_the_run_config(tmp_path):
    assert adapt.model_learning_rate("embedded") is None
    assert adapt.model_learning_rate(tmp_path) is None
    (tmp_path / RUN_CONFIG).write_text(json.dumps({"profile": {"learning_rate": 2e-4}}))
    assert adapt.model_learning_rate(tmp_path) == 2e-4


def test_committed_curve_records_the_rate_its_model_was_trained_at():
    # the quick profile trained at 1e-4 when the committed curve was run (now 2e-4)
    assert set(adapt.reference_curve()[adapt.MODEL_RATE]) == {1e-4}
