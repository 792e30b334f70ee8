"""Training with the smoke profile: saved artefacts, determinism, resume after a kill, torchrun."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from transformers import TrainerCallback

from qa_utils.core.data import in_validation, load_squad
from qa_utils.core.evaluate import evaluate
from qa_utils.core.model import load_qa_model
from qa_utils.project.config import get_profile, profile_dict
from qa_utils.training.train import (
    HISTORY,
    RUN_CONFIG,
    DivergenceError,
    finished_run,
    initial_model,
    last_complete_checkpoint,
    last_logged_loss,
    quiet_in_notebooks,
    resumable_checkpoint,
    run_settings,
    train,
    training_questions,
)

FIXTURE = Path(__file__).parents[1] / "fixtures" / "mini_squad.json"
SMALL = {"max_length": 128, "doc_stride": 32, "batch_size": 8, "save_steps": 2}


@pytest.fixture(scope="module")
def examples():
    return load_squad(FIXTURE)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, examples):
    profile = get_profile("smoke", **SMALL)
    return profile, train(profile, examples, tmp_path_factory.mktemp("model"))


def test_training_questions_never_come_from_validation_articles(examples, monkeypatch):
    monkeypatch.setattr("qa_utils.core.data.VALIDATION_SHARE", 0.5)
    held = {t for t in examples["title"] if in_validation(t, 0.5)}
    assert held and held != set(examples["title"])  # the fixture has articles on both sides
    every = training_questions(examples, get_profile("smoke", train_questions=None))
    assert set(every["title"]) == set(examples["title"]) - held
    drawn = training_questions(examples, get_profile("smoke", train_questions=3, seed=1))
    assert len(drawn) == 3 and not set(drawn["title"]) & held


@pytest.mark.slow
def test_training_saves_model_tokenizer_history_and_config(trained):
    profile, result = trained
    folder = result.model_dir
    assert (folder / "model.safetensors").is_file()
    assert (folder / "tokenizer.json").is_file()
    history = (folder / HISTORY).read_text().splitlines()
    assert history[0].count("loss") and len(history) > 1
    saved = json.loads((folder / RUN_CONFIG).read_text())
    assert saved["profile"]["max_length"] == profile.max_length
    assert saved["train_questions"] == result.train_questions


@pytest.mark.slow
def test_mean_and_last_loss_are_told_apart(trained):
    _, result = trained
    history = pd.read_csv(result.model_dir / HISTORY)
    logged = history["loss"].dropna()
    assert result.last_loss == pytest.approx(logged.iloc[-1])
    saved = json.loads((result.model_dir / RUN_CONFIG).read_text())
    assert (saved["mean_loss"], saved["last_loss"]) == (result.mean_loss, result.last_loss)
    assert "final_loss" not in saved


@pytest.mark.slow
def test_a_random_start_trains_another_model(trained, examples, tmp_path):
    profile, pretrained = trained
    random_start = train(dataclasses.replace(profile, init="random"), examples, tmp_path / "r")
    saved = json.loads((random_start.model_dir / RUN_CONFIG).read_text())
    assert saved["profile"]["init"] == "random"
    # A few steps barely move the word embeddings: the pre-trained start keeps the pre-trained
    # ones, the random start keeps its own random draw.
    name = "bert.embeddings.word_embeddings.weight"
    original = load_qa_model("embedded").state_dict()[name].flatten()

    def similarity(folder):
        trained_weights = load_qa_model(folder).state_dict()[name].flatten()
        return float(torch.nn.functional.cosine_similarity(trained_weights, original, dim=0))

    assert similarity(pretrained.model_dir) > 0.99
    assert abs(similarity(random_start.model_dir)) < 0.1


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics(trained, examples, tmp_path):
    profile, first = trained
    second = train(profile, examples, tmp_path / "again")
    one = evaluate(first.model_dir, examples, tmp_path / "eval1", profile, progress=False)
    two = evaluate(second.model_dir, examples, tmp_path / "eval2", profile, progress=False)
    assert (one["exact_match"], one["f1"]) == (two["exact_match"], two["f1"])
    assert first.mean_loss == pytest.approx(second.mean_loss, abs=1e-6)
    assert first.last_loss == pytest.approx(second.last_loss, abs=1e-6)


@pytest.mark.slow
def test_finished_model_is_reused_not_retrained(trained, examples):
    profile, first = trained
    again = train(profile, examples, first.model_dir)
    assert again.train_seconds == first.train_seconds
    # Evaluation-only settings do not make a new model; training settings do.
    evaluation_only = dataclasses.replace(profile, eval_batch_size=3, n_best_size=5)
    assert finished_run(first.model_dir, evaluation_only, first.train_questions) is not None
    retrain = dataclasses.replace(profile, learning_rate=profile.learning_rate * 2)
    assert finished_run(first.model_dir, retrain, first.train_questions) is None


def _train_command(output: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "qa_utils",
        "train",
        "--profile",
        "smoke",
        "--train-file",
        str(FIXTURE),
        "--output",
        str(output),
        "--max-length",
        "128",
        "--doc-stride",
        "32",
        "--batch-size",
        "2",
        "--save-steps",
        "2",
        "--train-questions",
        "all",
    ]


def test_half_written_checkpoints_are_skipped(tmp_path):
    complete = tmp_path / "checkpoint-2"
    complete.mkdir()
    (complete / "trainer_state.json").write_text("{}")
    (complete / "model.safetensors").write_bytes(b"x")
    (tmp_path / "checkpoint-4").mkdir()
    (tmp_path / "checkpoint-4" / "trainer_state.json").write_text("")  # killed while saving
    assert last_complete_checkpoint(tmp_path) == str(complete)
    assert last_complete_checkpoint(tmp_path / "none") is None


def _checkpoint(folder: Path, step: int) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "trainer_state.json").write_text("{}")
    (path / "model.safetensors").write_bytes(b"x")
    return path


def test_checkpoints_of_other_settings_are_moved_aside_not_resumed(tmp_path):
    folder = tmp_path / "checkpoints"
    mine, other = {"training": {"epochs": 1.0}, "n": 64}, {"training": {"epochs": 2.0}, "n": 64}
    # A first run writes its settings next to its checkpoints; the same settings resume.
    assert resumable_checkpoint(folder, mine) is None
    step = _checkpoint(folder, 6)
    assert resumable_checkpoint(folder, mine) == str(step)
    # Other settings: nothing to resume, and the old checkpoints are kept, out of the way.
    with pytest.warns(UserWarning, match="other settings"):
        assert resumable_checkpoint(folder, other) is None
    assert (tmp_path / "checkpoints-replaced" / "checkpoint-6").is_dir()
    assert not any(folder.glob("checkpoint-*"))
    # Checkpoints whose settings are unknown (no marker) are not trusted either.
    (folder / "run_settings.json").unlink()
    _checkpoint(folder, 4)
    with pytest.warns(UserWarning):
        assert resumable_checkpoint(folder, other) is None


@pytest.mark.slow
def test_killed_run_resumes_from_its_checkpoint(tmp_path):
    output = tmp_path / "model"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(
        _train_command(output), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while last_complete_checkpoint(output / "checkpoints") is None:
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (output / RUN_CONFIG).exists()
    finished = subprocess.run(_train_command(output), env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    resumed_from = json.loads((output / RUN_CONFIG).read_text())["resumed_from"]
    assert resumed_from is not None and "checkpoint-" in resumed_from


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="torchrun test uses the gloo backend on Linux")
def test_same_entry_point_runs_under_torchrun(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    command = [
        str(torchrun),
        "--nproc_per_node=2",
        "--master_port=29517",
        "--no-python",
        *_train_command(tmp_path / "model"),
    ]
    done = subprocess.run(
        command,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads((tmp_path / "model" / RUN_CONFIG).read_text())
    assert saved["world_size"] == 2
    assert (tmp_path / "model" / "model.safetensors").is_file()


@pytest.mark.slow
def test_a_run_whose_weights_turn_nan_fails_loudly_and_is_not_saved_as_finished(
    examples, tmp_path, monkeypatch, tiny_bert
):
    def exploding(name):
        """A tiny BERT whose logits turn infinite from its second forward pass on."""
        net, calls = tiny_bert(), []

        def explode(module, inputs, output):
            calls.append(1)
            return output * float("inf") if len(calls) >= 2 else output

        net.qa_outputs.register_forward_hook(explode)
        return net

    monkeypatch.setattr("qa_utils.training.train.load_qa_model", exploding)
    output = tmp_path / "model"
    output.mkdir()
    profile = get_profile("smoke", **{**SMALL, "save_steps": 1})
    earlier = {"profile": profile_dict(get_profile("smoke")), "train_questions": 3}
    (output / RUN_CONFIG).write_text(json.dumps(earlier))  # another run's "finished" marker
    with pytest.raises(
        DivergenceError,
        match=r"training diverged at step 2: .*NaN or infinite "
        r"\(learning_rate 0.0001\); nothing in .* was saved as finished",
    ):
        train(profile, examples, output)  # fmt: skip
    assert not (output / RUN_CONFIG).exists() and not (output / "model.safetensors").exists()
    saved = sorted(p.name for p in (output / "checkpoints").glob("checkpoint-*"))
    assert saved == ["checkpoint-1"]  # the last finite weights; step 2's were never saved
    assert finished_run(output, profile, len(examples)) is None


@pytest.mark.parametrize("marker", ["", "{", '{"profile": {}}', "[]"])
def test_an_unreadable_finished_marker_vouches_for_nothing(tmp_path, marker):
    (tmp_path / RUN_CONFIG).write_text(marker)
    assert finished_run(tmp_path, get_profile("smoke"), 64) is None


def test_last_logged_loss_is_the_last_row_with_a_loss():
    history = pd.DataFrame({"step": [5, 10, 12], "loss": [3.0, 2.0, None]})
    assert last_logged_loss(history, mean_loss=2.5) == 2.0
    # A run shorter than one logging interval logged none: its whole run is its last interval.
    assert last_logged_loss(pd.DataFrame({"train_runtime": [1.0]}), mean_loss=4.2) == 4.2


def test_a_run_saved_with_final_loss_reads_it_as_the_mean(tmp_path):
    profile = get_profile("smoke", **SMALL)
    saved = {"profile": profile_dict(profile), "train_questions": 10, "train_windows": 11}
    (tmp_path / RUN_CONFIG).write_text(
        json.dumps({**saved, "train_seconds": 1.0, "final_loss": 3.0})
    )
    pd.DataFrame({"step": [5, 10], "loss": [4.0, 2.5]}).to_csv(tmp_path / HISTORY, index=False)
    done = finished_run(tmp_path, profile, 10)
    assert (done.mean_loss, done.last_loss) == (3.0, 2.5)


def test_random_init_is_part_of_what_makes_a_run():
    profile = get_profile("smoke", **SMALL)
    random_start = dataclasses.replace(profile, init="random")
    assert run_settings(profile, 10) != run_settings(random_start, 10)


def test_initial_model_follows_the_profile():
    profile = get_profile("smoke")
    name = "bert.encoder.layer.0.attention.self.query.weight"
    pretrained = initial_model(profile).state_dict()[name]
    random_start = initial_model(dataclasses.replace(profile, init="random")).state_dict()[name]
    assert pretrained.shape == random_start.shape and not torch.equal(pretrained, random_start)


class _TableInNotebook(TrainerCallback):
    """Stands for transformers' NotebookProgressCallback."""


def test_the_notebook_progress_table_is_removed(monkeypatch):
    import transformers.trainer as hf_trainer

    class Runner:
        def __init__(self):
            self.callbacks = [hf_trainer.DefaultFlowCallback, _TableInNotebook]

        def remove_callback(self, callback):
            self.callbacks.remove(callback)

    runner = Runner()
    monkeypatch.setattr(hf_trainer, "DEFAULT_PROGRESS_CALLBACK", hf_trainer.ProgressCallback)
    quiet_in_notebooks(runner)
    assert runner.callbacks == [hf_trainer.DefaultFlowCallback, _TableInNotebook]
    monkeypatch.setattr(hf_trainer, "DEFAULT_PROGRESS_CALLBACK", _TableInNotebook)
    quiet_in_notebooks(runner)
    assert runner.callbacks == [hf_trainer.DefaultFlowCallback]
