"""One command line: `python -m qa_utils COMMAND ...` (or `qa-utils COMMAND ...`).

Commands, in the order of the data flow:

- `train`     fine-tune a model (transformers Trainer), resumable
- `evaluate`  predict, score and write every result file of a run
- `score`     EM/F1 of a prediction file, exactly like the official evaluate-v1.1.py or
              evaluate-v2.0.py (chosen by the dataset; `--na-prob-file` for SQuAD 2.0)
- `analyse`   slices with intervals, answer types, error categories, calibration, comparison
- `explore`   a static site to read every question, its gold answers and the predictions
- `serve`     answer questions over HTTP
- `run`       execute the chapter's notebooks in order with papermill
- `publish`   copy an executed run's notebooks into notebooks/ for readers, its summary into
              docs/results/; `--readme` re-renders the README's figures, `--check` checks them

Every command checks all its arguments (numbers in range, files present, folders writable,
the model folder complete) before it loads a model or reads data. Every failure a user can
cause or fix (a bad flag, file, folder or model, missing data offline, an empty dataset, a
too-long context, text that is not Unicode) prints one line on stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from qa_utils.project.config import (
    ALL,
    MAX_SEED,
    PROFILE_NAMES,
    Profile,
    get_profile,
    resolve_profile_name,
)
from qa_utils.project.cpu import passive_openmp
from qa_utils.project.io import check_output_dir
from qa_utils.project.paths import project_root

EPILOG = """examples:
  python -m qa_utils train --profile smoke --output runs/smoke/model
  python -m qa_utils evaluate --model runs/smoke/model --profile smoke --output runs/smoke/eval
  python -m qa_utils evaluate --model runs/smoke/model --dev-file squadshifts/reddit --output DIR
  python -m qa_utils score ../shared/squad/dev-v1.1.json runs/smoke/eval/predictions.json
  python -m qa_utils score dev-v2.0.json predictions.json --na-prob-file na_probs.json
  python -m qa_utils analyse ../shared/squad/dev-v1.1.json predictions.json --out runs/analysis
  python -m qa_utils explore ../shared/squad/dev-v1.1.json predictions.json --out runs/explorer
  python -m qa_utils serve --model runs/quick/model --port 8000
  python -m qa_utils run --profile smoke --only 01 02
  python -m qa_utils publish runs/quick-20250101-120000 --readme
  python -m qa_utils publish --check
"""


class UserError(Exception):
    """A problem the user can fix (a bad file, flag or folder): one line, exit status 2."""


EXPECTED_ERRORS = (UserError, ValueError, OSError)
"""What a user can cause: bad values and files (ValueError), missing files and data (OSError)."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, with a usage error on one line (the usage itself is in --help)."""

    def error(self, message: str) -> NoReturn:
        """Print `prog: error: message` on one line and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see --help)\n")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {value}")
        return value

    return parse


def seconds(text: str) -> float:
    """An argparse type: a finite, non-negative number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds >= 0, got {text}")
    return value


def _parse_questions(text: str) -> int | str:
    """A number of questions, or 'all'."""
    try:
        return ALL if text == ALL else int(text)
    except ValueError:
        message = f"expected a number of questions or 'all', got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


# Ranges are the profile's own business (`validate_profile`); these only parse.
FLAG_TYPES = {
    "int": int,
    "float": float,
    "bool": _parse_bool,
    "int | None": _parse_questions,
    "float | None": float,
}


def input_file(path: str | Path, what: str) -> Path:
    """`path` as a Path if it names an existing file, else a `UserError` naming the flag."""
    if not str(path).strip():
        raise UserError(f"{what} is empty; name a file")
    found = Path(path).expanduser()
    if not found.is_file():
        kind = "a folder, not a file" if found.is_dir() else "no such file"
        raise UserError(f"{what} {found}: {kind}")
    return found


def squad_source(path: str, split: str) -> Path | str:
    """The file named by a flag (checked), else the split's default source."""
    # `datasets` loads only for the commands that read a dataset (seconds).
    from qa_utils.core.data import resolve_squad_source

    flag = "--train-file" if split == "train" else "--dev-file"
    if not path:
        return resolve_squad_source(split)
    if split == "validation" and not Path(path).expanduser().exists():
        return named_eval_set(path)
    return input_file(path, flag)


def named_eval_set(name: str) -> Path:
    """The file of a named evaluation set (`qa_utils.core.eval_sets`) given as --dev-file."""
    from qa_utils.core.eval_sets import EVAL_SETS, eval_set_path

    if name not in EVAL_SETS:
        known = ", ".join(EVAL_SETS)
        raise UserError(f"--dev-file {name}: no such file, nor a known evaluation set ({known})")
    try:
        return eval_set_path(name)
    except FileNotFoundError as err:
        raise UserError(f"--dev-file {name}: {err}") from None


def _add_profile_flags(parser: argparse.ArgumentParser, skip: tuple[str, ...] = ()) -> None:
    """One flag per profile field, so any setting can be overridden from the command line."""
    parser.add_argument(
        "--profile",
        default="",
        choices=("", *PROFILE_NAMES),
        help="settings bundle (default: $QA_PROFILE, else auto)",
    )
    for field in dataclasses.fields(Profile):
        if field.name in ("name", *skip):
            continue
        # A yes/no field works as a plain switch too: --squad-v2 means --squad-v2 true.
        switch = {"nargs": "?", "const": True} if str(field.type) == "bool" else {}
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            type=FLAG_TYPES.get(str(field.type), str),
            default=None,
            help=f"override the profile's {field.name}",
            **switch,
        )


def _profile(args: argparse.Namespace) -> Profile:
    names = {f.name for f in dataclasses.fields(Profile)} - {"name"}
    return get_profile(args.profile, **{k: getattr(args, k, None) for k in names})


# --- train / evaluate ---------------------------------------------------------------------------


def add_train(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--train-file",
        default="",
        help="SQuAD train file (default: $QA_SQUAD_TRAIN, data/squad/, ../shared/squad/, "
        "else the Hub)",
    )
    parser.add_argument("--output", required=True, help="folder for the fine-tuned model")
    parser.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    _add_profile_flags(parser)


def run_train(args: argparse.Namespace) -> int:
    """Check every argument, load the training split, take the profile's subset, fine-tune."""
    profile = _profile(args)
    check_output_dir(args.output)
    # torch, transformers and datasets load only for the commands that need them (seconds).
    from qa_utils.core.data import load_squad
    from qa_utils.core.features import check_settings
    from qa_utils.core.model import check_model
    from qa_utils.training.train import train, training_questions
    from qa_utils.training.unanswerable import training_examples

    check_settings(profile.max_length, profile.doc_stride)
    source = squad_source(args.train_file, "train")
    check_model(profile.model, profile.max_length)
    pool = load_squad(source, split="train")
    examples = training_questions(pool, profile)
    examples = training_examples(examples, pool, profile.squad_v2, profile.seed)
    result = train(profile, examples, args.output, resume=not args.no_resume)
    summary = {
        "model_dir": str(result.model_dir),
        "train_seconds": round(result.train_seconds, 1),
        "train_questions": result.train_questions,
        "mean_loss": result.mean_loss,
        "last_loss": result.last_loss,
    }
    print(json.dumps(summary, indent=2))
    return 0


def add_evaluate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="model folder, 'embedded' or Hub id")
    parser.add_argument(
        "--dev-file",
        default="",
        help="SQuAD dev file or evaluation set name such as squadshifts/amazon "
        "(default: $QA_SQUAD_DEV, data/squad/, ../shared/squad/, else the Hub)",
    )
    parser.add_argument("--output", required=True, help="folder for the result files")
    _add_profile_flags(parser, skip=("model",))


def run_evaluate(args: argparse.Namespace) -> int:
    """Check every argument, load the dev split, take the subset, evaluate, write the results."""
    profile = _profile(args)
    # torch, transformers and datasets load only for the commands that need them (seconds).
    from qa_utils.core.data import load_squad, subset
    from qa_utils.core.evaluate import check_results_dir, evaluate
    from qa_utils.core.features import check_settings
    from qa_utils.core.model import check_model

    check_settings(profile.max_length, profile.doc_stride)
    check_results_dir(args.output)
    source = squad_source(args.dev_file, "validation")
    check_model(args.model, profile.max_length)
    examples = load_squad(source)
    if profile.dev_questions:
        examples = subset(examples, profile.dev_questions, profile.seed)
    metrics = evaluate(
        args.model, examples, args.output, dataclasses.replace(profile, model=str(args.model))
    )
    keys = ("exact_match", "f1", "total", "questions_per_second")
    print(json.dumps({k: metrics[k] for k in keys}, indent=2))
    return 0


# --- score --------------------------------------------------------------------------------------


def add_score(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("dataset_file", help="Dataset file (SQuAD v1.1 or 2.0: .json, .jsonl or .parquet)")
    add("prediction_file", help="Prediction file (JSON {id: answer text})")
    add("--out-file", "-o", help="write the scores to this file (default: stdout)")
    add("--na-prob-file", "-n", help="SQuAD 2.0: JSON {id: probability of no answer}")
    add(
        "--na-prob-thresh",
        "-t",
        type=float,
        default=1.0,
        help='SQuAD 2.0: predict "" where the no-answer probability exceeds this',
    )


def _score_json(summary: dict[str, Any], v2: bool) -> str:
    """The scores as the official scripts print them (v2.0 indents its dict by 2)."""
    return json.dumps(summary, indent=2) if v2 else json.dumps(summary)


def run_score(args: argparse.Namespace) -> int:
    """Print (or write) the official JSON scores; missing and unknown ids go to stderr."""
    # `datasets` loads only for the commands that read a dataset (seconds).
    from qa_utils.core.data import SquadFormatError, load_squad
    from qa_utils.core.metrics import (
        PredictionFormatError,
        is_squad_v2,
        read_na_probs,
        read_predictions,
        report_ids,
        score_predictions,
    )
    from qa_utils.project.io import atomic_write_text

    dataset = input_file(args.dataset_file, "dataset_file")
    predictions = input_file(args.prediction_file, "prediction_file")
    na_file = input_file(args.na_prob_file, "--na-prob-file") if args.na_prob_file else None
    try:
        examples = load_squad(dataset)
        answers = read_predictions(predictions)
        na_probs = read_na_probs(na_file) if na_file else None
    except (SquadFormatError, PredictionFormatError) as err:
        raise UserError(str(err)) from err
    v2 = is_squad_v2(examples)
    if not v2 and (na_probs is not None or args.na_prob_thresh != 1.0):
        raise UserError(
            f"{args.dataset_file}: SQuAD v1.1 has no unanswerable questions; "
            "--na-prob-file and --na-prob-thresh apply to SQuAD 2.0 datasets"
        )
    try:
        report = score_predictions(examples, answers, na_probs, args.na_prob_thresh)
    except ValueError as err:  # na-probs that lack predicted questions
        raise UserError(f"{args.na_prob_file}: {err}") from err
    report_ids(report)
    if args.out_file:
        atomic_write_text(args.out_file, json.dumps(report.summary()))
    else:
        print(_score_json(report.summary(), v2))
    return 0


# --- analyse ------------------------------------------------------------------------------------


def check_report_args(args: argparse.Namespace, optional: tuple[str, ...]) -> None:
    """The dataset, the prediction file and the optional files exist; --out can take results."""
    input_file(args.dataset, "dataset")
    input_file(args.predictions, "predictions")
    for flag in optional:
        if getattr(args, flag) is not None:
            input_file(getattr(args, flag), f"--{flag}")
    check_output_dir(args.out, "--out")


def add_analyse(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("dataset", type=Path, help="SQuAD v1.1 or 2.0 dataset (e.g. dev-v1.1.json)")
    add("predictions", type=Path, help="official-format predictions {id: text}")
    add("--out", type=Path, required=True, help="folder for CSV tables and PNG figures")
    add("--records", type=Path, help="our records.parquet, for confidences")
    add("--compare", type=Path, help="second prediction file for a paired test")
    add("--train", type=Path, help="SQuAD training JSON, for the rare-word slice")
    add("--rare-k", type=whole_number(0, 10**9), default=5, help="rare = seen at most K times")
    add("--bootstrap", type=whole_number(1, 1_000_000), default=1000, help="resamples (1-1e6)")
    add("--seed", type=whole_number(0, MAX_SEED), default=0, help="seed of every resampling")
    add("--no-spacy", action="store_true", help="use the rule-based answer typing")
    add("--na-prob-file", type=Path, help="SQuAD 2.0: JSON {id: probability of no answer}")
    add(
        "--na-prob-thresh",
        type=float,
        default=1.0,
        help='SQuAD 2.0: predict "" where the no-answer probability exceeds this',
    )


def run_analyse(args: argparse.Namespace) -> int:
    """Analyse a prediction file; tables and figures go to --out, a summary to stdout."""
    # pandas, matplotlib and spaCy load only for the commands that need them (seconds).
    from qa_utils.analysis.tables import InputFileError
    from qa_utils.workflow.report import analyse_files

    check_report_args(args, ("records", "compare", "train"))
    try:
        lines = analyse_files(args)
    except InputFileError as err:
        raise UserError(str(err)) from err
    print("\n".join(lines))
    return 0


# --- explore ------------------------------------------------------------------------------------


def add_explore(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("dataset", type=Path, help="SQuAD v1.1 dataset JSON (e.g. dev-v1.1.json)")
    add("predictions", type=Path, help="official-format predictions {id: text}")
    add("--out", type=Path, required=True, help="folder for the site (open OUT/index.html)")
    add("--compare", type=Path, help="second prediction file, shown side by side")
    add("--records", type=Path, help="our records.parquet of PREDICTIONS: confidences, spans")
    add("--only-predicted", action="store_true", help="only the questions PREDICTIONS answers")
    add("--bootstrap", type=whole_number(1, 1_000_000), default=1000, help="resamples (1-1e6)")
    add("--seed", type=whole_number(0, MAX_SEED), default=0, help="seed of the resampling")
    add("--no-spacy", action="store_true", help="use the rule-based answer typing")


def run_explore(args: argparse.Namespace) -> int:
    """Write the explorer site of a prediction file (and another to compare) to --out."""
    # pandas, datasets and spaCy load only for the commands that need them (seconds).
    from qa_utils.analysis.answer_types import load_spacy
    from qa_utils.analysis.tables import InputFileError
    from qa_utils.workflow.explore import explore, load_inputs, site_summary

    check_report_args(args, ("records", "compare"))
    started = time.perf_counter()
    try:
        inputs = load_inputs(
            args.dataset, args.predictions, args.compare, args.records, args.only_predicted
        )
    except InputFileError as err:
        raise UserError(str(err)) from err
    nlp = None if args.no_spacy else load_spacy()
    site = explore(inputs, args.out, nlp, args.bootstrap, args.seed)
    print(site_summary(site, time.perf_counter() - started))
    return 0


# --- serve --------------------------------------------------------------------------------------


SERVE_HELP = """bounds on what one request may cost (413 or 503 past them, never a 500):
  body bytes    4 x (question + context characters) + 1024, counted while the body streams
                in, chunked or not (413 as soon as it is passed)
  characters    --max-question-chars (1,000), --max-context-chars (20,000)
  tokens        --max-context-tokens (4,096) of the context, by the model's tokenizer
  time          --request-timeout (60 s): not answered by then, waiting included -> 503
  queue         --max-concurrency model threads (1) + --max-queue waiting (256) -> 503
  shutdown      SIGTERM/SIGINT: queued work not done shortly before --graceful-timeout
                (10 s) ends gets 503 with Retry-After; the process exits with status 0
"""


def add_serve(parser: argparse.ArgumentParser) -> None:
    # The defaults are ServiceLimits' own (None: keep it), listed in the epilog.
    add = parser.add_argument
    parser.epilog = SERVE_HELP
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add("--model", required=True, help="model folder (RUN_DIR/model), embedded, or module:factory")
    add("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    add("--port", type=whole_number(0, 65_535), default=8000, help="port (default 8000)")
    add("--max-concurrency", type=whole_number(1, 1_024), help="model threads (default 1)")
    add("--max-queue", type=whole_number(0, 1_000_000), help="requests waiting, then 503")
    add("--max-context-chars", type=whole_number(1, 10_000_000), help="longest context")
    add("--max-question-chars", type=whole_number(1, 10_000_000), help="longest question")
    add("--max-context-tokens", type=whole_number(1, 10_000_000), help="context tokens")
    add("--request-timeout", type=seconds, help="seconds a request may take, waiting included")
    add("--threads", type=whole_number(0, 4_096), default=0, help="torch threads (0: saved)")
    add("--graceful-timeout", type=seconds, default=10.0, help="seconds to drain on shutdown")
    add("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def exit_cleanly(signum: int, frame: Any) -> None:
    """Signal handler: leave with status 0 (the graceful shutdown has already happened)."""
    raise SystemExit(0)


def port_problem(host: str, port: int) -> str | None:
    """Why the service could not listen on host:port (checked before the model loads), or None."""
    if not host.strip():
        return "--host is empty; give an address such as 127.0.0.1"
    try:
        with socket.create_server((host, port)):
            return None
    except OSError as err:
        # the address's own error (EADDRINUSE...); a name that does not resolve has no errno
        known = isinstance(err.errno, int) and err.errno > 0
        return f"cannot listen on {host}:{port} ({os.strerror(err.errno) if known else err})"


def service_limits(args: argparse.Namespace) -> Any:
    """The `ServiceLimits` of the flags given (the others keep their defaults)."""
    from qa_utils.serving.app import ServiceLimits

    chosen = {
        "max_question_chars": args.max_question_chars,
        "max_context_chars": args.max_context_chars,
        "max_context_tokens": args.max_context_tokens,
        "max_concurrency": args.max_concurrency,
        "max_queue": args.max_queue,
        "request_timeout_s": args.request_timeout,
    }
    return ServiceLimits(**{k: v for k, v in chosen.items() if v is not None})


def run_serve(args: argparse.Namespace) -> int:
    """Check every argument, load the model, then serve until SIGINT/SIGTERM."""
    # FastAPI and uvicorn load only for the command that serves (seconds).
    from qa_utils.serving.app import create_app, load_answerer, model_problem, serve

    limits = service_limits(args)
    problem = model_problem(args.model) or port_problem(args.host, args.port)
    if problem:
        raise UserError(problem)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s:     %(message)s")
    passive_openmp()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # uvicorn replaces these while it serves, shuts down gracefully on either signal and
        # then raises it again for the previous handler: make that an exit with status 0
        signal.signal(signum, exit_cleanly)
    # Loaded before the server starts, so that a model that cannot serve (NaN weights...) is
    # one line and status 2, not a failed startup with a traceback.
    answerer = load_answerer(args.model, args.threads)
    app = create_app(lambda: answerer, limits, args.model)
    serve(app, args.host, args.port, args.log_level, args.graceful_timeout)
    return 0


# --- run / publish ------------------------------------------------------------------------------


def _parameter(text: str) -> tuple[str, Any]:
    """KEY=VALUE, the value parsed as JSON when it is JSON (else kept as text)."""
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if not key.isidentifier():
        raise argparse.ArgumentTypeError(f"{key!r} is not a notebook parameter name")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def add_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        default="",
        choices=("", *PROFILE_NAMES),
        help="smoke, quick, full or auto (default: $QA_PROFILE, else auto)",
    )
    parser.add_argument("--run-dir", default="", help="reuse or name the run folder")
    parser.add_argument("--only", nargs="*", default=[], help="notebook prefixes, e.g. 01 03")
    parser.add_argument(
        "-p",
        "--parameter",
        action="append",
        type=_parameter,
        default=[],
        help="extra notebook parameter KEY=VALUE (JSON values), repeatable",
    )


def run_run(args: argparse.Namespace) -> int:
    """Execute the notebooks into runs/<profile>-<timestamp>/ (or --run-dir)."""
    # papermill and nbconvert load only for the commands that run notebooks (seconds).
    from qa_utils.workflow.runner import run_all, select_notebooks

    profile = resolve_profile_name(args.profile)
    select_notebooks(args.only)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.run_dir) if args.run_dir else project_root() / "runs" / f"{profile}-{stamp}"
    check_output_dir(run_dir, "--run-dir").mkdir(parents=True, exist_ok=True)
    return run_all(profile, run_dir, args.only, dict(args.parameter))


def add_publish(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", nargs="?", default="", help="a run folder written by `run`")
    parser.add_argument("--target", default="", help="default: the project's notebooks/")
    parser.add_argument(
        "--summary",
        default="",
        help="where the run's summary.json goes; empty: docs/results/published_run.json",
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="then re-render README.md's generated blocks from the committed result files",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="only check README.md's generated blocks: exit status 1 naming the stale ones",
    )


def run_publish(args: argparse.Namespace) -> int:
    """Copy the run's notebooks and summary into the project; re-render or check the README."""
    # nbformat loads only for the command that publishes.
    from qa_utils.workflow.publish import publish
    from qa_utils.workflow.readme import PUBLISHED_RUN, README, stale_blocks, update_readme

    if args.check and (args.run_dir or args.readme):
        raise UserError("--check only reads README.md: give no run folder and no --readme")
    if not (args.run_dir or args.readme or args.check):
        raise UserError("name a run folder to publish, or use --readme or --check")
    root = project_root()
    if args.check:
        stale = stale_blocks(_read_text(root / README), root)
        if stale:
            fix = "python -m qa_utils publish --readme rewrites them"
            print(
                f"{README}: stale generated block(s): {', '.join(stale)} ({fix})", file=sys.stderr
            )
            return 1
        print(f"{README}: every generated block matches the committed files")
        return 0
    if args.run_dir:
        if not Path(args.run_dir).is_dir():
            raise UserError(f"run_dir {args.run_dir}: no such folder")
        if args.target:
            check_output_dir(args.target, "--target")
        summary = Path(args.summary) if args.summary else root / PUBLISHED_RUN
        for path in publish(args.run_dir, args.target or None, summary):
            print(path)
    if args.readme:
        stale = update_readme(root / README, root)
        print(f"{README}: rewrote {', '.join(stale)}" if stale else f"{README}: up to date")
    return 0


def _read_text(path: Path) -> str:
    """A text file the command needs, or a UserError naming it."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: {err.strerror}") from None


Command = tuple[str, Callable[[argparse.ArgumentParser], None], Callable[..., int]]
COMMANDS: dict[str, Command] = {
    "train": ("fine-tune a model (transformers Trainer)", add_train, run_train),
    "evaluate": ("predict and score on the dev set", add_evaluate, run_evaluate),
    "score": ("EM/F1 of a prediction file (= the official v1.1/v2.0 script)", add_score, run_score),
    "analyse": ("error analysis of a prediction file", add_analyse, run_analyse),
    "explore": ("a static site to read every prediction", add_explore, run_explore),
    "serve": ("answer questions over HTTP", add_serve, run_serve),
    "run": ("run the chapter's notebooks with papermill", add_run, run_run),
    "publish": (
        "copy a run's notebooks and summary in; render or check the README's figures",
        add_publish,
        run_publish,
    ),
}


def build_parser(prog: str = "python -m qa_utils") -> argparse.ArgumentParser:
    """The argument parser with one sub-parser per command."""
    parser = OneLineParser(
        prog=prog,
        epilog=EPILOG,
        formatter_class=argparse.RawTextHelpFormatter,
        description="Fine-tune, evaluate, analyse and serve extractive QA models on SQuAD.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, add, _) in COMMANDS.items():
        add(
            commands.add_parser(
                name, help=help_text, formatter_class=argparse.ArgumentDefaultsHelpFormatter
            )
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m qa_utils` and `qa-utils`; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command][2](args)
    except EXPECTED_ERRORS as err:
        print(f"error: {' '.join(str(err).split()) or type(err).__name__}", file=sys.stderr)
        return 2


def command_main(name: str) -> Callable[[Sequence[str] | None], int]:
    """`main` of one command, for the module paths kept working (`python -m qa_utils.metrics`)."""

    def run(argv: Sequence[str] | None = None) -> int:
        return main([name, *(sys.argv[1:] if argv is None else argv)])

    return run
