"""What a run folder may hold, and when wganbench may write into one.

``train --out DIR`` writes only into a folder that is absent, empty, or a run of ours. A run of
ours carries the marker file ``.wganbench-run`` (written when the run starts); folders written
before the marker existed are recognised by their ``checkpoint.pt`` and ``config.json``. Any
other non-empty folder is refused with one line naming it, so a user's own ``config.json`` or
``samples.png`` is never overwritten.

A run of ours that stopped before its first checkpoint (killed, out of memory, a late
validation error) holds nothing worth keeping: it is started again, with a note, and the files
wganbench wrote there are removed first; files wganbench does not write are left alone.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

from wganbench.errors import UserError, first_line
from wganbench.locking import FOLDER_LOCK

MARKER = ".wganbench-run"
CHECKPOINT = "checkpoint.pt"
#: files and folders a run writes (``stages``: the per-stage networks of a reproduction)
RUN_FILES = ("config.json", "provenance.json", "metrics.csv", CHECKPOINT, "samples.png",
             "fidelity.csv", MARKER)
RUN_DIRS = ("stages",)


def note(message: str) -> None:
    """A one-line remark on stderr that is not an error."""
    print(f"wganbench: note: {message}", file=sys.stderr)


def _entries(out: Path) -> list[str]:
    try:
        return sorted(p.name for p in out.iterdir() if p.name != FOLDER_LOCK)
    except FileNotFoundError:
        return []
    except NotADirectoryError:
        raise UserError(f"--out {str(out)!r} is a file, not a folder") from None


def is_run(out: Path) -> bool:
    """A run of ours: the marker, or (written before the marker) checkpoint and config."""
    return (out / MARKER).is_file() or ((out / CHECKPOINT).is_file()
                                        and (out / "config.json").is_file())


def has_checkpoint(out: Path) -> bool:
    return (out / CHECKPOINT).is_file()


def write_marker(out: Path) -> None:
    from wganbench.results import write_json

    if not (out / MARKER).exists():
        write_json(out / MARKER, {"written_by": "wganbench train",
                                  "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def remove_temp_files(out: Path) -> list[str]:
    """Delete temporary files of interrupted atomic writes (``.NAME.XXXX.tmp``); call it only
    while holding the folder's lock."""
    removed = []
    for p in out.glob(".*.tmp"):
        try:
            p.unlink()
            removed.append(p.name)
        except OSError:
            pass
    return removed


def clear_run_files(out: Path) -> None:
    """Remove what a run writes, keeping anything else in the folder."""
    for name in RUN_FILES:
        try:
            (out / name).unlink()
        except FileNotFoundError:
            pass
    for name in RUN_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)
    remove_temp_files(out)


def check_new_run(out: Path) -> None:
    """:func:`prepare_new_run`'s refusals without its clearing (to check several folders
    before any is touched)."""
    names = _entries(out)
    if not names or (out / MARKER).is_file() and not has_checkpoint(out):
        return
    prepare_new_run(out)  # raises: a run with a checkpoint, or not ours


def prepare_new_run(out: Path) -> None:
    """Check that a new run may start in ``out`` (absent, empty, or a run of ours without a
    checkpoint, which is cleared with a note); otherwise raise a one-line UserError."""
    names = _entries(out)
    if not names:
        return
    if has_checkpoint(out) and is_run(out):
        raise UserError(f"--out {str(out)!r} already holds a run; pass --resume to continue it "
                        "or choose another --out")
    if (out / MARKER).is_file():
        note(f"--out {str(out)!r} holds a run that stopped before its first checkpoint; "
             "nothing in it is worth keeping, starting it again")
        clear_run_files(out)
        return
    shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
    raise UserError(f"--out {str(out)!r} is not empty and is not a wganbench run (it holds "
                    f"{shown}); choose an empty or new folder")


def read_config_dict(out: Path) -> dict:
    """``config.json`` of a run as a dict, or a one-line UserError naming the file."""
    path = out / "config.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--resume: {str(path)!r} is missing; the run cannot be continued "
                        "without its configuration") from None
    except (OSError, ValueError) as e:
        raise UserError(f"--resume: {str(path)!r} is not readable JSON ({first_line(e)})") from None
    if not isinstance(data, dict):
        raise UserError(f"--resume: {str(path)!r} holds a JSON {type(data).__name__}, not the "
                        "object of settings wganbench writes")
    return data


def exists_nonempty(path: str | os.PathLike) -> bool:
    return bool(_entries(Path(path)))
