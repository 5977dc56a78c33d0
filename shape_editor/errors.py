"""The one exception class for errors a user causes and can fix.

Library code raises `UserError(what, where, fix)`; the command-line handler (`shape_editor.cli`) prints it
as one line `error: <what> (<where>): <fix>` and exits with status 2. It subclasses `ValueError`, so code
that already catches bad input as `ValueError` keeps working.
"""

from __future__ import annotations


class UserError(ValueError):
    """Bad input, a bad flag, a missing or broken file: something the user can fix.

    Args:
        what: what is wrong, e.g. "run folder already holds a run".
        where: the file or flag at fault, e.g. "--name run1" or a path.
        fix: how to fix it, e.g. "pick another --name or add --overwrite".
    """

    def __init__(self, what: str, where: object = "", fix: str = "") -> None:
        self.what, self.where, self.fix = what, str(where), fix
        super().__init__(self.line())

    def line(self) -> str:
        """`<what> (<where>): <fix>`, leaving out the parts that are empty."""
        text = self.what + (f" ({self.where})" if self.where else "")
        return f"{text}: {self.fix}" if self.fix else text


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named (or a run needs) does not exist; still a `FileNotFoundError`."""
