"""Profiles: names, overrides, environment, and the errors users can cause."""

from __future__ import annotations

import re

import pytest

from qa_utils.project.config import (
    PROFILES,
    InferenceSettings,
    get_profile,
    resolve_profile_name,
    training_settings,
)


def test_named_profiles_exist_with_the_chapter_recipe():
    full = get_profile("full")
    assert (full.model, full.epochs, full.learning_rate, full.batch_size) == (
        "google-bert/bert-base-uncased",
        3.0,
        2e-5,
        16,
    )
    assert (full.max_length, full.doc_stride, full.weight_decay) == (384, 128, 0.01)
    assert get_profile("quick").max_length == 384
    assert get_profile("smoke").train_questions == 64


def test_env_selects_the_profile(monkeypatch):
    monkeypatch.setenv("QA_PROFILE", "smoke")
    assert get_profile().name == "smoke"
    assert get_profile("quick").name == "quick"  # an explicit name wins


def test_auto_is_quick_without_a_gpu(monkeypatch):
    monkeypatch.setattr("qa_utils.project.config._has_gpu", lambda: False)
    assert resolve_profile_name("auto") == "quick"
    monkeypatch.setattr("qa_utils.project.config._has_gpu", lambda: True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert resolve_profile_name("auto") == "quick"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert resolve_profile_name("auto") == "full"


def test_overrides_apply_and_none_is_ignored():
    profile = get_profile("smoke", epochs=2.0, learning_rate=None)
    assert profile.epochs == 2.0
    assert profile.learning_rate == PROFILES["smoke"].learning_rate


def test_unknown_profile_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown profile 'fast'; choose one of smoke, quick"):
        get_profile("fast")


def test_unknown_field_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown profile field"):
        get_profile("smoke", epoch=3)


@pytest.mark.parametrize("field", ["train_questions", "dev_questions"])
def test_negative_subset_is_a_clear_error(field):
    with pytest.raises(ValueError, match=f"{field} must be a positive number"):
        get_profile("smoke", **{field: -5})


def test_stride_must_fit_the_window():
    with pytest.raises(ValueError, match="doc_stride must be between"):
        get_profile("smoke", doc_stride=500)


def test_null_threshold_is_an_inference_setting_off_by_default():
    assert all(p.inference.null_threshold is None for p in PROFILES.values())  # never abstain
    profile = get_profile("smoke", null_threshold=-1.5)
    assert profile.inference.null_threshold == -1.5
    saved = InferenceSettings.from_dict(profile.inference.to_dict())
    assert saved == profile.inference
    # Evaluation-only: a model trained with another threshold is the same trained model.
    assert training_settings(profile) == training_settings(get_profile("smoke"))
    assert (
        InferenceSettings.from_dict(
            {
                "max_length": 64,
                "doc_stride": 16,
                "n_best_size": 5,
                "max_answer_length": 9,
                "batch_size": 2,
            }
        ).null_threshold
        is None
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("learning_rate", float("inf"), "learning_rate must be a finite number, got inf"),
        ("learning_rate", float("nan"), "learning_rate must be a finite number, got nan"),
        ("learning_rate", -1e-4, "learning_rate must be above 0 and at most 1, got -0.0001"),
        ("learning_rate", 0.0, "learning_rate must be above 0"),
        ("learning_rate", 3.0, "learning_rate must be above 0 and at most 1, got 3"),
        ("epochs", float("inf"), "epochs must be a finite number"),
        ("epochs", 0.0, "epochs must be above 0"),
        ("weight_decay", float("nan"), "weight_decay must be a finite number"),
        ("warmup_ratio", 1.5, "warmup_ratio must be at least 0 and at most 1, got 1.5"),
        ("seed", -1, "seed must be at least 0 and at most 4,294,967,295, got -1"),
        ("seed", 2**32, "seed must be at least 0"),
        ("threads", -2, "threads must be at least 0"),
        ("save_steps", 0, "save_steps must be at least 1"),
        ("eval_batch_size", 0, "eval_batch_size must be at least 1"),
        ("n_best_size", -5, "n_best_size must be at least 1"),
        ("max_length", 4, "max_length must be at least 8"),
        ("doc_stride", 0, "doc_stride must be between 0 and max_length"),
        ("model", " ", "model must name a model folder"),
    ],
)
def test_out_of_range_and_non_finite_settings_are_refused_up_front(field, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        get_profile("smoke", **{field: value})


def test_inference_settings_check_themselves_when_read_back():
    assert InferenceSettings(384, 128, 20, 30, 16).max_length == 384
    with pytest.raises(ValueError, match="doc_stride must be between 0 and max_length"):
        InferenceSettings(max_length=64, doc_stride=64, n_best_size=20, max_answer_length=30,
                          batch_size=8)  # fmt: skip
    with pytest.raises(ValueError, match="eval_batch_size must be at least 1"):
        InferenceSettings.from_dict({**get_profile("smoke").inference.to_dict(), "batch_size": 0})


def test_init_is_pretrained_unless_asked_and_checked():
    assert get_profile("smoke").init == "pretrained"
    assert get_profile("smoke", init="random").init == "random"
    with pytest.raises(ValueError, match=r"init must be one of pretrained, random, got 'scratch'"):
        get_profile("smoke", init="scratch")


def test_init_shapes_the_model_but_old_runs_keep_their_settings():
    # A model saved before `init` existed (no field) is the same run as one at the default...
    pretrained = training_settings(get_profile("smoke"))
    assert "init" not in pretrained
    # ...while a random start is another run, never reused for a pre-trained one.
    assert training_settings(get_profile("smoke", init="random"))["init"] == "random"
