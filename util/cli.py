"""User errors of the command-line tools: one line on stderr, exit status 2."""
from __future__ import annotations

import sys
from typing import NoReturn


def fail(what: str, where: str, fix: str) -> NoReturn:
    """Print `error: <what> (<where>): <fix>` and exit 2: a mistake in the command, not a crash."""
    print(f"error: {what} ({where}): {fix}", file=sys.stderr)
    raise SystemExit(2)
