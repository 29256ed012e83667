"""The readers' fast path for big ledgers: the same rules, checked a column at a time.

A cycle can hold a million transactions and nine million banknote records. Checking them one
field at a time in Python costs more than the whole reconciliation, so for bytes input the
readers first try this path:

* transactions are decoded by orjson, then checked **per column**: each distinct value of a
  column is checked once (amounts, codes, times and cards repeat a lot), patterns that every
  value must follow are checked on the joined column in one regex call, and the objects are
  built with ``map`` over the columns;
* the ``notes`` array (the 冠字号 trail, ~90 % of the bytes) is not decoded at all: it is split
  at each ``{"serial":"``, every serial is checked in one ``bytes.translate`` call, and the
  rest of each record (value, TSN, unit, event — a few distinct shapes per transaction) is
  counted with a ``Counter`` and each distinct record checked once with a strict regex. The
  per-TSN note flows the engine needs come out of that count; ``NoteRecord`` objects are only
  built if someone iterates the trail (``NoteTrail``).

When the C accelerator ``_ledgerscan`` is built (it is optional: a machine without a C compiler
installs without it), the readers first try it: one pass over the bytes that checks every field
by the same rules and counts the note flows without making an object per banknote. It gives up
exactly like this module does, and then this module's path runs.

Every function here returns ``None`` as soon as anything is unusual — another layout, a
value that might be wrong, anything at all — and the caller then runs the general reader,
which finds and names the fault exactly. So the fast path never decides that input is
invalid, and it accepts only what the general reader accepts.
"""

from __future__ import annotations

import gc
import re
from collections import Counter
from collections.abc import MutableSequence
from contextlib import contextmanager
from functools import cache, partial
from operator import is_not, itemgetter

from custodian_app.domain import formats as F

TYPE_CHECKING = False  # typing costs every command 4 ms to import; annotations are strings
if TYPE_CHECKING:
    from typing import Any

try:  # the optional C accelerator (see the module's docstring)
    from custodian_app.domain import _ledgerscan as native
except ImportError:  # pragma: no cover - depends on the build
    native = None

_NOTES_KEY = b'"notes":['
_SERIAL_OPEN = b'{"serial":"'
_SERIAL_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789?"
_WS = b" \t\r\n"
_NOTE_RESTS = (  # compiled when first needed (see _rx): the C reader usually does the work
    rb'\0","value":"((?:0|[1-9][0-9]{0,14})\.[0-9]{2})","tsn":(?:"([0-9A-Za-z-]{1,20})"|null),'
    rb'"unit":"[\x20\x21\x23-\x5b\x5d-\x7e]{1,5}","event":"(taken|retracted|deposited|returned|rejected)"\}'
    rb"(,\n?)?(?=\0)")
_FLOW_SLOT = {b"taken": 0, b"retracted": 1, b"deposited": 2, b"returned": 3}
_TSN_COLUMN = r"[0-9A-Za-z-]{1,20}(?:\n[0-9A-Za-z-]{1,20})*\Z"

_ATM_TX = itemgetter("tsn", "time", "type", "card", "amount", "host_code", "host_ref", "reversed", "cash")
_CASH = itemgetter("taken", "retracted", "deposited", "returned")
_HOST_TX = itemgetter("host_ref", "tsn", "time", "type", "card", "amount", "status")
_NOT_NONE = partial(is_not, None)
_NONE_TYPE = type(None)


@contextmanager
def paused_gc():
    """Bulk work builds millions of objects that all live on; the cyclic collector would
    re-scan them again and again (it more than doubles the time) and can find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _LazyRecords(MutableSequence):
    """A list of records built only when somebody looks at them. Until then the reader's
    columns stand in for it (``columns``), which is all the engine needs."""

    __slots__ = ("_items",)

    def _build(self) -> list:
        raise NotImplementedError

    def _list(self) -> list:
        if self._items is None:
            self._items = self._build()
            self._changed()
        return self._items

    def _changed(self) -> None:
        """The source representation no longer describes the list."""

    def __getitem__(self, index):
        return self._list()[index]

    def __setitem__(self, index, value) -> None:
        self._list()[index] = value

    def __delitem__(self, index) -> None:
        del self._list()[index]

    def insert(self, index: int, value) -> None:
        self._list().insert(index, value)

    def __iter__(self):
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, _LazyRecords)):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self)} records)"


class AtmTransactions(_LazyRecords):
    """``AtmLedger.transactions`` as read by the fast path."""

    __slots__ = ("columns",)
    FIELDS = ("tsn", "time", "type", "card", "amount", "host_code", "host_ref", "reversed",
              "taken", "retracted", "deposited", "returned")

    def __init__(self, columns: tuple) -> None:
        self.columns = columns  # in FIELDS order; None once the records exist
        self._items = None

    def _build(self) -> list:
        return list(map(F.AtmTransaction, *self.columns))

    def _changed(self) -> None:
        self.columns = None

    def __len__(self) -> int:
        return len(self.columns[0]) if self._items is None else len(self._items)


class HostTransactions(_LazyRecords):
    """``HostLedger.transactions`` as read by the fast path."""

    __slots__ = ("columns",)
    FIELDS = ("host_ref", "tsn", "time", "type", "card", "amount", "status")

    def __init__(self, columns: tuple) -> None:
        self.columns = columns
        self._items = None

    def _build(self) -> list:
        return list(map(F.HostTransaction, *self.columns))

    def _changed(self) -> None:
        self.columns = None

    def __len__(self) -> int:
        return len(self.columns[0]) if self._items is None else len(self._items)


class NoteTrail(_LazyRecords):
    """``AtmLedger.notes`` as read by the fast path: the per-TSN note flows were counted while
    the bytes were checked; ``NoteRecord`` objects are built only if somebody iterates.

    The trail's bytes are the JSON array itself (``array``: bytes, or a memory map with the
    span it holds). A trail read lazily from a memory-mapped file builds its records from the
    map, so the map must stay open until they are looked at (the reconcile command never
    looks at them: it needs only the flows)."""

    __slots__ = ("_array", "_span", "_len", "_flows", "_odd", "_owner", "_bare")

    def __init__(self, array, length: int, flows: dict[str, tuple[int, int, int, int]] | None,
                 span: tuple[int, int] | None = None, odd: list | None = None, owner=None,
                 bare: bool = False) -> None:
        self._array = array  # the JSON array, or (with span) a buffer that holds it
        self._bare = bare  # the array's content without its brackets
        self._span = span
        self._len = length
        self._flows = flows
        self._odd = odd  # the C reader's note mismatches, valid for ``owner``'s columns
        self._owner = owner
        self._items = None

    def _array_bytes(self):
        if self._bare:
            return b"[" + self._array + b"]"
        if self._span is None:
            return self._array
        start, end = self._span
        if getattr(self._array, "closed", False):
            raise ValueError("the memory-mapped ledger was closed before its banknote records "
                             "were looked at; read it with lazy=False, or keep the map open")
        return self._array[start:end]

    def _build(self) -> list:
        money: dict[str, int] = {}
        NR = F.NoteRecord
        items = []
        import orjson  # the whole trail: a big array, orjson's work

        for d in orjson.loads(self._array_bytes()):
            v = d["value"]
            m = money.get(v)
            if m is None:
                m = money[v] = int(v.replace(".", "", 1))
            items.append(NR(d["serial"], m, d["tsn"], d["unit"], d["event"]))
        return items

    def _changed(self) -> None:
        self._array = b"[]"
        self._span = None
        self._bare = False
        self._flows = None  # the records may be changed from now on: count them again
        self._odd = self._owner = None

    def flows_by_tsn(self) -> dict[str, tuple[int, int, int, int]] | None:
        """Per TSN: note values (taken, retracted, deposited, returned); None once the records
        have been built (then count them)."""
        if self._flows is None and self._items is None:
            flows: dict[str, list[int]] = {}
            slots = {"taken": 0, "retracted": 1, "deposited": 2, "returned": 3}
            money: dict[str, int] = {}
            import orjson  # the whole trail: a big array, orjson's work

            for d in orjson.loads(self._array_bytes()):  # checked already: no objects kept
                t = d["tsn"]
                if t is None:
                    continue
                f = flows.get(t)
                if f is None:
                    f = flows[t] = [0, 0, 0, 0]
                slot = slots.get(d["event"])
                if slot is not None:
                    v = d["value"]
                    m = money.get(v)
                    if m is None:
                        m = money[v] = int(v.replace(".", "", 1))
                    f[slot] += m
            self._flows = {k: tuple(v) for k, v in flows.items()}
        return self._flows

    def mismatches_for(self, transactions) -> list | None:
        """The C reader's list of TSNs whose notes do not add up to their cash (see
        ``reconcile.note_mismatches``), if it still describes ``transactions``; else None."""
        if (self._odd is None or transactions is not self._owner or self._items is not None
                or getattr(transactions, "columns", None) is None):
            return None
        return self._odd

    def __len__(self) -> int:
        return self._len if self._items is None else len(self._items)


# ---------------------------------------------------------------------------------------------


def _money_map(values) -> dict | None:
    """{money string: minor units} for a set of values, or None if any is not money."""
    out = {}
    match = F._MONEY.match
    for v in values:
        if type(v) is not str or match(v) is None:
            return None
        out[v] = int(v.replace(".", "", 1))
    return out


def _all_match(values, pattern: re.Pattern) -> bool:
    match = pattern.match
    for v in values:
        if type(v) is not str or match(v) is None:
            return False
    return True


def _column(body: str) -> str:
    return f"(?:{body}\n)*{body}\\Z"


_TIME_COLUMN = _column(F._TIME.pattern.removesuffix("\\Z"))
_CARD_COLUMN = _column(F._CARD.pattern.removesuffix("\\Z"))


@cache
def _rx(pattern: str | bytes) -> re.Pattern:
    """This path's patterns, compiled on first use: every command would otherwise pay for
    compiling them at start-up, mostly to have the C reader do the work."""
    return re.compile(pattern)


def _column_matches(values, column: str) -> bool:
    """Every value a string matching ``column``'s pattern: one regex call on the joined column
    (faster than a call per value when most values differ). A value with a newline of its own
    could pose as two; the count of newlines rules that out."""
    if not values:
        return True
    if set(map(type, values)) != {str}:
        return False
    joined = "\n".join(values)
    return joined.count("\n") == len(values) - 1 and _rx(column).match(joined) is not None


def _split_notes(data: bytes) -> tuple[bytes, bytes] | None:
    """(the document without its notes, the bytes inside the notes array) for the usual layout
    where ``notes`` is the last key; None otherwise. The key cannot occur inside a JSON string
    (its quotes would end the string), so the first occurrence is a key; if it is a nested
    one, the head no longer parses and the caller gives up."""
    at = data.find(_NOTES_KEY)
    if at < 0:
        return None
    comma = at - 1
    while comma >= 0 and data[comma] in _WS:
        comma -= 1
    if comma < 0 or data[comma] != 0x2C:  # ","
        return None
    end = len(data) - 1
    while end >= 0 and data[end] in _WS:
        end -= 1
    if end < 0 or data[end] != 0x7D:  # "}"
        return None
    end -= 1
    while end >= 0 and data[end] in _WS:
        end -= 1
    if end <= at or data[end] != 0x5D:  # "]"
        return None
    return data[:comma] + b"}", data[at + len(_NOTES_KEY):end]


def _notes(content: bytes) -> NoteTrail | None:
    pieces = content.split(_SERIAL_OPEN)
    if pieces[0].strip(_WS):
        return None
    records = pieces[1:]
    n = len(records)
    if n == 0:
        return NoteTrail(b"[]", 0, {}) if not content.strip(_WS) else None
    records[-1] = records[-1].rstrip(_WS)
    size = records[0].find(b'"')
    if not 6 <= size <= 12:
        return None
    # Every serial has only serial characters: with them deleted, every record must start
    # with an empty serial. Every serial has the first one's length, or the check of the
    # rest of the record below fails (it must start right after the serial's closing quote).
    if content.translate(None, _SERIAL_CHARS).count(b'{"serial":"",') != n:
        return None
    rests = Counter(map(itemgetter(slice(size, None)), records))
    last = records[-1][size:]
    distinct = list(rests)
    # Check every distinct rest in one regex pass: each is framed by NULs (which valid JSON
    # cannot hold raw), so a match spans exactly one rest; as many matches as rests means
    # every rest matched whole.
    if b"\0" in content:
        return None
    found = _rx(_NOTE_RESTS).findall(b"\0" + b"\0".join(distinct) + b"\0")
    if len(found) != len(distinct):
        return None
    flows: dict[bytes, list[int]] = {}
    money: dict[bytes, int] = {}
    for (value, tsn, event, comma), rest in zip(found, distinct):
        if not comma:
            # only the array's last record goes without a comma after it
            if rest != last or rests[rest] != 1:
                return None
        elif rest == last:
            return None
        if not tsn:
            continue
        f = flows.get(tsn)
        if f is None:  # rejected notes too: every TSN a note names must be in the ledger
            f = flows[tsn] = [0, 0, 0, 0]
        slot = _FLOW_SLOT.get(event)
        if slot is None:
            continue
        minor = money.get(value)
        if minor is None:
            minor = money[value] = int(value.replace(b".", b"", 1))
        f[slot] += minor * rests[rest]
    return NoteTrail(content, n, {k.decode(): tuple(v) for k, v in flows.items()}, bare=True)


def _atm_transactions(txs: Any) -> AtmTransactions | None:
    if type(txs) is not list:
        return None
    if not txs:
        return AtmTransactions(((),) * len(AtmTransactions.FIELDS))
    if set(map(type, txs)) != {dict}:
        return None
    try:
        tsns, times, types, cards, amounts, codes, refs, revs, cashes = zip(*map(_ATM_TX, txs))
        if set(map(type, cashes)) != {dict}:
            return None
        taken, retracted, deposited, returned = zip(*map(_CASH, cashes))
        if not _column_matches(tsns, _TSN_COLUMN):
            return None
        if len(set(tsns)) != len(tsns):
            return None
        if not set(types) <= {"withdrawal", "deposit"}:
            return None
        if set(map(type, revs)) != {bool}:
            return None
        if not (_column_matches(times, _TIME_COLUMN) and _column_matches(cards, _CARD_COLUMN)
                and _all_match(set(codes), F._HOST_CODE)):
            return None
        if not set(map(type, refs)) <= {str, _NONE_TYPE}:
            return None
        ref_lengths = set(map(len, filter(_NOT_NONE, refs)))
        if ref_lengths and not (min(ref_lengths) >= 1 and max(ref_lengths) <= 32):
            return None
        money = _money_map(set(amounts).union(taken, retracted, deposited, returned))
        if money is None:
            return None
        for typ, a, b, c, d in set(zip(types, taken, retracted, deposited, returned)):
            if (typ == "withdrawal" and (money[c] or money[d])) or (typ == "deposit" and (money[a] or money[b])):
                return None  # the general reader names the field
    except (KeyError, TypeError, ValueError):
        return None
    m = money.__getitem__
    return AtmTransactions((tsns, times, types, cards, list(map(m, amounts)), codes, refs, revs,
                            list(map(m, taken)), list(map(m, retracted)), list(map(m, deposited)),
                            list(map(m, returned))))


def parse_atm_ledger(data: bytes, source: str) -> F.AtmLedger | None:
    with paused_gc():
        if native is not None:
            ledger = _native_atm_ledger(data, source)
            if ledger is not None:
                return ledger
        return _parse_atm_ledger(data, source)


def parse_host_ledger(data: bytes, source: str) -> F.HostLedger | None:
    with paused_gc():
        if native is not None:
            ledger = _native_host_ledger(data, source)
            if ledger is not None:
                return ledger
        return _parse_host_ledger(data, source)


def _scanned_head(head: bytes, source: str, fmt: str) -> dict | None:
    """The C scanner's head (the document with its big arrays replaced by []), decoded; None
    if it is not a ``fmt`` document of that shape (the general reader then decides)."""
    try:
        doc = F.decode(head, source)
    except F.FormatError:
        return None
    if doc.get("format") != fmt or doc.get("transactions") != []:
        return None
    return doc


def _native_atm_ledger(data, source: str) -> F.AtmLedger | None:
    scanned = native.scan_atm(data)
    if scanned is None:
        return None
    head, columns, notes = scanned
    doc = _scanned_head(head, source, F.ATM_LEDGER)
    if doc is None:
        return None
    rest = dict(doc)
    rest.pop("notes", None)
    try:  # header, totals and units: few, checked by the general reader
        ledger = F.parse_atm_ledger(rest, source)
    except F.FormatError:
        return None
    ledger.transactions = AtmTransactions(columns)
    if notes is not None:
        count, span, odd = notes
        # the ledger's transactions in ledger order, then the TSNs it lacks in TSN order
        odd = [o for o in odd if o[0] is not None] + sorted(o for o in odd if o[0] is None)
        # bytes and read-only maps are kept, not copied; anything else could change under us
        keep = type(data) is bytes or type(data).__name__ == "mmap"
        array = data if keep else bytes(data[span[0]:span[1]])
        ledger.notes = NoteTrail(array, count, None, span if keep else None, odd, ledger.transactions)
    return ledger


def _native_host_ledger(data, source: str) -> F.HostLedger | None:
    scanned = native.scan_host(data)
    if scanned is None:
        return None
    head, columns = scanned
    doc = _scanned_head(head, source, F.HOST_LEDGER)
    if doc is None:
        return None
    try:
        ledger = F.parse_host_ledger(doc, source)
    except F.FormatError:
        return None
    ledger.transactions = HostTransactions(columns)
    return ledger


def _parse_atm_ledger(data: bytes, source: str) -> F.AtmLedger | None:
    notes = None
    split = _split_notes(data)
    if split is not None:
        head_bytes, content = split
        notes = _notes(content)
        if notes is None:
            return None
    else:
        head_bytes = data
    try:
        doc = F.decode(head_bytes, source)
    except F.FormatError:
        return None
    if type(doc) is not dict or "notes" in doc or doc.get("format") != F.ATM_LEDGER:
        return None
    transactions = _atm_transactions(doc.get("transactions"))
    if transactions is None:
        return None
    rest = dict(doc)
    rest["transactions"] = []
    try:  # header, totals and units: few, checked by the general reader
        ledger = F.parse_atm_ledger(rest, source)
    except F.FormatError:
        return None
    ledger.transactions = transactions
    ledger.notes = notes
    return ledger


def _parse_host_ledger(data: bytes, source: str) -> F.HostLedger | None:
    try:
        doc = F.decode(data, source)
    except F.FormatError:
        return None
    if type(doc) is not dict or doc.get("format") != F.HOST_LEDGER:
        return None
    txs = doc.get("transactions")
    if type(txs) is not list:
        return None
    transactions = HostTransactions(((),) * len(HostTransactions.FIELDS))
    if txs:
        if set(map(type, txs)) != {dict}:
            return None
        try:
            refs, tsns, times, types, cards, amounts, statuses = zip(*map(_HOST_TX, txs))
            if set(map(type, refs)) != {str}:
                return None
            lengths = set(map(len, refs))
            if min(lengths) < 1 or max(lengths) > 32:
                return None
            if not set(map(type, tsns)) <= {str, _NONE_TYPE}:
                return None
            named = [t for t in tsns if t is not None]
            if not _column_matches(named, _TSN_COLUMN):
                return None
            if not set(types) <= {"withdrawal", "deposit"} or not set(statuses) <= {"booked", "reversed"}:
                return None
            if set(map(type, types)) != {str} or set(map(type, statuses)) != {str}:
                return None
            if not (_column_matches(times, _TIME_COLUMN) and _column_matches(cards, _CARD_COLUMN)):
                return None
            money = _money_map(set(amounts))
            if money is None:
                return None
        except (KeyError, TypeError, ValueError):
            return None
        transactions = HostTransactions((refs, tsns, times, types, cards,
                                         list(map(money.__getitem__, amounts)), statuses))
    rest = dict(doc)
    rest["transactions"] = []
    try:
        ledger = F.parse_host_ledger(rest, source)
    except F.FormatError:
        return None
    ledger.transactions = transactions
    return ledger
