"""Mixed precision: which autocast a run gets, `--amp none|bf16|auto`.

bf16 halves the memory traffic and, where the hardware has bf16 dot products (CUDA; CPUs with AVX512-BF16
or AMX), runs the convs and matmuls faster. Elsewhere oneDNN emulates it and it is many times slower than
fp32, which is why `auto` falls back to fp32 there.
"""

from __future__ import annotations

import torch

AMP_MODES = ("none", "bf16", "auto")


def cpu_has_native_bf16() -> bool:
    """True when oneDNN has bf16 kernels on this CPU (AVX512-BF16 or AMX); otherwise bf16 is emulated."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_amp(amp: str, device: torch.device) -> str:
    """The precision `--amp` means on `device`: "none" or "bf16" ("auto": bf16 where it is native)."""
    if amp not in AMP_MODES:
        raise ValueError(f"--amp {amp!r} is unknown; choose one of {AMP_MODES}")
    if amp != "auto":
        return amp
    return "bf16" if device.type == "cuda" or (device.type == "cpu" and cpu_has_native_bf16()) else "none"
