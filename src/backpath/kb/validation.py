"""Turning pydantic validation errors into ``file: id: field: message`` problems.

Shared by every knowledge loader (core, handout, ...) so that a typo anywhere in the
knowledge base is reported the same way: the file, the id of the entry, the field, and for
an unknown key the list of valid keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError


def validation_problems(
    exc: ValidationError,
    data: Any,
    rel: str,
    model: type[BaseModel],
    id_keys: tuple[str, ...] = ("id", "code"),
) -> list[str]:
    """One problem line per error in ``exc``, located by the nearest entry id."""
    problems = []
    for error in exc.errors():
        loc = error["loc"]
        where = ".".join(str(part) for part in loc)
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            valid = valid_keys(model, loc)
            if valid:
                message = f"unknown key; valid keys: {', '.join(valid)}"
        problems.append(f"{rel}: {locate_id(data, loc, id_keys)}: {where}: {message}")
    return problems


def locate_id(data: Any, loc: tuple[Any, ...], id_keys: tuple[str, ...] = ("id", "code")) -> str:
    """The id of the innermost list entry an error points into, or ``(file)``."""
    node = data
    found = "(file)"
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, dict):
            for key in id_keys:
                if isinstance(node.get(key), str):
                    found = node[key]
    return found


def valid_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names of the (nested) model that an error location sits in."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        candidates = [info.annotation, *getattr(info.annotation, "__args__", ())]
        nested = [getattr(c, "__args__", ()) for c in candidates]
        flat = [*candidates, *(item for group in nested for item in group)]
        current = next((c for c in flat if isinstance(c, type) and issubclass(c, BaseModel)), None)
        if current is None:
            return []
    return sorted(getattr(current, "model_fields", {}))
