"""Resolving an auditor's subject (an exact resident code) to the surrogate ids the log stores (§11).

The identity apps own the code history, so they register a resolver here (in their AppConfig.ready) instead of
audit importing them: `subject_resolver_register(fn)` with `fn(resident_code) -> list[("app.model", "id")]`.
Resolvers return ids only, never identity items.
"""

from __future__ import annotations

from collections.abc import Callable

Resolver = Callable[[str], list[tuple[str, str]]]
_resolvers: list[Resolver] = []


def subject_resolver_register(resolver: Resolver) -> Resolver:
    if resolver not in _resolvers:
        _resolvers.append(resolver)
    return resolver


def subject_resolve(resident_code: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for resolver in _resolvers:
        pairs.extend((str(label), str(pk)) for label, pk in resolver(resident_code))
    return pairs
