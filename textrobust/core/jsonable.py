"""Report dataclasses as JSON objects: the fields that go in as they are."""

from __future__ import annotations

from typing import Any


def attributes(obj: Any, *names: str) -> dict[str, Any]:
    """``{name: obj.name}`` for each of ``names``, in that order (a ``to_json``'s plain fields)."""
    return {name: getattr(obj, name) for name in names}
