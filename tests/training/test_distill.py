"""Distillation: the student's layers, the soft and hard losses, and a same-budget comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from qa_utils.core.data import load_squad
from qa_utils.core.model import load_tokenizer
from qa_utils.project.config import get_profile
from qa_utils.training import distill


def labelled_batch(length: int = 24) -> dict[str, torch.Tensor]:
    """Two windows, the second half-padded, with gold start and end tokens."""
    ids = torch.randint(1000, 2000, (2, length), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, length // 2 :] = 0
    return {
        "input_ids": ids,
        "attention_mask": mask,
        "token_type_ids": torch.zeros_like(ids),
        "start_positions": torch.tensor([1, 2]),
        "end_positions": torch.tensor([3, 4]),
    }


def test_student_keeps_every_other_layer(model):
    student = distill.make_student(model)
    assert student.config.num_hidden_layers == 1
    assert len(model.bert.encoder.layer) == 2
    torch.testing.assert_close(
        student.bert.encoder.layer[0].output.dense.weight,
        model.bert.encoder.layer[0].output.dense.weight,
    )


def test_student_rejects_layers_the_teacher_lacks(model):
    with pytest.raises(ValueError, match=r"layers \[5\] must be indices of the teacher's 2"):
        distill.make_student(model, [5])


def test_soft_loss_is_zero_for_equal_logits_and_scales_with_t_squared():
    a, b = torch.randn(3, 10), torch.randn(3, 10)
    assert float(distill.soft_cross_entropy(a, a, 2.0)) == pytest.approx(0.0, abs=1e-6)
    hot = distill.soft_cross_entropy(a * 4, b * 4, 4.0)
    assert float(hot) == pytest.approx(16 * float(distill.soft_cross_entropy(a, b, 1.0)), rel=1e-4)


def test_soft_loss_ignores_padding(model, tiny_bert):
    batch = labelled_batch()
    with torch.no_grad():
        student, teacher = model(**batch), tiny_bert(seed=1)(**batch)
        before = distill.distillation_loss(student, teacher, batch, 2.0, alpha=1.0)
        teacher.start_logits[1, -1] += 50.0  # a padded position of the second window
        after = distill.distillation_loss(student, teacher, batch, 2.0, alpha=1.0)
    assert float(after) == pytest.approx(float(before), rel=1e-6)


def test_gold_loss_equals_the_model_loss_without_padding_and_alpha_zero_is_gold(model):
    batch = labelled_batch()
    batch["attention_mask"] = torch.ones_like(batch["input_ids"])
    with torch.no_grad():
        out = model(**batch)
        gold = distill.gold_loss(out, batch)
        mixed = distill.distillation_loss(out, out, batch, temperature=2.0, alpha=0.0)
    assert float(gold) == pytest.approx(float(out.loss), rel=1e-5)
    assert float(mixed) == pytest.approx(float(gold), rel=1e-6)


@pytest.mark.slow
def test_alpha_one_learns_from_the_teacher_alone(model, tiny_bert):
    batch = labelled_batch()
    moved = batch | {"start_positions": torch.tensor([5, 6]), "end_positions": torch.tensor([7, 8])}
    with torch.no_grad():
        student, teacher = model(**batch), tiny_bert(seed=1)(**batch)
        losses = [
            float(distill.distillation_loss(student, teacher, b, 2.0, alpha))
            for alpha in (1.0, 0.5)
            for b in (batch, moved)
        ]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)
    assert losses[2] != pytest.approx(losses[3], rel=1e-3)


@pytest.mark.slow
def test_distillation_trains_a_student_with_the_trainer(model, train_features, tmp_path):
    profile = get_profile("smoke", batch_size=4)
    student = distill.make_student(model)
    before = student.qa_outputs.weight.detach().clone()
    trained, seconds = distill.train_student(
        student,
        train_features,
        load_tokenizer("embedded"),
        profile,
        tmp_path,
        teacher=model,
        max_steps=2,
    )
    assert seconds > 0
    assert not torch.equal(before, trained.qa_outputs.weight)
    assert not (tmp_path / "checkpoints").exists() or not any(
        (tmp_path / "checkpoints").glob("checkpoint-*")
    )


@pytest.mark.slow
def test_compared_students_differ_only_by_the_loss(model, train_features, tmp_path):
    profile = get_profile("smoke", batch_size=4)
    tokenizer = load_tokenizer("embedded")

    def weights(alpha: float) -> list[torch.Tensor]:
        runs = distill.compare_students(
            model, train_features, tokenizer, profile, tmp_path, alpha=alpha, max_steps=2
        )
        assert list(runs) == ["student distilled", "student gold only"]
        return [runs[name][0].qa_outputs.weight for name in runs]

    # With no weight on the teacher both runs must be the same run: same data, order, steps.
    torch.testing.assert_close(*weights(alpha=0.0), rtol=0, atol=0)
    assert not torch.equal(*weights(alpha=distill.ALPHA))


@pytest.mark.slow
def test_repeated_comparison_draws_fresh_data_and_seeds_per_repetition(model, tmp_path):
    pool = load_squad(Path(__file__).parents[1] / "fixtures" / "mini_squad.json")
    profile = get_profile("smoke", batch_size=4, max_length=96, doc_stride=32, seed=5)
    scored = []

    def score(name, student):
        scored.append((name, student))
        return float(student.qa_outputs.weight.sum())

    table, first = distill.repeated_comparison(
        model, pool, load_tokenizer("embedded"), profile, tmp_path, 8, 2, score, max_steps=2
    )
    assert table["train_seed"].tolist() == [5, 6]
    assert table["data_seed"].tolist() == [6, 7]
    assert table["questions"].tolist() == [8, 8]
    assert table["gain"].tolist() == (table["distilled_f1"] - table["gold_only_f1"]).tolist()
    assert [name for name, _ in scored] == ["student distilled", "student gold only"] * 2
    assert first["student distilled"] is scored[0][1]
    assert first["student gold only"] is scored[1][1]
    # Other data and another seed: the two repetitions train different students.
    assert table["distilled_f1"].nunique() == 2
    summary = distill.gain_summary(table)
    assert summary["repeats"] == 2
    assert summary["min"] <= summary["mean"] <= summary["max"]
    with pytest.raises(ValueError, match="repeats"):
        distill.repeated_comparison(
            model, pool, load_tokenizer("embedded"), profile, tmp_path, 8, 0, score
        )
