"""Command line: `python -m qa_utils train ...` and `python -m qa_utils evaluate ...`."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from qa_utils.config import ALL, PROFILE_NAMES, Profile

EPILOG = """examples:
  python -m qa_utils train --profile smoke --output runs/smoke/model
  python -m qa_utils evaluate --model runs/smoke/model --profile smoke --output runs/smoke/eval
  QA_SQUAD_DEV=../shared/squad/dev-v1.1.json python -m qa_utils evaluate --model runs/quick/model
"""


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
        kind = FLAG_TYPES.get(str(field.type), str)
        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            dest=field.name,
            type=kind,
            default=None,
            help=f"override the profile's {field.name}",
        )


def _parse_questions(text: str) -> int | str:
    """A number of questions, or 'all'."""
    return ALL if text == ALL else int(text)


def _parse_bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


FLAG_TYPES = {"int": int, "float": float, "bool": _parse_bool, "int | None": _parse_questions}


def build_parser() -> argparse.ArgumentParser:
    """The `qa_utils` argument parser with its two sub-commands."""
    parser = argparse.ArgumentParser(
        prog="python -m qa_utils",
        epilog=EPILOG,
        formatter_class=argparse.RawTextHelpFormatter,
        description="Fine-tune and evaluate extractive QA models on SQuAD v1.1.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser(
        "train",
        help="fine-tune a model (transformers Trainer)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    train.add_argument(
        "--train-file",
        default="",
        help="SQuAD train file (default: "
        "$QA_SQUAD_TRAIN, data/squad/, ../shared/squad/, else the Hub)",
    )
    train.add_argument("--output", required=True, help="folder for the fine-tuned model")
    train.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    _add_profile_flags(train)
    evaluate = commands.add_parser(
        "evaluate",
        help="predict and score on the dev set",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    evaluate.add_argument("--model", required=True, help="model folder, 'embedded' or Hub id")
    evaluate.add_argument(
        "--dev-file",
        default="",
        help="SQuAD dev file (default: $QA_SQUAD_DEV, data/squad/, ../shared/squad/, else the Hub)",
    )
    evaluate.add_argument("--output", required=True, help="folder for the result files")
    _add_profile_flags(evaluate, skip=("model",))
    return parser


def _profile(args: argparse.Namespace) -> Profile:
    from qa_utils.config import get_profile

    names = {f.name for f in dataclasses.fields(Profile)} - {"name"}
    return get_profile(args.profile, **{k: getattr(args, k, None) for k in names})


def run_train(args: argparse.Namespace) -> dict:
    """Load the training split, take the profile's subset and fine-tune."""
    from qa_utils.data import load_squad, resolve_squad_source, subset
    from qa_utils.train import train

    profile = _profile(args)
    examples = load_squad(args.train_file or resolve_squad_source("train"), split="train")
    if profile.train_questions:
        examples = subset(examples, profile.train_questions, profile.seed)
    result = train(profile, examples, args.output, resume=not args.no_resume)
    return {
        "model_dir": str(result.model_dir),
        "train_seconds": round(result.train_seconds, 1),
        "train_questions": result.train_questions,
        "final_loss": result.final_loss,
    }


def run_evaluate(args: argparse.Namespace) -> dict:
    """Load the dev split, take the profile's subset, evaluate and write the result files."""
    from qa_utils.data import load_squad, resolve_squad_source, subset
    from qa_utils.evaluate import evaluate

    profile = _profile(args)
    examples = load_squad(args.dev_file or resolve_squad_source("validation"))
    if profile.dev_questions:
        examples = subset(examples, profile.dev_questions, profile.seed)
    metrics = evaluate(
        args.model, examples, args.output, dataclasses.replace(profile, model=str(args.model))
    )
    return {k: metrics[k] for k in ("exact_match", "f1", "total", "questions_per_second")}


def main(argv: list[str] | None = None) -> int:
    """Entry point; user errors print one line and exit 2."""
    args = build_parser().parse_args(argv)
    command = {"train": run_train, "evaluate": run_evaluate}[args.command]
    try:
        summary = command(args)
    except (ValueError, FileNotFoundError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
