"""Small name -> object registries for datasets, models, losses, Lipschitz methods and objectives.

A new loss, model or dataset is added by registering it in the module that defines it; nothing
else has to change. Lookups of unknown names raise a :class:`~wganbench.errors.UserError` that
lists what is allowed.
"""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from wganbench.errors import UserError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of entries of one kind (e.g. ``"objective"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str, entry: T | None = None):
        """Register ``entry`` under ``name``; without ``entry``, works as a decorator."""

        def add(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = obj
            return obj

        if entry is None:
            return add
        return add(entry)

    def get(self, name: str) -> T:
        try:
            return self._entries[name]
        except KeyError:
            raise UserError(
                f"unknown {self.kind} {name!r}; choose from: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return list(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(self._entries.items())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)


Factory = Callable[..., T]
