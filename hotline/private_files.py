"""Files only the service's own account may read: the database, var/ secrets, recordings (0600, folders 0700).

`hotline` sets the umask 077 when it starts, so whatever else it creates is private too; these helpers set the
modes explicitly as well, for files created by code run some other way (tests, a library, an old var/).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

PRIVATE_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create the folder (and any missing parents) readable by the owner only."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)  # mkdir's mode is filtered by the umask; this is not
    return path


def private_file(path: Path) -> None:
    """Create the file if missing, and make it (and SQLite's -wal/-shm beside it) readable by the owner only."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE))
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists():
            os.chmod(candidate, FILE_MODE)


def tighten(folder: Path) -> None:
    """Make an existing folder of the service's own (var/, the recordings root) readable by the owner only."""
    if folder.is_dir():
        os.chmod(folder, DIR_MODE)
