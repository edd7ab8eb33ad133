"""Writing results without losing what the user already has: atomic files, resumable CSV logs."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence


def atomic_write(path: str | os.PathLike, write: Callable[[io.BufferedWriter], None]) -> None:
    """Write ``path`` through ``write(fileobj)`` into a temporary file, then rename it into place,
    so a reader (or a killed process) never sees a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_torch_save(path: str | os.PathLike, obj: Any) -> None:
    """``torch.save(obj)`` into ``path`` atomically. The bytes are serialised in memory first
    and then written, so a full disk or a file-size limit surfaces as the OSError it is (with
    its errno; torch's zip writer would turn it into a RuntimeError) and the old file stays."""
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    data = buf.getbuffer()
    atomic_write(path, lambda f: f.write(data))


def check_writable(folder: str | os.PathLike, shown_as: str | os.PathLike | None = None) -> None:
    """Create ``folder`` and write a probe file there, or raise a one-line UserError naming the
    ``--out`` the user gave (``shown_as``, default ``folder``)."""
    from wganbench.errors import UserError

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".wganbench-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        shown = str(shown_as if shown_as is not None else folder)
        raise UserError(f"--out {shown!r}: cannot write there ({e.strerror or e})") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_json(path: str | os.PathLike, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return str(value)


class CsvLog:
    """A CSV file that grows one row at a time, and can be cut back to a step on resume.

    Rows are appended and flushed as they come, so progress is visible while a run goes on. A
    process killed mid-write can leave a partial last line; :meth:`truncate_after` (called on
    resume) rewrites the file atomically with only the complete rows up to the checkpoint.
    """

    def __init__(self, path: str | os.PathLike, columns: Sequence[str]) -> None:
        self.path = Path(path)
        self.columns = list(columns)
        self._file: io.TextIOWrapper | None = None

    def start(self) -> None:
        atomic_write_text(self.path, ",".join(self.columns) + "\n")

    def truncate_after(self, step: int) -> None:
        rows = self.read_rows()
        keep = [r for r in rows if int(r["step"]) <= step]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n",
                                extrasaction="ignore")
        writer.writeheader()
        writer.writerows(keep)
        atomic_write_text(self.path, buf.getvalue())

    def read_rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        text = self.path.read_text()
        lines = text.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines = lines[:-1]  # a partial row left by a killed process
        reader = csv.DictReader(lines)
        # complete rows by the file's own header (a run started before a column was added
        # keeps its rows; the new column stays empty there)
        return [r for r in reader if None not in r.values() and None not in r
                and len(r) == len(reader.fieldnames or ())]

    def append(self, row: dict[str, Any]) -> None:
        if self._file is None:
            self._file = open(self.path, "a", newline="")
        self._file.write(",".join(_fmt(row.get(c)) for c in self.columns) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
