"""JSON in and out, exactly as orjson reads and writes it, without paying for orjson when a
document is small.

orjson is the codec of the clearing documents: a ledger can be a gigabyte, and orjson reads
and writes it many times faster than the standard library. But importing orjson costs a fresh
process ~25 ms (it imports ``dataclasses``, ``inspect``, ``uuid``, ``platform``, ``json``),
and most documents a command touches are small: a ledger's header (the C scanner reads the
records), the counts, the catalogue, a clearing result with a handful of mismatches. For
those the standard library's ``json``, which costs ~3 ms to import, does the work — but only
where it gives *the same result as orjson*:

* reading: bytes of at most ``SMALL_BYTES``, valid UTF-8, without a backslash (escapes are
  where the two differ: ``"\\ud800"``), without ``NaN``/``Infinity``, every integer within
  orjson's 64 bits, every float finite, fewer than ``MAX_OPENINGS`` brackets (so no nesting
  either refuses). Anything else, and every error, goes to orjson, which decides and words
  the error, so an invalid document is refused with orjson's message whichever path it took;
* writing: a document of at most ``SMALL_VALUES`` values of the plain JSON types (dict with
  ``str`` keys, list, ``str``, 64-bit ``int``, ``bool``, ``None``) and not deeper than
  ``MAX_DEPTH``; anything else (a float, a ``Decimal``, a big document) goes to orjson.

tests/domain/test_jsoncodec.py compares both paths with orjson on generated documents.
"""

from __future__ import annotations

SMALL_BYTES = 64 * 1024
SMALL_VALUES = 5000
MAX_OPENINGS = 512  # orjson reads 1024 levels, the standard library ~1000 (recursion limit)
MAX_DEPTH = 64
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1  # what orjson reads as int (beyond: float)

class _NotTheSame(ValueError):
    """The standard library would read this differently from orjson: let orjson read it."""


def _refuse_constant(name: str):
    raise _NotTheSame(name)


def _int(text: str) -> int:
    value = int(text)
    if not _INT_MIN <= value <= _INT_MAX:
        raise _NotTheSame(text)
    return value


def _float(text: str) -> float:
    # A JSON number with a fraction or an exponent, read as orjson reads it (a double). Never
    # money: the formats refuse a JSON number where money belongs, whoever decoded it.
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NotTheSame(text)
    return value


def loads(data: bytes | bytearray | memoryview | str):
    """JSON -> Python objects, as ``orjson.loads`` gives them; raises ``orjson.JSONDecodeError``
    (a ``ValueError``) for invalid JSON."""
    if (type(data) is bytes and len(data) <= SMALL_BYTES and b"\\" not in data
            and data.count(b"[") + data.count(b"{") < MAX_OPENINGS):
        import json  # ~3 ms the first time; orjson's import costs ~25 ms

        try:
            text = data.decode("utf-8")
            return json.loads(text, parse_constant=_refuse_constant, parse_int=_int,
                              parse_float=_float)
        except (ValueError, RecursionError):  # invalid, or read differently: orjson decides
            pass
    import orjson

    return orjson.loads(data)


def dumps(doc, *, indent: bool = False) -> bytes:
    """UTF-8 JSON, ending with a newline, as ``orjson.dumps(doc, option=OPT_APPEND_NEWLINE
    [| OPT_INDENT_2])`` gives it: non-ASCII text as it is, the same dict always the same bytes."""
    if _plain(doc):
        import json

        if indent:
            text = json.dumps(doc, ensure_ascii=False, indent=2)
        else:
            text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        try:
            return (text + "\n").encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: orjson refuses it and says so
            pass
    import orjson

    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(doc, option=option)


def _plain(doc) -> bool:
    """Whether ``doc`` is small and made only of the types both write alike."""
    budget = SMALL_VALUES
    stack = [(doc, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str or kind is bool or value is None:
            continue
        if kind is int:
            if not _INT_MIN <= value <= _INT_MAX:
                return False
            continue
        if depth >= MAX_DEPTH or kind not in (dict, list):  # float, tuple, Decimal, a
            return False  # subclass...: orjson's rules
        budget -= len(value)
        if budget < 0:
            return False
        if kind is dict:
            for key, item in value.items():
                if type(key) is not str:
                    return False
                push((item, depth + 1))
        else:
            for item in value:
                push((item, depth + 1))
    return True
