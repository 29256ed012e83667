"""``jsoncodec`` reads and writes exactly as orjson does, whichever library does the work."""

from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodian_app.domain import formats, jsoncodec


def _orjson_loads(data):
    try:
        return "ok", orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return "error", str(exc)


def _ours_loads(data):
    try:
        return "ok", jsoncodec.loads(data)
    except ValueError as exc:
        assert isinstance(exc, orjson.JSONDecodeError)  # every error is orjson's own
        return "error", str(exc)


def _same(a, b) -> bool:
    """Equal, with the same types all the way down (1 and 1.0 are equal, not the same; nor
    are 0.0 and -0.0)."""
    stack = [(a, b)]
    while stack:
        a, b = stack.pop()
        if type(a) is not type(b):
            return False
        if isinstance(a, dict):
            if list(a) != list(b):
                return False
            stack.extend((a[k], b[k]) for k in a)
        elif isinstance(a, list):
            if len(a) != len(b):
                return False
            stack.extend(zip(a, b))
        elif isinstance(a, float):
            if repr(a) != repr(b):  # -0.0 is not 0.0; nan is nan
                return False
        elif a != b:
            return False
    return True


# Documents where the two libraries would part ways, or fail differently; each must come out
# as orjson has it.
EDGES = [
    b'{"a":1,"b":2,"a":3}', b" \n{\"a\" : [ ] }\r\n", b"\xef\xbb\xbf{}", b'{"a":1e400}', b'{"a":-1e400}',
    b"[NaN]", b"[Infinity]", b"[-Infinity]", b"-9223372036854775809", b"-9223372036854775808",
    b"18446744073709551615", b"18446744073709551616", b"123456789012345678901234567890",
    b'"\\ud800"', b'"\\ud83d\\ude00"', b'"\\u00e9"', b'"\xed\xa0\x80"', b'"\xff"', b'"a\x01b"',
    b'"\xe2\x80\xa8"', b"[1.7976931348623157e308, 5e-324, 0.1e1, -0.0, 1E5, 12e-5]",
    b"[" * 600 + b"]" * 600, b"[" * 1100 + b"]" * 1100, b"", b" ", b"{", b'{"a":}', b"[1,]",
    b"// c\n{}", b"{}x", b"'a'", b"tru", b"01", b"1.", b".5", b"-", b'{"k":"\t"}',
    '{"银行":"南京分行"}'.encode(), b'{"big": ' + b"7" * 5000 + b"}",
]


@pytest.mark.parametrize("data", EDGES, ids=range(len(EDGES)))
def test_reading_edges_like_orjson(data):
    want, got = _orjson_loads(data), _ours_loads(data)
    assert want[0] == got[0]
    if want[0] == "ok":
        assert _same(want[1], got[1])
    else:
        assert got[1] == want[1]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(1 << 70), max_value=1 << 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(json_values, st.sampled_from([None, 2]), st.binary(max_size=3), st.integers(0, 40))
def test_reading_generated_documents_like_orjson(value, indent, junk, at):
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    data = text.encode("utf-8", "surrogatepass")
    if junk:  # and with a few bytes of noise spliced in, to exercise the errors
        data = data[:at] + junk + data[at:]
    want, got = _orjson_loads(data), _ours_loads(data)
    assert want[0] == got[0], data
    if want[0] == "ok":
        assert _same(want[1], got[1]), data
    else:
        assert got[1] == want[1]


def _orjson_dumps(doc, indent):
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    try:
        return "ok", orjson.dumps(doc, option=option)
    except orjson.JSONEncodeError as exc:
        return "error", str(exc)


def _ours_dumps(doc, indent):
    try:
        return "ok", jsoncodec.dumps(doc, indent=indent)
    except orjson.JSONEncodeError as exc:
        return "error", str(exc)


@settings(max_examples=400, deadline=None)
@given(json_values, st.booleans())
def test_writing_generated_documents_like_orjson(value, indent):
    assert _ours_dumps(value, indent) == _orjson_dumps(value, indent)


def _nested(depth: int):
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("doc", [
    {"a": "\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f\u2028\u2029\"\\/"}, {"k": "\ud800"}, {1: "int key"},
    {"f": 1.0}, {"f": 1e16}, {"t": (1, 2)}, {"i": (1 << 64) - 1}, {"i": 1 << 64}, {"i": -(1 << 63) - 1},
    {"e": [], "d": {}, "n": [[]], "m": [{}]}, {"zh": "清机对账"}, [[[[[[[[[[]]]]]]]]]],
    {"deep": _nested(70)},
    {"many": list(range(jsoncodec.SMALL_VALUES + 1))}, "top", 7, None,
], ids=range(17))
@pytest.mark.parametrize("indent", [False, True])
def test_writing_edges_like_orjson(doc, indent):
    assert _ours_dumps(doc, indent) == _orjson_dumps(doc, indent)


def test_a_clearing_result_is_written_the_same_by_both(scenario_result):
    doc = formats.result_to_dict(scenario_result)
    assert jsoncodec._plain(doc)  # small: the standard library writes it
    assert formats.dumps(doc, indent=True) == orjson.dumps(
        doc, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_INDENT_2)


@pytest.fixture
def scenario_result():
    from custodian_app.domain.generator import generate
    from custodian_app.domain.reconcile import reconcile

    sc = generate(7, 300, faults="all")
    return reconcile(sc.atm, sc.host, sc.counts)
