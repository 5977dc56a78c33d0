"""Huge pages are on by default for the entry points, before torch is imported, and can be turned off."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent.parent


@pytest.mark.parametrize("entry_point", ["train.py", "test.py"])
def test_entry_points_import_huge_pages_before_anything_else(entry_point):
    tree = ast.parse((ROOT / entry_point).read_text())
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    first = [node for node in imports if not (isinstance(node, ast.ImportFrom) and node.module == "__future__")][0]
    assert isinstance(first, ast.Import) and first.names[0].name == "util.huge_pages"


@pytest.mark.parametrize("preset, expected", [(None, "1"), ("0", "0")])
def test_importing_sets_the_pytorch_switch_unless_the_user_set_it(preset, expected):
    env = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    if preset is not None:
        env["THP_MEM_ALLOC_ENABLE"] = preset
    code = (
        "import sys, util.huge_pages, os; assert 'torch' not in sys.modules; print(os.environ['THP_MEM_ALLOC_ENABLE'])"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == expected
