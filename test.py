"""Test a trained model and write its results page: `python test.py --edit_part nose` (SPADE/SEAN style).

`--model shapevae` edits masks with the shape editor; `--model sean` synthesises photos, and with
`--shape_name` feeds it masks edited by that shape-VAE run (the plugin pipeline).
"""

from __future__ import annotations

import util.huge_pages  # noqa: F401  (first: it must run before torch is imported)

import logging
from pathlib import Path
from typing import Sequence

import testers
from options.test_options import TestOptions
from shape_editor.cli import run_cli
from util.distributed import select_device
from util.seed import seed_everything
from util.staging import replaced_folder

logger = logging.getLogger("test")


def main(argv: Sequence[str] | None = None) -> Path:
    """Test and write the results folder; only under --results_dir, swapped in whole when the run succeeds."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    options = TestOptions()
    opt = options.parse(argv)
    seed_everything(opt.seed)
    tester = testers.create_tester(opt, select_device(opt.gpu_ids))
    final = tester.web_dir
    with replaced_folder(final) as staging:
        tester.web_dir = staging
        options.save_options(opt, staging)
        page = final / tester.run().relative_to(staging)
    tester.web_dir = final
    logger.info("results page: %s", page)
    return page


if __name__ == "__main__":
    run_cli(main)
