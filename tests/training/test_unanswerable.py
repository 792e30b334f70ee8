"""Route (a): unanswerable training questions made from SQuAD v1.1, and training with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa_utils.cli import main
from qa_utils.core.data import FEATURES_V2, load_squad
from qa_utils.core.features import build_train_features
from qa_utils.core.model import load_tokenizer
from qa_utils.project.config import INFERENCE_FILE, get_profile, training_settings
from qa_utils.training.unanswerable import SUFFIX, pair_unanswerable, training_examples

FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def mini():
    return load_squad(FIXTURES / "mini_squad.json")


def test_pairs_are_other_paragraphs_of_the_same_article_without_the_answer(mini):
    paired = pair_unanswerable(mini, seed=3)
    assert paired.features == FEATURES_V2
    originals = {row["id"]: row for row in mini}
    made = [row for row in paired if row["is_impossible"]]
    assert paired.select(range(len(mini)))["id"] == mini["id"]
    assert not any(paired.select(range(len(mini)))["is_impossible"])
    assert 0 < len(made) <= round(0.5 * len(mini))
    for row in made:
        source = originals[row["id"].removesuffix(SUFFIX)]
        assert row["title"] == source["title"] and row["question"] == source["question"]
        assert row["context"] != source["context"]
        assert not any(a.lower() in row["context"].lower() for a in source["answers"]["text"])
        assert row["answers"] == {"text": [], "answer_start": []}


def test_pairing_is_seeded(mini):
    assert pair_unanswerable(mini, seed=1)["id"] == pair_unanswerable(mini, seed=1)["id"]
    assert pair_unanswerable(mini, seed=1)["id"] != pair_unanswerable(mini, seed=2)["id"]
    with pytest.raises(ValueError, match="per_question must be between 0 and 1"):
        pair_unanswerable(mini, per_question=1.5)


def test_paragraphs_come_from_the_pool(mini):
    one = mini.select([0])  # alone, its article has no other paragraph
    assert len(pair_unanswerable(one, per_question=1.0)) == 1
    assert len(pair_unanswerable(one, mini, per_question=1.0)) == 2


def test_training_examples_pair_only_v1_data_in_squad_v2_mode(mini):
    v2 = load_squad(FIXTURES / "mini_squad_v2.json")
    assert training_examples(mini, mini, squad_v2=False) is mini
    assert training_examples(v2, v2, squad_v2=True) is v2
    assert sum(training_examples(mini, mini, squad_v2=True)["is_impossible"]) > 0


def test_unanswerable_pairs_are_labelled_cls(mini):
    paired = pair_unanswerable(mini, seed=0)
    made = paired.filter(lambda row: row["is_impossible"])
    features = build_train_features(made, load_tokenizer("embedded"), 96, 32)
    assert set(features["start_positions"]) == set(features["end_positions"]) == {0}


def test_squad_v2_profile_abstains_at_zero_and_keeps_old_models_matching():
    profile = get_profile("smoke", squad_v2=True)
    assert profile.inference.null_threshold == 0.0
    assert get_profile("smoke", squad_v2=True, null_threshold=2.0).inference.null_threshold == 2.0
    assert training_settings(profile) != training_settings(get_profile("smoke"))
    saved_before = {k: v for k, v in vars(get_profile("smoke")).items() if k != "squad_v2"}
    assert training_settings(saved_before) == training_settings(get_profile("smoke"))


@pytest.mark.slow
def test_train_with_the_squad_v2_switch_at_smoke_size(tmp_path, capsys):
    args = [
        "train",
        "--profile",
        "smoke",
        "--squad-v2",
        "--train-file",
        FIXTURES / "mini_squad.json",
    ]
    args += ["--max-length", "128", "--doc-stride", "32", "--train-questions", "12"]
    assert main([str(a) for a in [*args, "--output", tmp_path / "model"]]) == 0
    out = capsys.readouterr().out  # Trainer's log lines, then the summary
    summary = json.loads(out[out.rindex('{\n  "model_dir"') :])
    assert summary["train_questions"] == 18  # 12 questions and 6 unanswerable pairs
    settings = json.loads((tmp_path / "model" / INFERENCE_FILE).read_text(encoding="utf-8"))
    assert settings["null_threshold"] == 0.0
    evaluate = ["evaluate", "--model", tmp_path / "model", "--profile", "smoke", "--squad-v2"]
    evaluate += ["--dev-file", FIXTURES / "mini_squad_v2.json", "--output", tmp_path / "eval"]
    assert main([str(a) for a in evaluate]) == 0
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text(encoding="utf-8"))
    assert {"HasAns_f1", "NoAns_f1", "best_f1"} <= set(metrics["squad_v2"])
    assert metrics["profile"]["squad_v2"] is True
