"""What a measurement ran on, for the JSON beside it: CPU model, cores, bf16 support, torch."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

CPUINFO = Path("/proc/cpuinfo")


def cpuinfo_fields(text: str) -> tuple[str, set[str]]:
    """(model name, flags) from /proc/cpuinfo text (its processors agree); ("", set()) where absent."""
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name", ""), set(fields.get("flags", "").split())


def machine_info() -> dict[str, object]:
    """CPU model, logical cores (all, and those this process may use), avx512_bf16, torch and its threads."""
    text = CPUINFO.read_text() if CPUINFO.is_file() else ""
    model, flags = cpuinfo_fields(text)
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_model": model or platform.processor(),
        "cpus": os.cpu_count(),
        "usable_cpus": usable,
        "avx512_bf16": "avx512_bf16" in flags,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
    }
