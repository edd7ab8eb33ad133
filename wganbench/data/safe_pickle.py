"""Reading CIFAR-10's python batches without running code from them.

The batches (``data_batch_1`` ... ``test_batch``) are pickles, and ``pickle.load`` of a crafted
file runs whatever it names. :func:`load_batch` unpickles through a restricted
:class:`pickle.Unpickler` whose ``find_class`` admits only what the format needs to rebuild a
dict of lists, strings and one uint8 numpy array: numpy's array reconstructors and ``dtype``
(both spellings, ``numpy.core`` and numpy 2's ``numpy._core``), and ``_codecs.encode`` (how
Python 3 writes bytes at protocol 2). Anything else (``os.system``, ``builtins.eval``, ...) is
refused before it is called: the file is reported as unsafe, by name.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from wganbench.errors import UserError

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _Refused(Exception):
    pass


class RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise _Refused(f"{module}.{name}")


def load_batch(path: str | Path) -> dict:
    """One CIFAR-10 python batch (a dict with ``data`` and ``labels``), safely."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            entry = RestrictedUnpickler(f, encoding="latin1").load()
    except _Refused as e:
        raise UserError(f"{str(path)!r} is not a CIFAR-10 batch: it asks to run {e} (refused; "
                        "a CIFAR-10 pickle holds only a dict, lists and a numpy array)") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
            IndexError, KeyError, UnicodeDecodeError) as e:
        raise UserError(f"{str(path)!r} is damaged or not a CIFAR-10 batch "
                        f"({type(e).__name__})") from None
    if not isinstance(entry, dict):
        raise UserError(f"{str(path)!r} is not a CIFAR-10 batch (a {type(entry).__name__}, not a dict)")
    entry = {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in entry.items()}
    if "data" not in entry:
        raise UserError(f"{str(path)!r} is not a CIFAR-10 batch (no 'data' entry)")
    return entry
