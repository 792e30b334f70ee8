"""The command line: every expected failure is one line on stderr and status 2, never a traceback.

`BAD_ARGUMENTS` runs every command with bad arguments in-process (`qa_utils.cli.main`); those
marked `EARLY` must fail before a model's weights load or a dataset is read, which the test
enforces by making both impossible. A few cases also run as real subprocesses (slow).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch

from qa_utils import cli
from qa_utils.core.data import MAX_CONTEXT_CHARS
from qa_utils.core.model import embedded_model_path, load_tokenizer
from qa_utils.serving.app import ServiceLimits, max_body_bytes

FIXTURES = Path(__file__).parent / "fixtures"
FIXTURE = FIXTURES / "mini_squad.json"
PREDICTIONS = FIXTURES / "analysis_predictions.json"
ANALYSIS_SQUAD = FIXTURES / "analysis_squad.json"


def squad(context: str = "Velmora is on the Grell Sea.", question: str = "Where?") -> dict:
    """A one-question SQuAD file whose answer is the context's first word."""
    qa = {"id": "q1", "question": question, "answers": [{"text": context[:3], "answer_start": 0}]}
    return {"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [qa]}]}]}


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> dict[str, Path]:
    """Files and folders that are wrong in every way a user can make them wrong."""
    root = tmp_path_factory.mktemp("bad")
    paths = {"a_file": root / "a_file.txt"}
    paths["a_file"].write_text("not a folder")
    empty_qas = squad()
    empty_qas["data"][0]["paragraphs"][0]["qas"] = []
    for name, data in {
        "one_question": squad(),
        "empty": {"data": []},
        "empty_qas": empty_qas,
        "long_context": squad("Velmora " * (MAX_CONTEXT_CHARS // 8 + 1)),
        "surrogate": squad("Velmora \ud800 is on the sea."),
        "surrogate_predictions": {"q1": "Vel\udc80"},
        "predictions": {"q1": "Velmora"},
    }.items():
        paths[name] = root / f"{name}.json"
        paths[name].write_text(json.dumps(data))  # ASCII escapes carry the lone surrogates
    paths["foreign"] = root / "foreign"
    paths["foreign"].mkdir()
    (paths["foreign"] / "thesis.tex").write_text("not ours to replace")
    paths["truncated"] = root / "truncated"
    paths["truncated"].mkdir()
    source = embedded_model_path()
    shutil.copy(source / "config.json", paths["truncated"])
    with (source / "model.safetensors").open("rb") as weights:  # the header and a little more
        (paths["truncated"] / "model.safetensors").write_bytes(weights.read(2**20))
    ids = list(json.loads(PREDICTIONS.read_text()))
    for name, confidence in (("confidence_text", "high"), ("confidence_big", 7.5)):
        paths[name] = root / f"{name}.parquet"
        records = {"id": ids, "prediction": ["x"] * len(ids), "confidence": [confidence] * len(ids)}
        pd.DataFrame(records).to_parquet(paths[name])
    paths["no_notebooks"] = root / "run"
    (paths["no_notebooks"] / "notebooks").mkdir(parents=True)
    paths["broken_notebook"] = root / "run2"
    (paths["broken_notebook"] / "notebooks").mkdir(parents=True)
    (paths["broken_notebook"] / "notebooks" / "01_x.ipynb").write_text("{not a notebook")
    return paths


EARLY = True  # fails before any model weights load or any dataset is read
LATE = False  # only reading the data shows the problem (the model is still never loaded)

PREFIXES = {
    "TRAIN": "train --profile smoke --train-file {FIXTURE} --output",
    "EVALUATE": "evaluate --model embedded --profile smoke --dev-file",
    "ANALYSE": "analyse {ANALYSIS_SQUAD} {PREDICTIONS} --no-spacy --out",
    "SERVE": "serve --model embedded",
}
# A command line (split like a shell's; {NAMES} are `PREFIXES`, `bad` and {tmp}, {busy_port}),
# the text expected in the one line of stderr, and whether it must fail before any loading.
BAD_ARGUMENTS = {
    # train: ranges and finiteness of every setting, the output folder, the data, the model
    "train lr inf": (
        "{TRAIN} '{tmp}/m' --learning-rate inf",
        "learning_rate must be a finite",
        EARLY,
    ),
    "train lr nan": (
        "{TRAIN} '{tmp}/m' --learning-rate nan",
        "learning_rate must be a finite",
        EARLY,
    ),
    "train lr > 1": ("{TRAIN} '{tmp}/m' --learning-rate 5", "learning_rate must be above 0", EARLY),
    "train epochs 0": ("{TRAIN} '{tmp}/m' --epochs 0", "epochs must be above 0", EARLY),
    "train seed": ("{TRAIN} '{tmp}/m' --seed -1", "seed must be at least 0", EARLY),
    "train threads": ("{TRAIN} '{tmp}/m' --threads -4", "threads must be at least 0", EARLY),
    "train warmup": ("{TRAIN} '{tmp}/m' --warmup-ratio 2", "warmup_ratio must be", EARLY),
    "train questions text": (
        "{TRAIN} '{tmp}/m' --dev-questions some",
        "expected a number of questions or 'all', got 'some'",
        EARLY,
    ),
    "train int": ("{TRAIN} '{tmp}/m' --batch-size many", "invalid int value: 'many'", EARLY),
    "train bool": ("{TRAIN} '{tmp}/m' --bf16 maybe", "expected true/false", EARLY),
    "train questions": ("{TRAIN} '{tmp}/m' --train-questions 0", "train_questions must be", EARLY),
    "train max length": (
        "{TRAIN} '{tmp}/m' --max-length 600",
        "max_length=600 is longer than model embedded",
        EARLY,
    ),
    "train output empty": ('{TRAIN} ""', "--output is empty", EARLY),
    "train output file": ("{TRAIN} '{a_file}'", "is a file, not a folder", EARLY),
    "train no data file": (
        "train --train-file '{tmp}/none.json' --output '{tmp}/m'",
        "--train-file {tmp}/none.json: no such file",
        EARLY,
    ),
    "train profile": ("{TRAIN} '{tmp}/m' --profile turbo", "invalid choice: 'turbo'", EARLY),
    "train empty data": (
        "train --profile smoke --train-file '{empty_qas}' --output '{tmp}/m'",
        "holds no questions (1 paragraphs, all with empty qas)",
        LATE,
    ),
    # evaluate: the model folder, the output folder, the data
    "evaluate no model": (
        "evaluate --model '{tmp}/none' --output '{tmp}/e'",
        "model path {tmp}/none does not exist",
        EARLY,
    ),
    "evaluate truncated model": (
        "evaluate --model '{truncated}' --dev-file '{FIXTURE}' --output '{tmp}/e'",
        "model.safetensors: not a complete weights file",
        EARLY,
    ),
    "evaluate output file": (
        "{EVALUATE} '{FIXTURE}' --output '{a_file}'",
        "is a file, not a folder",
        EARLY,
    ),
    "evaluate output foreign": (
        "{EVALUATE} '{FIXTURE}' --output '{foreign}'",
        "holds files that are not results of this command (thesis.tex)",
        EARLY,
    ),
    "evaluate output empty": ("{EVALUATE} '{FIXTURE}' --output ''", "--output is empty", EARLY),
    "evaluate unknown set": (
        "{EVALUATE} squadshifts/nyt --output '{tmp}/e'",
        "--dev-file squadshifts/nyt: no such file, nor a known evaluation set",
        EARLY,
    ),
    "evaluate max length": (
        "{EVALUATE} '{FIXTURE}' --output '{tmp}/e' --max-length 513",
        "max_length=513 is longer",
        EARLY,
    ),
    "evaluate dev questions": (
        "{EVALUATE} '{FIXTURE}' --output '{tmp}/e' --dev-questions -1",
        "dev_questions must be a positive",
        EARLY,
    ),
    "evaluate stride": (
        "{EVALUATE} '{FIXTURE}' --output '{tmp}/e' --doc-stride 192",
        "doc_stride must be between 0 and max_length (192)",
        EARLY,
    ),
    "evaluate window room": (
        "{EVALUATE} '{FIXTURE}' --output '{tmp}/e' --max-length 100 --doc-stride 90",
        "doc_stride=90 must be positive and smaller than the context room of a window (47",
        EARLY,
    ),
    "evaluate empty data": (
        "{EVALUATE} '{empty}' --output '{tmp}/e'",
        "data: holds no questions (no articles)",
        LATE,
    ),
    "evaluate long context": (
        "{EVALUATE} '{long_context}' --output '{tmp}/e'",
        "data[0].paragraphs[0].context: has 100,008 characters; the limit is 100,000",
        LATE,
    ),
    "evaluate surrogate": (
        "{EVALUATE} '{surrogate}' --output '{tmp}/e'",
        "context: holds a lone surrogate (U+D800)",
        LATE,
    ),
    # score
    "score no dataset": (
        "score '{tmp}/none.json' '{PREDICTIONS}'",
        "dataset_file {tmp}/none.json: no such file",
        EARLY,
    ),
    "score folder": ("score '{FIXTURE}' '{foreign}'", "a folder, not a file", EARLY),
    "score empty": ("score '{empty}' '{predictions}'", "holds no questions", LATE),
    "score surrogate": (
        "score '{one_question}' '{surrogate_predictions}'",
        "answer holds a lone surrogate (U+DC80)",
        LATE,
    ),
    # analyse
    "analyse bootstrap 0": (
        "{ANALYSE} '{tmp}/a' --bootstrap 0",
        "argument --bootstrap: must be from 1 to 1000000, got 0",
        EARLY,
    ),
    "analyse seed": (
        "{ANALYSE} '{tmp}/a' --seed 4294967296",
        "argument --seed: must be from 0 to 4294967295",
        EARLY,
    ),
    "analyse rare k": (
        "{ANALYSE} '{tmp}/a' --rare-k -1",
        "argument --rare-k: must be from 0",
        EARLY,
    ),
    "analyse out file": ("{ANALYSE} '{a_file}'", "--out {a_file} is a file", EARLY),
    "analyse records": (
        "{ANALYSE} '{tmp}/a' --records '{tmp}/none.parquet'",
        "--records {tmp}/none.parquet: no such file",
        EARLY,
    ),
    "analyse surrogate": (
        "analyse '{ANALYSIS_SQUAD}' '{surrogate_predictions}' --out '{tmp}/a'",
        "answer holds a lone surrogate",
        LATE,
    ),
    "analyse confidence text": (
        "{ANALYSE} '{tmp}/a' --records '{confidence_text}'",
        "confidence_text.parquet: row 0: confidence 'high' is not a number in [0, 1]",
        LATE,
    ),
    "analyse confidence range": (
        "{ANALYSE} '{tmp}/a' --records '{confidence_big}'",
        "row 0: confidence 7.5 is not a number in [0, 1]",
        LATE,
    ),
    "analyse empty": (
        "analyse '{empty_qas}' '{PREDICTIONS}' --out '{tmp}/a'",
        "holds no questions",
        LATE,
    ),
    # explore: the same checks as analyse, before any work
    "explore bootstrap 0": (
        "explore '{ANALYSIS_SQUAD}' '{PREDICTIONS}' --out '{tmp}/x' --bootstrap 0",
        "argument --bootstrap: must be from 1",
        EARLY,
    ),
    "explore no predictions": (
        "explore '{ANALYSIS_SQUAD}' '{tmp}/none.json' --out '{tmp}/x'",
        "predictions {tmp}/none.json: no such file",
        EARLY,
    ),
    "explore out file": (
        "explore '{ANALYSIS_SQUAD}' '{PREDICTIONS}' --out '{a_file}'",
        "--out {a_file} is a file",
        EARLY,
    ),
    # serve: every bound, the address, the model
    "serve port": (
        "{SERVE} --port 70000",
        "argument --port: must be from 0 to 65535, got 70000",
        EARLY,
    ),
    "serve queue": ("{SERVE} --max-queue -1", "argument --max-queue: must be from 0", EARLY),
    "serve concurrency": (
        "{SERVE} --max-concurrency 0",
        "argument --max-concurrency: must be from 1",
        EARLY,
    ),
    "serve tokens": (
        "{SERVE} --max-context-tokens 0",
        "argument --max-context-tokens: must be from 1",
        EARLY,
    ),
    "serve threads": ("{SERVE} --threads -1", "argument --threads: must be from 0", EARLY),
    "serve grace inf": (
        "{SERVE} --graceful-timeout inf",
        "must be a finite number of seconds",
        EARLY,
    ),
    "serve grace nan": (
        "{SERVE} --graceful-timeout nan",
        "must be a finite number of seconds",
        EARLY,
    ),
    "serve timeout 0": (
        "{SERVE} --request-timeout 0",
        "request_timeout_s must be a positive number",
        EARLY,
    ),
    "serve host": ("{SERVE} --host ' '", "--host is empty", EARLY),
    "serve bad host": (
        "{SERVE} --host no.such.host.invalid",
        "cannot listen on no.such.host.invalid",
        EARLY,
    ),
    "serve port taken": (
        "{SERVE} --port '{busy_port}'",
        "cannot listen on 127.0.0.1:{busy_port} (Address already in use)",
        EARLY,
    ),
    "serve no model": (
        "serve --model '{tmp}/none'",
        "model folder {tmp}/none does not exist",
        EARLY,
    ),
    "serve truncated": ("serve --model '{truncated}'", "not a complete weights file", EARLY),
    "serve factory": ("serve --model no_such_module:make", "cannot import no_such_module", EARLY),
    # run and publish
    "run only": (
        "run --profile smoke --only 01 99",
        "--only 99: no such notebook (have 01, 02, 03, 04, 05, 06, 07)",
        EARLY,
    ),
    "run parameter": ("run --profile smoke -p EPOCHS", "expected KEY=VALUE, got 'EPOCHS'", EARLY),
    "run parameter name": (
        "run --profile smoke -p 1X=2",
        "'1X' is not a notebook parameter name",
        EARLY,
    ),
    "run dir file": (
        "run --profile smoke --run-dir '{a_file}'",
        "--run-dir {a_file} is a file",
        EARLY,
    ),
    "publish none": ("publish '{tmp}/none'", "run_dir {tmp}/none: no such folder", EARLY),
    "publish empty": ("publish '{no_notebooks}'", "no executed notebooks under notebooks/", EARLY),
    "publish target": (
        "publish '{broken_notebook}' --target '{a_file}'",
        "--target {a_file} is a file",
        EARLY,
    ),
    "publish broken": (
        "publish '{broken_notebook}' --target '{tmp}/nb'",
        "01_x.ipynb: not a readable notebook",
        EARLY,
    ),
    "publish nothing": (
        "publish",
        "name a run folder to publish, or use --readme or --check",
        EARLY,
    ),
    "publish check and run": (
        "publish '{no_notebooks}' --check",
        "--check only reads README.md: give no run folder and no --readme",
        EARLY,
    ),
}


@pytest.fixture
def busy_port():
    """A port something else is listening on."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


def run_main(argv: list[str], capsys) -> tuple[int, str]:
    """`qa_utils.cli.main` in-process: its status and stderr (argparse exits count too)."""
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    return status, capsys.readouterr().err


def command(line: str, names: dict[str, str]) -> list[str]:
    """The arguments of a `BAD_ARGUMENTS` line, its placeholders filled in."""
    prefixes = {name: value.format(**names) for name, value in PREFIXES.items()}
    return shlex.split(line.format(**names, **prefixes))


@pytest.mark.parametrize("case", BAD_ARGUMENTS)
def test_every_command_refuses_bad_arguments_in_one_line_with_status_2(
    case, bad, tmp_path, capsys, monkeypatch, busy_port
):
    line, expected, early = BAD_ARGUMENTS[case]
    names = {k: str(v) for k, v in bad.items()} | {"tmp": str(tmp_path), "busy_port": busy_port}
    names |= {"FIXTURE": FIXTURE, "PREDICTIONS": PREDICTIONS, "ANALYSIS_SQUAD": ANALYSIS_SQUAD}
    monkeypatch.chdir(Path(__file__).parents[1])  # where `run` finds the notebooks
    monkeypatch.setenv("QA_SHARED", str(tmp_path / "no_shared"))  # no data but the given
    monkeypatch.setattr(
        "qa_utils.core.model.AutoModelForQuestionAnswering.from_pretrained", forbidden
    )
    if early:
        monkeypatch.setattr("qa_utils.core.data.load_squad_with_problems", forbidden)
    status, err = run_main(command(line, names), capsys)
    assert status == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert expected.format(**names) in err, err
    assert not (tmp_path / "e").exists() and not (tmp_path / "m").exists()  # nothing written


def forbidden(*args, **kwargs):
    """Stands in for loading weights or reading a dataset where that must not happen."""
    raise AssertionError("loaded before every argument was checked")


def test_offline_without_any_squad_file_is_one_line_naming_the_variable(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("QA_SHARED", str(tmp_path))
    monkeypatch.setattr("qa_utils.core.data.REPO_ROOT", tmp_path)  # no data/squad/ either
    status, err = run_main(
        ["evaluate", "--model", "embedded", "--output", str(tmp_path / "x")], capsys
    )
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert "offline mode: HF_HUB_OFFLINE is set" in err and "Set QA_SQUAD_DEV to a local" in err


@pytest.mark.parametrize("command", ["serve", "evaluate"])
def test_a_model_with_nan_weights_is_one_line_before_anything_is_served_or_written(
    command, tmp_path, capsys, tiny_bert
):
    net = tiny_bert(max_positions=512)
    with torch.no_grad():
        net.bert.embeddings.word_embeddings.weight[5, 0] = float("nan")
    net.save_pretrained(tmp_path / "diverged")
    capsys.readouterr()  # saving's progress bar
    shutil.copy(embedded_model_path() / "tokenizer.json", tmp_path / "diverged")
    shutil.copy(embedded_model_path() / "tokenizer_config.json", tmp_path / "diverged")
    args = {
        "serve": ["serve", "--model", str(tmp_path / "diverged"), "--port", "0"],
        "evaluate": ["evaluate", "--model", str(tmp_path / "diverged"), "--profile", "smoke",
                     "--max-length", "128", "--doc-stride", "32", "--dev-file", str(FIXTURE),
                     "--output", str(tmp_path / "e")],
    }[command]  # fmt: skip
    status, err = run_main(args, capsys)
    assert status == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "word_embeddings.weight holds NaN or infinite values" in err
    assert not (tmp_path / "e").exists()


def test_serve_help_states_the_service_limits_own_defaults():
    defaults = ServiceLimits()
    numbers = [f"{getattr(defaults, f.name):,}" for f in dataclasses.fields(defaults)]
    for number in numbers:  # e.g. "20,000" characters, "60.0" seconds shown as "60"
        assert number.removesuffix(".0") in cli.SERVE_HELP, number
    assert str(max_body_bytes(defaults)) not in cli.SERVE_HELP  # stated as its formula


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


# --- the same, as a user runs it: a real process ------------------------------------------------


def _run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "qa_utils", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
        timeout=300,
    )


@pytest.mark.slow
def test_help_lists_every_command_and_the_service_bounds():
    done = _run("--help")
    assert done.returncode == 0
    assert all(name in done.stdout for name in cli.COMMANDS)
    serve_help = _run("serve", "--help").stdout
    assert (
        "bounds on what one request may cost" in serve_help and "--max-context-tokens" in serve_help
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{TRAIN} {tmp}/m --learning-rate inf", "error: learning_rate must be a finite number"),
        ("{TRAIN} {tmp}/m --profile turbo", "invalid choice: 'turbo'"),
        ("evaluate --model embedded --output {tmp}/x", "Set QA_SQUAD_DEV to a local SQuAD file"),
        ("evaluate --model {tmp}/none --output {tmp}/e", "model path {tmp}/none does not exist"),
        ("{SERVE} --port -1", "argument --port: must be from 0 to 65535, got -1"),
        ("{ANALYSE} {tmp} --bootstrap 0", "--bootstrap: must be from 1"),
    ],
)
def test_a_real_process_prints_one_line_and_exits_2(tmp_path, line, expected):
    names = {"tmp": str(tmp_path), "FIXTURE": FIXTURE, "PREDICTIONS": PREDICTIONS}
    names |= {"ANALYSIS_SQUAD": ANALYSIS_SQUAD}
    env = {"QA_SHARED": str(tmp_path / "none"), "QA_SQUAD_DEV": ""}  # offline, no data
    done = _run(*command(line, names), env=env)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert expected.format(**names) in done.stderr
