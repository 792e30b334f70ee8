"""Knowledge distillation for span prediction: a shallower student learns the teacher's soft spans.

Loss (Hinton et al. 2015, as in DistilBERT's SQuAD recipe): for start and end separately,
alpha * KL(softmax(teacher / T) || softmax(student / T)) * T^2 + (1 - alpha) * cross-entropy
against the gold token positions. The T^2 keeps the soft term's gradients on the same scale
as the hard term's whatever the temperature.

The defaults, T = 1 and alpha = 1 (the teacher's spans alone), were first chosen from
side-by-side runs on the dev set, before the validation split existed; they were re-checked on
the validation split with `python -m benchmarks.distillation --model runs/quick/model
--select-on validation --temperature 1,2 --alpha 0.5,1 --sizes 2000 --repeats 1 --out
runs/distill-select`, whose `distillation_sizes.csv`, copied to
`benchmarks/reference/distillation_selection.csv`, is the committed record (the README and
notebook 05 render what it found; no figure is typed here). With little data a whole
distribution over positions can teach more than one gold token, and T = 1 keeps its mass on the
few plausible spans instead of spreading it over 384. The quick model never trained on the
validation articles (`qa_utils train` draws from the articles outside `split_validation`); a
teacher fine-tuned elsewhere may have, and the students, which start from its layers, would
carry that in. Students train with the profile's settings, learning rate included.

One pair of students is one sample: the gold-only student alone moves from one draw of data
and seed to the next (its `gold_only_f1` in benchmarks/reference/distillation.csv). Hence
`repeated_comparison`, which repeats the pair on fresh draws and seeds and reports every gain
(`python -m benchmarks.distillation`: three pairs per size; the committed `distillation.csv`
holds them).
"""

from __future__ import annotations

import copy
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from datasets import Dataset
from torch import nn
from transformers import DataCollatorWithPadding, PreTrainedModel, Trainer
from transformers.tokenization_utils_base import PreTrainedTokenizerBase
from transformers.trainer_callback import PrinterCallback
from transformers.trainer_utils import SaveStrategy

from qa_utils.core.data import subset
from qa_utils.core.features import build_train_features
from qa_utils.project.config import Profile
from qa_utils.project.seed import set_seed
from qa_utils.training.train import training_arguments

MASKED_LOGIT = -1e4

TEMPERATURE = 1.0  # see the module docstring for the measurements behind both defaults

ALPHA = 1.0


def make_student(teacher: PreTrainedModel, layers: list[int] | None = None) -> PreTrainedModel:
    """A copy of the teacher that keeps only some encoder layers (default: every other one).

    Args:
        teacher: a BERT-family span-prediction model (left unchanged).
        layers: indices of the teacher layers to keep, in order; default 0, 2, 4, ...
    """
    student = copy.deepcopy(teacher)
    encoder = student.base_model.encoder
    n_layers = len(encoder.layer)
    keep = list(range(0, n_layers, 2)) if layers is None else list(layers)
    if not keep or any(not 0 <= i < n_layers for i in keep):
        raise ValueError(f"layers {keep} must be indices of the teacher's {n_layers} layers")
    encoder.layer = nn.ModuleList(encoder.layer[i] for i in keep)
    student.config.num_hidden_layers = len(keep)
    return student


def soft_cross_entropy(
    student: torch.Tensor, teacher: torch.Tensor, temperature: float
) -> torch.Tensor:
    """KL(teacher || student) over positions at temperature T, times T^2, averaged over rows."""
    log_student = F.log_softmax(student / temperature, dim=-1)
    log_teacher = F.log_softmax(teacher / temperature, dim=-1)
    kl = F.kl_div(log_student, log_teacher, log_target=True, reduction="batchmean")
    return kl * temperature**2


def gold_loss(student: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Cross-entropy of the gold start and end tokens, padding masked out, averaged."""
    mask = batch["attention_mask"] == 0
    losses = [
        F.cross_entropy(getattr(student, side).masked_fill(mask, MASKED_LOGIT), batch[gold])
        for side, gold in (("start_logits", "start_positions"), ("end_logits", "end_positions"))
    ]
    return (losses[0] + losses[1]) / 2


def distillation_loss(
    student: Any, teacher: Any, batch: dict[str, torch.Tensor], temperature: float, alpha: float
) -> torch.Tensor:
    """alpha * soft loss (T^2-scaled KL to the teacher) + (1 - alpha) * `gold_loss`."""
    mask = batch["attention_mask"] == 0
    soft = [
        soft_cross_entropy(
            getattr(student, side).masked_fill(mask, MASKED_LOGIT),
            getattr(teacher, side).masked_fill(mask, MASKED_LOGIT),
            temperature,
        )
        for side in ("start_logits", "end_logits")
    ]
    return alpha * (soft[0] + soft[1]) / 2 + (1 - alpha) * gold_loss(student, batch)


class DistillationTrainer(Trainer):
    """A Trainer whose loss mixes the teacher's softened spans with the gold labels.

    With `teacher=None` it trains on the gold labels alone (`gold_loss`, the same hard term),
    so the baseline student goes through exactly the same loop, data order and budget.
    """

    def __init__(
        self,
        *args: Any,
        teacher: PreTrainedModel | None = None,
        temperature: float = TEMPERATURE,
        alpha: float = ALPHA,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.teacher = teacher.to(self.args.device).eval() if teacher is not None else None
        self.temperature = temperature
        self.alpha = alpha

    def compute_loss(
        self,
        model: nn.Module,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        """Distillation loss with a teacher, the gold-label loss without one."""
        features = {k: v for k, v in inputs.items() if not k.endswith("_positions")}
        outputs = model(**features)
        if self.teacher is None:
            loss = gold_loss(outputs, inputs)
        else:
            with torch.no_grad():
                teacher_out = self.teacher(**features)
            loss = distillation_loss(outputs, teacher_out, inputs, self.temperature, self.alpha)
        return (loss, outputs) if return_outputs else loss


def train_student(
    student: PreTrainedModel,
    features: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    profile: Profile,
    output_dir: str | Path,
    teacher: PreTrainedModel | None = None,
    temperature: float = TEMPERATURE,
    alpha: float = ALPHA,
    max_steps: int = -1,
) -> tuple[PreTrainedModel, float]:
    """Train a student in place with the settings of `training.train`; writes no checkpoints.

    Without a teacher the loss is `gold_loss`; with one, `distillation_loss` at `temperature`
    and `alpha` (defaults: the module's measured best, `TEMPERATURE` and `ALPHA`).

    Returns:
        The trained student and the training wall time in seconds.
    """
    set_seed(profile.seed)
    args = training_arguments(profile, Path(output_dir))
    args.save_strategy = SaveStrategy.NO
    args.max_steps = max_steps
    args.disable_tqdm = True
    trainer = DistillationTrainer(
        model=student,
        args=args,
        train_dataset=features,
        data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=8),
        processing_class=tokenizer,
        teacher=teacher,
        temperature=temperature,
        alpha=alpha,
    )
    # Without a progress bar, Trainer prints every log line instead; the students stay quiet.
    trainer.remove_callback(PrinterCallback)
    started = time.perf_counter()
    trainer.train()
    return student.eval(), time.perf_counter() - started


def compare_students(
    teacher: PreTrainedModel,
    features: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    profile: Profile,
    output_dir: str | Path,
    temperature: float = TEMPERATURE,
    alpha: float = ALPHA,
    max_steps: int = -1,
) -> dict[str, tuple[PreTrainedModel, float]]:
    """Train the same student twice, same data and budget: with the teacher and without it.

    Returns:
        {"student distilled": (model, seconds), "student gold only": (model, seconds)}.
    """
    runs = {"student distilled": teacher, "student gold only": None}
    return {
        name: train_student(
            make_student(teacher),
            features,
            tokenizer,
            profile,
            output_dir,
            guide,
            temperature,
            alpha,
            max_steps,
        )
        for name, guide in runs.items()
    }


def repeated_comparison(
    teacher: PreTrainedModel,
    pool: Dataset,
    tokenizer: PreTrainedTokenizerBase,
    profile: Profile,
    output_dir: str | Path,
    questions: int,
    repeats: int,
    score: Callable[[str, PreTrainedModel], float],
    temperature: float = TEMPERATURE,
    alpha: float = ALPHA,
    max_steps: int = -1,
) -> tuple[pd.DataFrame, dict[str, PreTrainedModel]]:
    """`compare_students` `repeats` times, each on its own draw of data and its own seed.

    One pair of students is one sample: with a few thousand questions the gold-only student
    alone moves by more than a point from seed to seed, so a gain is only worth quoting as a
    mean over independent repetitions. Repetition r trains both students on `questions`
    questions drawn from `pool` with seed `profile.seed + 1 + r` (r = 0 is the draw a single
    comparison makes) and trains with seed `profile.seed + r`.

    Args:
        score: F1 of a trained student, given its name and model (e.g. on dev questions).

    Returns:
        One row per repetition (seeds, windows, both F1s, `gain` = distilled - gold only,
        training seconds) and the first repetition's two students, by name.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    rows, first = [], {}
    for r in range(repeats):
        data_seed = profile.seed + 1 + r
        draw = subset(pool, questions, data_seed)
        features = build_train_features(draw, tokenizer, profile.max_length, profile.doc_stride)
        seeded = dataclasses.replace(profile, seed=profile.seed + r)
        pair = compare_students(
            teacher, features, tokenizer, seeded, output_dir, temperature, alpha, max_steps
        )
        row: dict[str, Any] = {
            "repetition": r,
            "train_seed": seeded.seed,
            "data_seed": data_seed,
            "questions": len(draw),
            "windows": len(features),
        }
        for name, (student, seconds) in pair.items():
            key = name.removeprefix("student ").replace(" ", "_")
            row[f"{key}_f1"] = score(name, student)
            row[f"{key}_s"] = seconds
        row["gain"] = row["distilled_f1"] - row["gold_only_f1"]
        rows.append(row)
        first = first or {name: student for name, (student, _) in pair.items()}
    return pd.DataFrame(rows), first


def gain_summary(comparison: pd.DataFrame) -> dict[str, float]:
    """Mean, standard deviation, smallest and largest F1 gain over the repetitions."""
    gain = comparison["gain"]
    return {
        "repeats": len(gain),
        "mean": float(gain.mean()),
        "sd": float(gain.std(ddof=1)) if len(gain) > 1 else 0.0,
        "min": float(gain.min()),
        "max": float(gain.max()),
    }
