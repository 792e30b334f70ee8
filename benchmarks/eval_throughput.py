"""Evaluation throughput: transformers 4.x pipeline("question-answering") against qa_utils.

One run, the same fine-tuned weights, the same dev questions, the same machine and torch build:

- anchor: pipeline("question-answering") of the last transformers 4.x release (the pipeline is
  gone in 5.x), installed in benchmarks/.venv-tf4 and run at its best batch size;
- ours, fp32: qa_utils.core.inference.infer (features -> logits -> post-processing);
- ours, fast: int8 dynamic quantization in ONNX Runtime, or bf16 autocast on CPUs with AMX.

Every path is timed end to end, from (question, context) strings to answer strings; model
loading, ONNX export and quantization are excluded. The pipeline gets our window and decoding
settings (the profile's window length, stride and answer length, our question cap, and
align_to_words=False) but keeps its own scoring (a softmax per window, so on questions with
several windows it can pick another window than our summed logits), so agreement is measured.

The anchor environment reuses this environment's torch through a .pth link instead of
installing torch from PyPI: the CPU wheel is not on PyPI, and one torch build for both sides
keeps the kernels identical.

Usage (from the repo root):
    nice -n 19 .venv/bin/python -m benchmarks.eval_throughput --model PATH [--questions 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TF4_VENV = ROOT / "benchmarks" / ".venv-tf4"
TF4_REQUIREMENT = "transformers<5"
TORCH_DEPENDENCIES = ("filelock", "typing-extensions", "sympy", "networkx", "jinja2", "fsspec")
# Our answers are the characters of the chosen tokens; the pipeline by default widens them to
# whole words. Same decoding on both sides, so agreement measures the model path.
ALIGN_TO_WORDS = False


def pipeline_settings(profile_name: str) -> dict:
    """The pipeline's window and decoding arguments, from the profile's inference settings."""
    from qa_utils.core.features import MAX_QUESTION_TOKENS
    from qa_utils.project.config import get_profile

    settings = get_profile(profile_name).inference
    return {
        "max_seq_len": settings.max_length,
        "doc_stride": settings.doc_stride,
        "max_answer_len": settings.max_answer_length,
        "max_question_len": MAX_QUESTION_TOKENS,
        "align_to_words": ALIGN_TO_WORDS,
    }


def venv_python(folder: Path) -> Path:
    """The interpreter of a virtual environment."""
    return folder / "bin" / "python"


def link_torch(folder: Path) -> None:
    """Make this environment's torch importable in `folder` (a .pth file, no copy)."""
    import torch

    site = Path(torch.__file__).resolve().parents[1]
    links = folder / "shared-torch"
    links.mkdir(exist_ok=True)
    for source in [
        *site.glob("torch-*.dist-info"),
        site / "torch",
        site / "torchgen",
        site / "functorch",
    ]:
        target = links / source.name
        if source.exists() and not target.exists():
            target.symlink_to(source)
    (next((folder / "lib").glob("python3*")) / "site-packages" / "shared_torch.pth").write_text(
        f"{links}\n", encoding="utf-8"
    )


def ensure_tf4(folder: Path = TF4_VENV) -> Path:
    """Create the transformers 4.x environment once; return its interpreter."""
    python = venv_python(folder)
    if not python.exists():
        venv.EnvBuilder(with_pip=True).create(folder)
    link_torch(folder)
    check = subprocess.run([str(python), "-c", "import transformers, torch"], capture_output=True)
    if check.returncode != 0:
        subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "-q",
                TF4_REQUIREMENT,
                "numpy",
                *TORCH_DEPENDENCIES,
            ],
            check=True,
        )
    return python


def pipeline_answers(
    qa, questions: list[dict], batch_size: int, settings: dict
) -> tuple[list[str], float]:
    """Answer `questions` with the pipeline; return the answers and the wall time."""
    started = time.perf_counter()
    outputs = qa(
        question=[q["question"] for q in questions],
        context=[q["context"] for q in questions],
        batch_size=batch_size,
        top_k=1,
        **settings,
    )
    seconds = time.perf_counter() - started
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return [o["answer"] for o in outputs], seconds


def pipeline_worker(
    model: str,
    questions_path: str,
    batch_sizes: list[int],
    trial: int,
    threads: int,
    settings: dict,
) -> dict:
    """Inside the 4.x environment: pick the fastest batch size on `trial` questions, run all."""
    import torch
    import transformers

    torch.set_num_threads(threads)
    qa = transformers.pipeline("question-answering", model=model, tokenizer=model, device=-1)
    questions = json.loads(Path(questions_path).read_text(encoding="utf-8"))
    pipeline_answers(qa, questions[:8], 8, settings)  # warm-up
    trials = {b: pipeline_answers(qa, questions[:trial], b, settings)[1] for b in batch_sizes}
    best = min(trials, key=trials.get)
    answers, seconds = pipeline_answers(qa, questions, best, settings)
    return {
        "answers": answers,
        "seconds": seconds,
        "batch_size": best,
        "trial_qps": {b: trial / s for b, s in trials.items()},
        "transformers": transformers.__version__,
        "torch": torch.__version__,
    }


def run_anchor(model: Path, examples, args: argparse.Namespace, workdir: Path) -> dict:
    """Run the pipeline in the 4.x environment on the same questions; return its results."""
    questions = [
        {"question": q, "context": c}
        for q, c in zip(examples["question"], examples["context"], strict=True)
    ]
    (workdir / "questions.json").write_text(json.dumps(questions), encoding="utf-8")
    command = [
        str(ensure_tf4()),
        str(Path(__file__).resolve()),
        "--pipeline-worker",
        "--pipeline-settings",
        json.dumps(pipeline_settings(args.profile)),
        "--model",
        str(model),
        "--questions-json",
        str(workdir / "questions.json"),
        "--threads",
        str(args.threads),
        "--out",
        str(workdir / "anchor.json"),
        "--batch-sizes",
        args.batch_sizes,
        "--trial",
        str(args.trial),
    ]
    subprocess.run(command, check=True)
    result = json.loads((workdir / "anchor.json").read_text(encoding="utf-8"))
    result["answers"] = dict(zip(examples["id"], result["answers"], strict=True))
    return result


def our_answers(model, tokenizer, examples, settings, autocast=None) -> tuple[dict, float]:
    """qa_utils end to end through its one inference path; answers and wall time."""
    from qa_utils.core.inference import infer

    started = time.perf_counter()
    result = infer(model, tokenizer, examples, settings, autocast_dtype=autocast)
    return result.answers, time.perf_counter() - started


def fast_model(model, tokenizer, profile, workdir: Path, args) -> tuple[object, object, str]:
    """The fast path this CPU supports: bf16 autocast with AMX, else int8 in ONNX Runtime.

    The int8 model is the fused ONNX graph with the Linear layers most sensitive to
    quantization (found on training windows, not on the questions scored here) left in fp32.
    """
    import torch

    from qa_utils.core import backends
    from qa_utils.core.data import load_squad, subset
    from qa_utils.optimize import onnx as onnx_tools
    from qa_utils.optimize import quantize

    if quantize.has_amx():
        return model, torch.bfloat16, "bf16 autocast (AMX)"
    exported = onnx_tools.export_onnx(model, workdir / "model.onnx")
    fused = onnx_tools.optimize_onnx(exported, workdir / "model.fused.onnx", model.config)
    train = subset(load_squad(split="train"), 32, args.seed + 3)
    calibration = quantize.calibration_batch(train, tokenizer, profile.inference)
    int8, keep = onnx_tools.mixed_int8_onnx(model, fused, workdir / "model.int8.onnx", calibration)
    label = f"int8 ONNX Runtime ({len(keep)} sensitive layers fp32)"
    return backends.OrtQAModel(int8, model.config, args.threads), None, label


def ours(args: argparse.Namespace, examples, workdir: Path) -> dict[str, dict]:
    """Time our fp32 and fast paths on the same questions, each at its best batch size.

    Like the pipeline, each path first answers `--trial` questions at every candidate batch
    size (`--our-batch-sizes`) and then runs all questions at the fastest.
    """
    from dataclasses import replace

    from qa_utils.core.model import load_qa_model, load_tokenizer
    from qa_utils.project.config import get_profile

    profile = get_profile(args.profile)
    settings = profile.inference
    tokenizer, model = load_tokenizer(args.model), load_qa_model(args.model)
    fast, autocast, label = fast_model(model, tokenizer, profile, workdir, args)
    trial = examples.select(range(min(args.trial, len(examples))))
    results = {}
    for name, net, cast in (("qa_utils fp32", model, None), (f"qa_utils {label}", fast, autocast)):
        our_answers(net, tokenizer, examples.select(range(8)), settings, cast)  # warm-up
        sizes = [int(b) for b in args.our_batch_sizes.split(",")]
        seconds = {
            b: our_answers(net, tokenizer, trial, replace(settings, batch_size=b), cast)[1]
            for b in sizes
        }
        best = replace(settings, batch_size=min(seconds, key=seconds.get))
        answers, elapsed = our_answers(net, tokenizer, examples, best, cast)
        results[f"{name}, batch {best.batch_size}"] = {
            "answers": answers,
            "seconds": elapsed,
            "trial_qps": {b: len(trial) / t for b, t in seconds.items()},
        }
    return results


def single_window_ids(examples, args: argparse.Namespace) -> set[str]:
    """Questions whose context fits one window: there the pipeline's per-window softmax and
    our cross-window logit sum cannot disagree about which window wins."""
    from qa_utils.core.features import build_eval_features
    from qa_utils.core.model import load_tokenizer
    from qa_utils.core.records import count_windows
    from qa_utils.project.config import get_profile

    profile = get_profile(args.profile)
    features = build_eval_features(
        examples, load_tokenizer(args.model), profile.max_length, profile.doc_stride
    )
    return {k for k, n in count_windows(features).items() if n == 1}


def comparison(examples, anchor: dict, mine: dict[str, dict], single: set[str]):
    """One row per path: questions/s, ratio to the anchor, agreement with it, EM/F1."""
    import pandas as pd

    from qa_utils.core.metrics import score_predictions
    from qa_utils.optimize.bench import agreement

    name = f"pipeline (transformers {anchor['transformers']}, batch {anchor['batch_size']})"
    paths = {name: anchor, **mine}
    rows = []
    for label, result in paths.items():
        report = score_predictions(examples, result["answers"])
        rows.append(
            {
                "path": label,
                "questions_per_s": len(examples) / result["seconds"],
                "agreement_pct": agreement(anchor["answers"], result["answers"]),
                "agreement_1_window_pct": agreement(
                    {k: v for k, v in anchor["answers"].items() if k in single}, result["answers"]
                ),
                "exact_match": report.exact_match,
                "f1": report.f1,
            }
        )
    table = pd.DataFrame(rows)
    table["ratio"] = table["questions_per_s"] / table["questions_per_s"].iloc[0]
    columns = ["path", "questions_per_s", "ratio", "agreement_pct", "agreement_1_window_pct"]
    return table[[*columns, "exact_match", "f1"]]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="fine-tuned model folder")
    parser.add_argument("--dev", default="", help="SQuAD dev file (default: the shared one)")
    parser.add_argument("--questions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--profile", default="quick", help="window and batch settings")
    parser.add_argument("--batch-sizes", default="1,8,32", help="pipeline batch sizes to try")
    parser.add_argument("--our-batch-sizes", default="4,16,64", help="our batch sizes to try")
    parser.add_argument("--trial", type=int, default=100, help="questions per batch-size trial")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "eval_throughput"))
    parser.add_argument("--pipeline-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--questions-json", default="", help=argparse.SUPPRESS)
    parser.add_argument("--pipeline-settings", default="{}", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def write_outputs(
    workdir: Path, table, answers: dict, args: argparse.Namespace, anchor: dict, mine: dict
):
    """The table (Markdown), every path's answers, and what the numbers were measured on."""
    from qa_utils.project.io import atomic_write_json, atomic_write_text
    from qa_utils.project.system import hardware_info, versions

    text = table.round(2).to_markdown(index=False)
    atomic_write_text(workdir / "eval_throughput.md", text + "\n")
    atomic_write_json(workdir / "answers.json", answers)
    meta = {
        "model": str(args.model),
        "questions": args.questions,
        "threads": args.threads,
        "trial_qps": {"pipeline": anchor["trial_qps"]}
        | {name: result["trial_qps"] for name, result in mine.items()},
        "hardware": hardware_info(),
        "versions": versions(),
        "load_average": list(os.getloadavg()),
    }
    atomic_write_json(workdir / "eval_throughput_meta.json", meta)
    return text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pipeline_worker:
        sizes = [int(b) for b in args.batch_sizes.split(",")]
        settings = json.loads(args.pipeline_settings)
        result = pipeline_worker(
            args.model, args.questions_json, sizes, args.trial, args.threads, settings
        )
        Path(args.out).write_text(json.dumps(result), encoding="utf-8")
        return 0
    import torch

    from qa_utils.core.data import load_squad, subset

    torch.set_num_threads(args.threads)
    workdir = Path(args.out)
    workdir.mkdir(parents=True, exist_ok=True)
    examples = subset(load_squad(args.dev or None), args.questions, args.seed)
    anchor = run_anchor(Path(args.model).resolve(), examples, args, workdir)
    single = single_window_ids(examples, args)
    mine = ours(args, examples, workdir)
    table = comparison(examples, anchor, mine, single)
    answers = {"pipeline": anchor["answers"]} | {k: v["answers"] for k, v in mine.items()}
    text = write_outputs(workdir, table, answers, args, anchor, mine)
    print(f"{len(examples)} dev questions ({len(single)} in one window), {args.threads} threads")
    print(text)
    trials = {"pipeline": anchor["trial_qps"]} | {k: v["trial_qps"] for k, v in mine.items()}
    for name, qps in trials.items():
        print(f"trial questions/s by batch size, {name}: {qps}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
