"""Loading models and the inference settings saved beside them."""

from __future__ import annotations

import json

import pytest

from qa_utils.core.model import load_inference_settings, resolve_model, save_inference_settings
from qa_utils.project.config import (
    INFERENCE_FILE,
    RUN_CONFIG,
    InferenceSettings,
    get_profile,
    profile_dict,
)


def test_settings_round_trip_beside_a_model(tmp_path):
    settings = InferenceSettings(192, 64, 20, 30, 16, threads=2)
    path = save_inference_settings(settings, tmp_path)
    assert path == tmp_path / INFERENCE_FILE
    assert load_inference_settings(tmp_path) == settings


def test_folders_of_older_runs_read_the_profile_of_their_run_config(tmp_path):
    smoke = get_profile("smoke")
    (tmp_path / RUN_CONFIG).write_text(json.dumps({"profile": profile_dict(smoke)}))
    assert load_inference_settings(tmp_path) == smoke.inference


def test_without_saved_settings_the_default_or_the_default_profile_applies(tmp_path):
    given = InferenceSettings(96, 32, 5, 10, 4)
    assert load_inference_settings(tmp_path, given) == given
    assert load_inference_settings("embedded") == get_profile().inference


def test_profile_owns_the_settings_and_evaluation_batches():
    quick = get_profile("quick", eval_batch_size=8, threads=2)
    assert quick.inference == InferenceSettings(
        quick.max_length, quick.doc_stride, quick.n_best_size, quick.max_answer_length, 8, 2
    )


def test_missing_model_path_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_model(tmp_path / "nowhere")
