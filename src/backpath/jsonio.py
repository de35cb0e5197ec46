"""One JSON reader for everything that comes from outside: the JSON API, FHIR, CDS Hooks
and the command line.

``json.loads`` alone accepts things that later become server errors or silent decisions:
an integer of 5,000 digits (``int()`` refuses it with a ``ValueError``), nesting a
thousand levels deep, a lone surrogate or a NUL byte that breaks a database or an output
encoder, ``NaN``, and duplicate keys (``{"saddle_numbness": true, "saddle_numbness":
false}`` keeps the last one, which may be the lower urgency). ``loads`` refuses each of
them with an ``IntakeError`` naming the field by its path in the document
(``answers.saddle_numbness``, ``entry[0].resource``, ``(root)`` for the whole document).
"""

from __future__ import annotations

import json
import re
from typing import Any

from backpath.errors import IntakeError

MAX_DEPTH = 32
"""Most nested objects and arrays a document may have (an Intake needs 3, FHIR about 10)."""

MAX_INT_DIGITS = 20
"""Most digits an integer may have (20 holds every 64-bit integer)."""

ROOT = "(root)"

_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]')


class JSONSyntaxError(IntakeError):
    """The input is not JSON at all (or not UTF-8); ``field`` is always ``(root)``."""

    def __init__(self, message: str) -> None:
        super().__init__(ROOT, message)


class _Rejected:
    """A value the decoder met that may not be used; reported with its path by the walk."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message


class _DuplicateKeys(dict[str, Any]):
    """An object in which ``key`` appeared more than once."""

    duplicate: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            marked = _DuplicateKeys(pairs)
            marked.duplicate = key
            return marked
        result[key] = value
    return result


def _parse_int(text: str) -> int | _Rejected:
    digits = len(text) - (text[0] == "-")
    if digits > MAX_INT_DIGITS:
        return _Rejected(f"an integer of {digits} digits; the limit is {MAX_INT_DIGITS}")
    return int(text)


def _parse_float(text: str) -> float | _Rejected:
    if len(text) > 64:
        return _Rejected(f"a number of {len(text)} characters; the limit is 64")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _Rejected("a number too large to use")
    return value


def _parse_constant(name: str) -> _Rejected:
    return _Rejected(f"{name} is not a JSON number")


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{'' if path == ROOT else path}[{key}]"
    return key if path == ROOT else f"{path}.{key}"


def _check_string(path: str, text: str, what: str) -> None:
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        kind = "a NUL byte" if bad.group() == "\x00" else "a lone surrogate (invalid character)"
        raise IntakeError(path, f"{what} contains {kind} at character {bad.start()}")


def _walk(value: Any, path: str, depth: int, max_depth: int) -> None:
    """Raise ``IntakeError`` for the first value (in document order) that may not be used."""
    if isinstance(value, str):
        _check_string(path, value, "the text")
    elif isinstance(value, _Rejected):
        raise IntakeError(path, value.message)
    elif isinstance(value, dict):
        if depth >= max_depth:
            raise IntakeError(path, f"nested too deeply; the limit is {max_depth} levels")
        for key, item in value.items():
            here = _join(path, key)
            if _FORBIDDEN.search(key):
                _check_string(_join(path, ascii(key)[1:-1]), key, "the key")
            if isinstance(value, _DuplicateKeys) and key == value.duplicate:
                raise IntakeError(here, f"{key!r} is given more than once; give each field once")
            _walk(item, here, depth + 1, max_depth)
    elif isinstance(value, list):
        if depth >= max_depth:
            raise IntakeError(path, f"nested too deeply; the limit is {max_depth} levels")
        for index, item in enumerate(value):
            _walk(item, _join(path, index), depth + 1, max_depth)


def _too_deep(text: str, max_depth: int) -> str | None:
    """The path of the first array or object nested more than ``max_depth`` levels deep, or
    ``None``. Checked before decoding: the decoder itself recurses once per level."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > max_depth:
            break
    else:
        return None
    # Too deep: walk the tokens again, keeping the key or index of every open level.
    frames: list[list[Any]] = []  # [bracket, key or index, expecting a key]
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token[0] == '"':
            if frames and frames[-1][0] == "{" and frames[-1][2]:
                frames[-1][1] = token[1:-1]
        elif token in "[{":
            if len(frames) >= max_depth:
                break
            frames.append([token, 0 if token == "[" else "", token == "{"])
        elif token in "]}":
            if frames:
                frames.pop()
        elif token == "," and frames:
            if frames[-1][0] == "[":
                frames[-1][1] += 1
            else:
                frames[-1][2] = True
        elif token == ":" and frames:
            frames[-1][2] = False
    path = ROOT
    for _bracket, key, _expecting in frames:
        path = _join(path, key)
    return path


# Escapes that may decode to a NUL or a lone surrogate (an escaped surrogate pair is
# harmless and also matches: that only costs the careful path, which then decides).
_SUSPECT_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_SURROGATE = re.compile("[\ud800-\udfff]")


class _CarefulPathError(Exception):
    """The quick decoding met something only the careful path may judge."""


def _pairs_quick(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _CarefulPathError
    return result


def _parse_int_quick(text: str) -> int:
    if len(text) - (text[0] == "-") > MAX_INT_DIGITS:
        raise _CarefulPathError
    return int(text)


def _parse_float_quick(text: str) -> float:
    value = _parse_float(text)
    if isinstance(value, _Rejected):
        raise _CarefulPathError
    return value


def _parse_constant_quick(name: str) -> float:
    raise _CarefulPathError


def _quick(text: str, max_depth: int) -> Any:
    """The document when it plainly needs no refusal, else ``_CarefulPathError`` (raised):
    no more brackets than ``max_depth`` (so it cannot be nested too deeply), no NUL byte or
    surrogate written or escaped, no repeated key, no unusable number, and valid JSON. The
    document is the one the careful path gives; anything else goes to the careful path,
    which says what is wrong."""
    if (
        text.count("{") + text.count("[") > max_depth
        or "\x00" in text
        or ("\\u" in text and _SUSPECT_ESCAPE.search(text))
        or (not text.isascii() and _SURROGATE.search(text))
    ):
        raise _CarefulPathError
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs_quick,
            parse_int=_parse_int_quick,
            parse_float=_parse_float_quick,
            parse_constant=_parse_constant_quick,
        )
    except (ValueError, RecursionError):
        raise _CarefulPathError from None


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON document, or raise ``IntakeError`` naming where it is unusable.

    Bytes must be UTF-8 (a byte order mark is refused, as RFC 8259 allows). Input that is
    not JSON raises ``JSONSyntaxError`` (an ``IntakeError`` on ``(root)``) with the line and
    column; JSON that may not be used raises a plain ``IntakeError`` naming the field.
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONSyntaxError(f"not valid UTF-8 at byte {exc.start}") from None
    else:
        text = data
    if text.startswith("\ufeff"):
        raise JSONSyntaxError("starts with a byte order mark; send plain UTF-8 JSON")
    try:
        return _quick(text, max_depth)
    except _CarefulPathError:
        pass
    deep = _too_deep(text, max_depth)
    if deep is not None:
        raise IntakeError(deep, f"nested too deeply; the limit is {max_depth} levels")
    try:
        document = json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise JSONSyntaxError(f"not valid JSON: {exc}") from None
    except RecursionError:
        raise IntakeError(ROOT, f"nested too deeply; the limit is {max_depth} levels") from None
    _walk(document, ROOT, 0, max_depth)
    return document
