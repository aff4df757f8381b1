"""Registries by decorator, looked up by name, with a helpful error on a miss.

Models, datasets, ratio rules, scorers, methods, checks, executors and reports are all plain
name → object maps filled at import time; this is the only global mutable state we allow."""
from __future__ import annotations

import difflib
from typing import Any, Callable, Generic, Iterator, TypeVar

from registry.errors import UserError

T = TypeVar("T")


class UnknownName(UserError, KeyError):
    """A lookup miss; the message lists every known name (and the closest match)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


def unknown_message(kind: str, name: str, names: list[str]) -> str:
    """"unknown <kind> 'x' (did you mean 'y'?); known: a, b, c"."""
    known = ", ".join(sorted(names)) or "(none registered)"
    close = difflib.get_close_matches(str(name), list(names), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {kind} {name!r}{hint}; known: {known}"


class Registry(Generic[T]):
    """A named collection filled by the `register` decorator."""

    instances: "list[Registry[Any]]" = []  # every registry made, so tests can restore them

    def __init__(self, kind: str, loader: Callable[[], None] | None = None):
        """`loader` (optional) imports the modules that fill the registry, on first use: a name can
        then be described from elsewhere (e.g. a catalog file) without importing those modules."""
        self.kind = kind
        self._items: dict[str, T] = {}
        self._meta: dict[str, dict[str, Any]] = {}
        self._loader = loader
        Registry.instances.append(self)

    def _load(self) -> None:
        loader, self._loader = self._loader, None  # once; registering from inside the loader is fine
        if loader is not None:
            loader()

    @property
    def loaded(self) -> bool:
        """Whether the modules that fill this registry have been imported (always, without a loader)."""
        return self._loader is None

    def unregister(self, name: str) -> None:
        """Forget a name (tests drop what a throwaway plugin module registered)."""
        self._items.pop(name, None)
        self._meta.pop(name, None)

    def register(self, name: str | None = None, **meta: Any) -> Callable[[T], T]:
        def decorate(obj: T) -> T:
            self._load()  # the built-in names first, so a clash is reported where it happens
            key = name or getattr(obj, "name", None) or getattr(obj, "__name__")
            if key in self._items:
                raise ValueError(f"{self.kind} {key!r} is registered twice")
            self._items[key] = obj
            self._meta[key] = dict(meta)
            return obj

        return decorate

    def get(self, name: str) -> T:
        self._load()
        try:
            return self._items[name]
        except KeyError:
            raise UnknownName(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        return unknown_message(self.kind, name, list(self._items))

    def meta(self, name: str) -> dict[str, Any]:
        self.get(name)
        return self._meta[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load()
        return iter(self._items.items())

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._items

    def __len__(self) -> int:
        self._load()
        return len(self._items)
