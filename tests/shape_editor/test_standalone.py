"""`shape_editor/` stands alone: copied by itself into an empty folder, it trains nothing but edits masks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import shape_editor

SCRIPT = textwrap.dedent("""
    import sys
    from dataclasses import asdict

    import torch

    import shape_editor
    from shape_editor import MaskEditor, ShapeVAE, ShapeVAEConfig, load_shape_vae
    from shape_editor.checkpoint_io import atomic_torch_save
    from shape_editor.labels import colorize, part_id

    assert shape_editor.__file__.startswith(sys.argv[1]), shape_editor.__file__
    torch.manual_seed(0)
    config = ShapeVAEConfig(crop_size=32, enc_size=16, enc_widths=(64, 32), ngf=4)
    vae = ShapeVAE(config)
    atomic_torch_save({"state_dict": vae.state_dict(), "config": asdict(config), "step": 0}, "net.pth")
    editor = MaskEditor(load_shape_vae("net.pth"))
    labels = torch.randint(0, config.label_nc, (2, 1, 32, 32))
    out = editor.generate(labels, [part_id("nose")], n_samples=3, generator=torch.Generator().manual_seed(0))
    assert out.masks.shape == (2, 3, 32, 32), out.masks.shape
    assert colorize(out.masks.numpy()).shape == (2, 3, 32, 32, 3)
    outside = sorted({m.split(".")[0] for m in sys.modules} & {"data", "util", "options", "models", "trainers"})
    assert not outside, outside
    print("edited", tuple(out.masks.shape))
""")


def test_the_folder_alone_runs_an_edit(tmp_path):
    shutil.copytree(
        Path(shape_editor.__file__).parent, tmp_path / "shape_editor", ignore=shutil.ignore_patterns("__pycache__")
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "edited (2, 3, 32, 32)" in result.stdout
