"""One writer at a time: exclusive locks on run folders and on results files while they merge.

A lock is ``flock(LOCK_EX | LOCK_NB)`` on a small lock file (``DIR/.wganbench.lock`` for a
folder, ``.NAME.lock`` beside a file). The kernel drops it when the process ends, however it
ends (SIGKILL included), so a lock left by a killed process is never stale: the file stays, its
lock does not, and the next process takes it over. The lock file holds the holder's pid and
command, for the one-line message a second writer gets.

Where ``fcntl`` is missing (Windows) locking is a no-op, said once in the README; on network
file systems ``flock`` may only lock against processes on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from wganbench.errors import UserError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

FOLDER_LOCK = ".wganbench.lock"

#: locks this process holds: path -> (file descriptor, depth), so that a holder may re-enter
_HELD: dict[str, list[int]] = {}


def lock_path_for_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.parent / f".{path.name}.lock"


def _holder(lock_file: Path) -> str:
    try:
        text = lock_file.read_text().strip()
    except OSError:
        return ""
    return f" (held by pid {text})" if text else ""


@contextlib.contextmanager
def exclusive(lock_file: str | os.PathLike, what: str, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (created if needed) for the ``with`` block, or
    raise a one-line UserError naming ``what`` when another process still holds it after
    ``wait`` seconds. Re-entrant within one process."""
    lock_file = Path(lock_file)
    key = str(lock_file.resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise UserError(f"{what}: cannot write there ({e.strerror or e})") from None
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise UserError(f"{what} is in use by another wganbench process"
                                    f"{_holder(lock_file)}; wait for it to finish, or choose "
                                    "another folder") from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {' '.join(sys.argv[:3])}".encode())
        _HELD[key] = [fd, 1]
        try:
            yield
        finally:
            del _HELD[key]
            os.ftruncate(fd, 0)  # the file stays (removing it would race a waiting locker)
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def lock_folder(folder: str | os.PathLike, what: str | None = None) -> Iterator[None]:
    """:func:`exclusive` on ``folder/.wganbench.lock``. The folder is created; if it was
    created here and nothing but the lock file is in it at the end (the work failed before
    writing), it is removed again."""
    folder = Path(folder)
    created = not folder.exists()
    try:
        with exclusive(folder / FOLDER_LOCK, what or f"--out {str(folder)!r}"):
            yield
    finally:
        if created and str((folder / FOLDER_LOCK).resolve()) not in _HELD:
            try:
                if [p.name for p in folder.iterdir()] == [FOLDER_LOCK]:
                    (folder / FOLDER_LOCK).unlink()
                    folder.rmdir()
            except OSError:
                pass


#: how long a read-merge-write of a results file waits for another writer to finish (a
#: merge takes milliseconds; the measurements before it took minutes and must not be lost)
MERGE_WAIT_SECONDS = 600.0


def lock_file(path: str | os.PathLike, what: str | None = None,
              wait: float = MERGE_WAIT_SECONDS):
    """:func:`exclusive` on ``.NAME.lock`` beside ``path``, for a read-merge-write of it; waits
    for another writer's merge to finish rather than failing."""
    return exclusive(lock_path_for_file(path), what or f"{str(path)!r}", wait=wait)
