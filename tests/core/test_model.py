"""Loading models and the inference settings saved beside them; broken folders named early."""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch

from qa_utils.core.model import (
    ModelFolderError,
    check_model,
    embedded_model_path,
    load_inference_settings,
    load_qa_model,
    random_qa_model,
    resolve_model,
    save_inference_settings,
)
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


# --- a model folder is checked before anything slow, and every problem names its file ----------


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    """A complete copy of the embedded model's folder, for tests to break."""
    folder = tmp_path_factory.mktemp("model")
    source = embedded_model_path()
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(source / name, folder / name)
    return folder


def broken_copy(model_folder, tmp_path, name: str, content: bytes | None) -> str:
    """The model folder with file `name` replaced by `content` (None: removed)."""
    folder = tmp_path / "model"
    shutil.copytree(model_folder, folder)
    (folder / name).unlink()
    if content is not None:
        (folder / name).write_bytes(content)
    return str(folder)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.safetensors", b"", "model.safetensors: not a complete weights file"),
        ("model.safetensors", None, "no weights (model.safetensors or pytorch_model.bin)"),
        ("config.json", b"{not json", "config.json: not a readable model config"),
        ("config.json", b"[1, 2]", "config.json: expected a JSON object, got list"),
        ("config.json", None, "not a model folder (no config.json)"),
    ],
)
def test_broken_model_folders_are_named_before_loading(
    model_folder, tmp_path, name, content, message
):
    folder = broken_copy(model_folder, tmp_path, name, content)
    with pytest.raises((ModelFolderError, FileNotFoundError), match=re.escape(message)):
        check_model(folder)


def test_a_truncated_weights_file_is_caught_by_its_header(model_folder, tmp_path):
    weights = (model_folder / "model.safetensors").read_bytes()
    folder = broken_copy(model_folder, tmp_path, "model.safetensors", weights[: len(weights) // 2])
    with pytest.raises(ModelFolderError, match="not a complete weights file .*incomplete metadata"):
        check_model(folder)
    with pytest.raises(ModelFolderError, match="not a complete weights file"):
        load_qa_model(folder)  # no library traceback from the loader either


def test_windows_longer_than_the_position_embeddings_are_refused(model_folder):
    assert check_model(model_folder, max_length=512) == str(model_folder)
    with pytest.raises(
        ModelFolderError,
        match=r"max_length=600 is longer than model .* can take "
        r"\(512 positions\); use --max-length 512 or less",
    ):
        check_model(model_folder, max_length=600)  # fmt: skip


def test_nan_weights_are_refused_at_load(model_folder, tmp_path, tiny_bert):
    net = tiny_bert()
    with torch.no_grad():
        net.qa_outputs.weight[0, 0] = float("nan")
    net.save_pretrained(tmp_path / "diverged")
    with pytest.raises(ModelFolderError, match=r"qa_outputs.weight holds NaN or infinite values"):
        load_qa_model(tmp_path / "diverged")


def test_unreadable_saved_settings_name_the_file(tmp_path):
    (tmp_path / INFERENCE_FILE).write_text('{"max_length": 0}')
    with pytest.raises(ModelFolderError, match=rf"{INFERENCE_FILE}: unusable inference settings"):
        load_inference_settings(tmp_path)


def test_random_model_has_the_architecture_but_not_the_weights():
    pretrained = load_qa_model("embedded").state_dict()
    first = random_qa_model("embedded", seed=0).state_dict()
    assert first.keys() == pretrained.keys()
    assert all(first[k].shape == pretrained[k].shape for k in first)
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(first[name], pretrained[name])
    assert not torch.equal(
        first["bert.embeddings.word_embeddings.weight"],
        pretrained["bert.embeddings.word_embeddings.weight"],
    )


def test_random_model_is_the_same_for_a_seed_and_leaves_the_global_seed_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    one = random_qa_model("embedded", seed=7).state_dict()
    assert torch.equal(torch.rand(3), expected)  # drawing the weights did not move the seed
    two, other = random_qa_model("embedded", seed=7), random_qa_model("embedded", seed=8)
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(one[name], two.state_dict()[name])
    assert not torch.equal(one[name], other.state_dict()[name])
