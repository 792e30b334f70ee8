"""Fine-tune a span-prediction model with transformers' Trainer.

The same entry point runs on one CPU, one GPU, or several processes under `torchrun` /
`accelerate launch`: Trainer reads the distributed environment itself.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from datasets import Dataset
from transformers import (
    DataCollatorWithPadding,
    Trainer,
    TrainerCallback,
    TrainerControl,
    TrainerState,
    TrainingArguments,
    trainer,
)

from qa_utils.core.data import split_validation, subset
from qa_utils.core.features import build_train_features, check_settings
from qa_utils.core.model import (
    load_qa_model,
    load_tokenizer,
    random_qa_model,
    save_inference_settings,
)
from qa_utils.project.config import RUN_CONFIG, Profile, profile_dict, training_settings
from qa_utils.project.io import atomic_write_json, atomic_write_table
from qa_utils.project.seed import set_seed

CHECKPOINTS = "checkpoints"

CHECKPOINT_SETTINGS = "run_settings.json"  # in CHECKPOINTS: the settings that wrote them

HISTORY = "train_history.csv"


class DivergenceError(ValueError):
    """Training made the loss or the weights NaN or infinite; nothing was saved as finished."""


def training_questions(pool: Dataset, profile: Profile) -> Dataset:
    """The profile's training questions: its draw from the articles outside the validation split.

    The validation articles (`qa_utils.core.data.split_validation`) are never trained on: every
    tuning choice is made on them, and the dev set is kept for the final report.
    """
    part, _ = split_validation(pool)
    if not profile.train_questions:
        return part
    return subset(part, profile.train_questions, profile.seed)


def weights_finite(model: torch.nn.Module) -> bool:
    """Whether every weight of `model` is a finite number."""
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


class StopOnNonFinite(TrainerCallback):
    """Stop at the first step that leaves non-finite weights, before a checkpoint saves them."""

    def __init__(self) -> None:
        self.step: int | None = None

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Check the weights after each optimizer step; stop and skip saving once they break."""
        model = kwargs.get("model")
        if self.step is None and model is not None and not weights_finite(model):
            self.step = state.global_step
        return self.on_epoch_end(args, state, control)

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> TrainerControl:
        """Keep a diverged run from saving a checkpoint at the end of an epoch too."""
        if self.step is not None:
            control.should_training_stop = True
            control.should_save = False
        return control


@dataclass(frozen=True)
class TrainResult:
    """Where the model went, what training cost and where its loss ended.

    Attributes:
        mean_loss: the training loss averaged over every step of the run (Trainer's
            `training_loss`): it includes the high losses of the first steps.
        last_loss: the last logged loss (the mean of the last `LOGGING_STEPS` steps): where
            the loss ended.
    """

    model_dir: Path
    train_seconds: float
    train_questions: int
    train_windows: int
    mean_loss: float
    last_loss: float


LOGGING_STEPS = 5
"""Optimizer steps per row of the training history (each row holds their mean loss)."""


def initial_model(profile: Profile) -> torch.nn.Module:
    """The model training starts from: `profile.model`'s weights, or its architecture at random."""
    if profile.init == "random":
        return random_qa_model(profile.model, profile.seed)
    return load_qa_model(profile.model)


def last_logged_loss(history: pd.DataFrame, mean_loss: float) -> float:
    """The last training loss in a run's history (`HISTORY`).

    A run shorter than `LOGGING_STEPS` logs no loss: its only interval is the whole run, whose
    mean is `mean_loss`.
    """
    losses = history["loss"].dropna() if "loss" in history else pd.Series(dtype=float)
    return float(losses.iloc[-1]) if len(losses) else mean_loss


def training_arguments(profile: Profile, output_dir: Path) -> TrainingArguments:
    """Trainer settings from a profile: dynamic padding + length grouping, seeded, checkpointed."""
    distributed_cpu = int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()
    return TrainingArguments(
        output_dir=str(output_dir / CHECKPOINTS),
        per_device_train_batch_size=profile.batch_size,
        num_train_epochs=profile.epochs,
        learning_rate=profile.learning_rate,
        weight_decay=profile.weight_decay,
        warmup_steps=profile.warmup_ratio,
        lr_scheduler_type="linear",
        bf16=profile.bf16 and torch.cuda.is_available(),
        train_sampling_strategy="group_by_length",
        logging_steps=LOGGING_STEPS,
        save_strategy="steps",
        save_steps=profile.save_steps,
        save_total_limit=2,
        seed=profile.seed,
        data_seed=profile.seed,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        ddp_backend="gloo" if distributed_cpu else None,
        disable_tqdm=False,
        # Log NaN/inf losses as they are (the default replaces them with the running mean, and
        # a diverged run then reports a finite final loss).
        logging_nan_inf_filter=False,
    )


def last_complete_checkpoint(folder: Path) -> str | None:
    """The newest checkpoint that was written to the end, or None.

    Trainer does not write checkpoints atomically: a run killed while saving leaves a folder
    whose trainer_state.json is empty or missing, and resuming from it would fail.
    """
    steps = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    for checkpoint in reversed(steps):
        try:
            json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (checkpoint / "model.safetensors").is_file():
            return str(checkpoint)
    return None


def run_settings(profile: Profile | dict[str, Any], n_questions: int) -> dict[str, Any]:
    """What makes two training runs the same run: the training settings and the data size.

    Compared as read back from JSON, since finished runs and checkpoints store it there.
    """
    return json.loads(
        json.dumps({"training": training_settings(profile), "train_questions": n_questions})
    )


def resumable_checkpoint(folder: Path, settings: dict[str, Any]) -> str | None:
    """The last complete checkpoint in `folder` if a run with the same `settings` wrote it.

    `settings` is JSON-like, as `run_settings` gives it.

    Checkpoints of a run with other settings (or unknown ones) are moved aside to
    `<folder>-replaced`, so a new run neither resumes from them (the optimizer, schedule and
    data position of another run) nor mixes its own checkpoints with theirs. Only the main
    process moves files; every process decides the same way.
    """
    marker = folder / CHECKPOINT_SETTINGS
    stale = folder.is_dir() and any(folder.glob("checkpoint-*"))
    if stale and marker.is_file():
        stale = json.loads(marker.read_text(encoding="utf-8")) != settings
    main_process = int(os.environ.get("RANK", "0")) == 0
    if stale and main_process:
        aside = folder.with_name(folder.name + "-replaced")
        if aside.exists():
            shutil.rmtree(aside)
        folder.rename(aside)
        warnings.warn(f"checkpoints of a run with other settings moved to {aside}", stacklevel=2)
    if main_process:
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_json(marker, settings)
    return None if stale else last_complete_checkpoint(folder)


def logged_steps(runner: Trainer) -> list[dict[str, Any]]:
    """The rows of a run's loss / learning-rate log (and its closing runtime row)."""
    return [r for r in runner.state.log_history if "loss" in r or "train_runtime" in r]


def quiet_in_notebooks(runner: Trainer) -> None:
    """Drop the HTML table of every logged step that Trainer draws inside a notebook.

    The same log is written to `HISTORY` beside the model; on a terminal the tqdm bar stays.
    """
    if trainer.DEFAULT_PROGRESS_CALLBACK is not trainer.ProgressCallback:
        runner.remove_callback(trainer.DEFAULT_PROGRESS_CALLBACK)


def train(
    profile: Profile, examples: Dataset, output_dir: str | Path, resume: bool = True
) -> TrainResult:
    """Fine-tune `profile.model` on `examples` and save model, tokenizer, history and config.

    Args:
        profile: the run's settings.
        examples: SQuAD-format training examples.
        output_dir: the model folder; checkpoints go under `output_dir/checkpoints`.
        resume: continue from the last checkpoint in `output_dir` if there is one.
    """
    output_dir = Path(output_dir)
    finished = finished_run(output_dir, profile, len(examples))
    if finished is not None:
        return finished
    if int(os.environ.get("RANK", "0")) == 0:
        # An earlier run's marker must not vouch for weights this run is about to replace.
        (output_dir / RUN_CONFIG).unlink(missing_ok=True)
    check_settings(profile.max_length, profile.doc_stride)
    set_seed(profile.seed)
    if profile.threads:
        torch.set_num_threads(profile.threads)
    tokenizer = load_tokenizer(profile.model)
    features = build_train_features(examples, tokenizer, profile.max_length, profile.doc_stride)
    guard = StopOnNonFinite()
    runner = Trainer(
        model=initial_model(profile),
        args=training_arguments(profile, output_dir),
        train_dataset=features,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8),
        processing_class=tokenizer,
        callbacks=[guard],
    )
    quiet_in_notebooks(runner)
    last = resumable_checkpoint(output_dir / CHECKPOINTS, run_settings(profile, len(examples)))
    if not resume:
        last = None
    started = time.perf_counter()
    output = runner.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - started
    check_converged(guard, output.training_loss, profile, output_dir)
    runner.save_model(str(output_dir))
    history = pd.DataFrame(logged_steps(runner))
    result = TrainResult(
        output_dir,
        seconds,
        len(examples),
        len(features),
        output.training_loss,
        last_logged_loss(history, output.training_loss),
    )
    if runner.is_world_process_zero():
        save_inference_settings(profile.inference, output_dir)
        atomic_write_table(output_dir / HISTORY, history)
        atomic_write_json(
            output_dir / RUN_CONFIG,
            {
                "profile": profile_dict(profile),
                "train_questions": len(examples),
                "train_windows": len(features),
                "train_seconds": seconds,
                "resumed_from": last,
                "mean_loss": result.mean_loss,
                "last_loss": result.last_loss,
                "world_size": runner.args.world_size,
            },
        )
    return result


def check_converged(guard: StopOnNonFinite, loss: float, profile: Profile, folder: Path) -> None:
    """Raise `DivergenceError` when the weights or the loss stopped being finite numbers."""
    if guard.step is None and math.isfinite(loss):
        return
    when = f"at step {guard.step}" if guard.step is not None else "by the end"
    raise DivergenceError(
        f"training diverged {when}: the loss or the weights became NaN or infinite "
        f"(learning_rate {profile.learning_rate:g}); nothing in {folder} was saved as "
        "finished; lower --learning-rate"
    )


def load_run_config(model_dir: str | Path) -> dict:
    """The configuration a saved model was trained with."""
    return json.loads((Path(model_dir) / RUN_CONFIG).read_text(encoding="utf-8"))


def finished_run(model_dir: Path, profile: Profile, n_questions: int) -> TrainResult | None:
    """The result of an earlier, completed run with the same settings, if there is one.

    Re-running a notebook or an interrupted `make run` then reuses the model instead of
    training again; any change of a training setting trains anew (evaluation-only fields such
    as `eval_batch_size` do not count).
    """
    if not (model_dir / RUN_CONFIG).is_file():
        return None
    try:
        done = load_run_config(model_dir)
        same = run_settings(done["profile"], done["train_questions"]) == run_settings(
            profile, n_questions
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # an unreadable marker vouches for nothing: train anew
    if not same:
        return None
    # Runs saved before the two losses were told apart wrote the mean as "final_loss".
    mean_loss = done.get("mean_loss", done.get("final_loss", math.nan))
    last_loss = done.get("last_loss")
    if last_loss is None:
        history = model_dir / HISTORY
        saved = pd.read_csv(history) if history.is_file() else pd.DataFrame()
        last_loss = last_logged_loss(saved, mean_loss)
    return TrainResult(
        model_dir, done["train_seconds"], n_questions, done["train_windows"], mean_loss, last_loss
    )
