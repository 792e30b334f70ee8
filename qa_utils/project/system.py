"""What machine and which library versions produced a number."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from typing import Any

import torch

LIBRARIES = ("torch", "transformers", "tokenizers", "datasets", "numpy", "onnxruntime", "qa-utils")


def cpu_name() -> str:
    """The CPU model as the kernel reports it (falls back to the platform string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def hardware_info() -> dict[str, Any]:
    """CPU, core count, torch threads and GPU (if any)."""
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "gpu": gpu,
        "platform": platform.platform(),
    }


def versions() -> dict[str, str]:
    """Python and key library versions."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
