"""The rich console `hotline` commands print through: fitted to a terminal; in logs, pipes and files, wide and
unwrapped, so a message or a table row is never broken mid-phrase at 80 columns."""

from __future__ import annotations

from typing import IO

from rich.console import Console

NOT_A_TERMINAL_WIDTH = 200  # wide enough for a table row of Chinese labels and figures


def console_for(file: IO[str] | None = None, *, stderr: bool = False) -> Console:
    """A console writing to `file` (default stdout, or stderr); soft-wrapped and wide when not a terminal."""
    console = Console(file=file, stderr=stderr)
    if console.is_terminal:
        return console
    return Console(file=file, stderr=stderr, width=NOT_A_TERMINAL_WIDTH, soft_wrap=True)
