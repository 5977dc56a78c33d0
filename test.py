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
from util.distributed import select_device
from util.seed import seed_everything

logger = logging.getLogger("test")


def main(argv: Sequence[str] | None = None) -> Path:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    opt = TestOptions().parse(argv)
    seed_everything(opt.seed)
    page = testers.create_tester(opt, select_device(opt.gpu_ids)).run()
    logger.info("results page: %s", page)
    return page


if __name__ == "__main__":
    main()
