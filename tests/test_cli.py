"""The command line: user errors are one clear line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa_utils import cli
from qa_utils.core.model import load_tokenizer

FIXTURE = Path(__file__).parent / "fixtures" / "mini_squad.json"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "qa_utils", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _one_line_error(done: subprocess.CompletedProcess, expected: str) -> None:
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr
    assert expected in lines[-1], lines[-1]


@pytest.mark.slow
def test_help_lists_both_commands():
    done = _run("--help")
    assert done.returncode == 0
    assert "train" in done.stdout and "evaluate" in done.stdout


@pytest.mark.slow
def test_unknown_profile(tmp_path):
    done = _run("train", "--profile", "turbo", "--output", str(tmp_path))
    _one_line_error(done, "invalid choice: 'turbo'")


@pytest.mark.slow
def test_missing_model_path(tmp_path):
    done = _run(
        "evaluate",
        "--model",
        str(tmp_path / "no-model"),
        "--dev-file",
        str(FIXTURE),
        "--output",
        str(tmp_path / "eval"),
        "--profile",
        "smoke",
    )
    _one_line_error(done, f"model path {tmp_path / 'no-model'} does not exist")


@pytest.mark.slow
@pytest.mark.parametrize("size", ["0", "-3"])
def test_zero_or_negative_subset(tmp_path, size):
    done = _run(
        "train",
        "--profile",
        "smoke",
        "--train-file",
        str(FIXTURE),
        "--output",
        str(tmp_path),
        "--train-questions",
        size,
    )
    _one_line_error(
        done, f"train_questions must be a positive number of questions (or 'all'), got {size}"
    )


def test_model_without_fast_tokenizer(monkeypatch, capsys, tmp_path):
    class SlowTokenizer:
        is_fast = False

    monkeypatch.setattr(
        "qa_utils.core.model.AutoTokenizer.from_pretrained", lambda *a, **k: SlowTokenizer()
    )
    with pytest.raises(ValueError, match="SlowTokenizer is not a fast tokenizer"):
        load_tokenizer("embedded")
    code = cli.main(
        ["train", "--profile", "smoke", "--train-file", str(FIXTURE), "--output", str(tmp_path)]
    )
    assert code == 2
    assert "is not a fast tokenizer" in capsys.readouterr().err
