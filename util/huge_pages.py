"""Importing this module turns on PyTorch's transparent huge pages for CPU tensors (import it before torch).

PyTorch reads `THP_MEM_ALLOC_ENABLE` once, at its first allocation: with it, tensors of 2 MB and more are
2 MB-aligned and advised to the kernel as huge pages. Every fresh tensor then takes 512x fewer page
faults, which makes large fresh tensors (decoder activations, one-hot batches) cheaper to create and
fragments memory less (`python -m benchmarks.bench` measures the effect on the machine at hand). It
changes no result. An explicit `THP_MEM_ALLOC_ENABLE=0` in the environment is respected; where the
kernel's huge pages are off (`/sys/kernel/mm/transparent_hugepage/enabled` = never) it has no effect.
Deliberately free of imports beyond `os`, so that entry points can import it first.
"""

import os

os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")
