"""GPU acceleration: fp32, fp16 and bf16 autocast at larger batches, beside the CPU, in one run.

Every row answers the same dev questions through `qa_utils.core.inference.infer`
(`qa_utils.optimize.gpu.gpu_table`); the first row is the CPU in fp32 at the profile's batch
size, and speed-up, F1 change and answer agreement are relative to it. On a machine without a
CUDA device it prints one line saying so and exits 0 (nothing is measured, nothing written).
Writes gpu.csv, gpu.md and gpu_meta.json to --out.

Usage (from the repo root):
    python -m benchmarks.gpu --model PATH [--questions 1000] [--profile quick]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from qa_utils.core.data import load_squad, subset
from qa_utils.core.model import load_qa_model, load_tokenizer
from qa_utils.optimize import bench, gpu
from qa_utils.project.config import get_profile

ROOT = Path(__file__).resolve().parents[1]
NO_CUDA = "no CUDA device: the GPU benchmark did not run (nothing measured, nothing written)"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--model", required=True, help="fine-tuned model folder, e.g. runs/quick/model"
    )
    parser.add_argument("--profile", default="quick", help="window and batch settings")
    parser.add_argument("--questions", type=int, default=1000, help="dev questions")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the CPU row")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gpu"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = gpu.cuda_device()
    if device is None:
        print(NO_CUDA)
        return 0
    torch.set_num_threads(args.threads)
    profile = get_profile(args.profile, seed=args.seed)
    tokenizer, model = load_tokenizer(args.model), load_qa_model(args.model).eval()
    examples = subset(load_squad(), args.questions, args.seed)
    workload = bench.make_workload(examples, tokenizer, profile, 0)
    table = gpu.gpu_table(model, workload, profile.inference, device)
    meta = bench.bench_metadata(profile, len(examples), 0) | {
        "model": args.model,
        "gpu": torch.cuda.get_device_name(0),
    }
    bench.write_bench(table, args.out, meta, stem="gpu")
    print(f"{meta['gpu']}; CPU row: {meta['hardware']['cpu']}, {args.threads} threads")
    print(bench.results_markdown(table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
