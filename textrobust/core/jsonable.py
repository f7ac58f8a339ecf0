"""Plain fields of an object as a dict: the fields a ``to_json`` or a report takes as they are."""

from __future__ import annotations

from typing import Any


def attributes(obj: Any, *names: str) -> dict[str, Any]:
    """``{name: obj.name}`` for each of ``names``, in that order."""
    return {name: getattr(obj, name) for name in names}
