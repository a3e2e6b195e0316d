"""The one way apps extend each other: named extension points and signals.

Dependencies point one way (DESIGN.md section 2: ``learning -> assurance -> pathways ->
scaling_ops`` and ``workforce -> pathways -> scaling_ops``). When a lower app needs something
only a higher app knows (a guard that may refuse, a card, a panel, a link), the lower or reading
app defines an **extension point** here and reads it; the higher app registers a provider into
it from its ``AppConfig.ready``. The lower app never imports the higher one.

Two kinds, one for each need:

- ``ExtensionPoint``: an ordered list of providers the defining app *asks* (guards that return
  reasons to refuse, providers that return cards, panels, links, people). Defined with
  ``ExtensionPoint(name, defined_by=..., signature=..., doc=...)``; registered with
  ``point.register(provider, order=...)`` (or ``@point.register(order=...)`` as a decorator);
  read with ``point.providers()``, lowest ``order`` first, registration order among equals.
  Registering the same provider (or the same ``key``) again replaces it, so ``ready()`` may run
  twice (the test runner does) without doubling anything.
- ``signal(name, defined_by=..., arguments=..., doc=...)``: a Django ``Signal`` for a *fact that
  happened* (items triaged, a month's snapshots stored); receivers ``connect`` with a
  ``dispatch_uid`` as Django's documentation says.

Every point and signal of the platform, with its signature, the app that defines it and who
registers what, is listed in docs/architecture.md ("Extension points"); a test keeps that table
and the registrations in step (tests/scaling_ops/test_extensions.py)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Generic, TypeVar, overload

from django.dispatch import Signal

T = TypeVar("T")
DEFAULT_ORDER = 100


@dataclass
class _Entry(Generic[T]):
    key: Hashable
    order: int
    provider: T


@dataclass(eq=False)
class ExtensionPoint(Generic[T]):
    name: str
    defined_by: str  # the app label that reads the point
    signature: str  # how each provider is called and what it returns
    doc: str = ""
    _entries: list[_Entry[T]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        _catalogue(self)

    @overload
    def register(self, provider: T, *, order: int = ..., key: Hashable | None = ...) -> T: ...

    @overload
    def register(
        self, provider: None = ..., *, order: int = ..., key: Hashable | None = ...
    ) -> Callable[[T], T]: ...

    def register(self, provider=None, *, order=DEFAULT_ORDER, key=None):
        """Adds ``provider`` at ``order`` (replacing an earlier registration with the same
        ``key``, by default the provider itself). Without a provider, returns a decorator."""
        if provider is None:
            return lambda decorated: self.register(decorated, order=order, key=key)
        key = provider if key is None else key
        for entry in self._entries:
            if entry.key == key:
                entry.order, entry.provider = order, provider
                break
        else:
            self._entries.append(_Entry(key=key, order=order, provider=provider))
        return provider

    def providers(self) -> list[T]:
        """The registered providers, lowest ``order`` first (stable among equal orders)."""
        return [entry.provider for entry in sorted(self._entries, key=lambda e: e.order)]

    @contextmanager
    def overridden(self, *providers: T) -> Iterator[None]:
        """Only ``providers`` (in that order) for the duration, e.g. in a test; the
        registrations are restored afterwards."""
        saved = self._entries
        self._entries = [_Entry(key=p, order=i, provider=p) for i, p in enumerate(providers)]
        try:
            yield
        finally:
            self._entries = saved


class ExtensionSignal(Signal):
    """A Django signal that knows its name, its defining app and its arguments (for the table in
    docs/architecture.md); sending and connecting are Django's own."""

    def __init__(self, name: str, *, defined_by: str, arguments: str, doc: str = "") -> None:
        super().__init__()
        self.name = name
        self.defined_by = defined_by
        self.signature = arguments
        self.doc = doc
        _catalogue(self)


def signal(name: str, *, defined_by: str, arguments: str, doc: str = "") -> ExtensionSignal:
    return ExtensionSignal(name, defined_by=defined_by, arguments=arguments, doc=doc)


_points: dict[str, ExtensionPoint | ExtensionSignal] = {}


def _catalogue(point: ExtensionPoint | ExtensionSignal) -> None:
    existing = _points.get(point.name)
    if existing is not None and existing is not point:
        raise ValueError(
            f"Extension point {point.name!r} is defined twice ({existing.defined_by} and "
            f"{point.defined_by}); give the new one another name."
        )
    _points[point.name] = point


def catalogue() -> list[ExtensionPoint | ExtensionSignal]:
    """Every extension point and signal defined so far, by name (all of them once the apps are
    ready: each app's ``extension_points`` module is imported by its own readers)."""
    return [_points[name] for name in sorted(_points)]
