"""Shared fixtures: tiny command lines that keep end-to-end runs fast on two CPU cores."""

import tempfile
from pathlib import Path

import pytest
import torch
from hypothesis.configuration import set_hypothesis_home_dir

torch.set_num_threads(1)  # no OpenMP spin-waiting when test processes share the two cores
# The test run writes nothing into the repository: hypothesis keeps its caches in the temp folder.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "shapevae-hypothesis")

# A small shape VAE on 32x32 synthetic masks: seconds per epoch on a laptop CPU.
TINY_SHAPEVAE = [
    "--model",
    "shapevae",
    "--gpu_ids",
    "-1",
    "--load_size",
    "32",
    "--crop_size",
    "32",
    "--enc_size",
    "16",
    "--enc_widths",
    "64,32",
    "--ngf",
    "4",
    "--nThreads",
    "0",
    "--no_synthetic_images",
]


@pytest.fixture
def tiny_shapevae_args(tmp_path):
    return [*TINY_SHAPEVAE, "--checkpoints_dir", str(tmp_path / "checkpoints")]
