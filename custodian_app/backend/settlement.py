"""Import the backend's settlement file for a terminal's cycle: host-ledger/1 JSON or CSV.

For branches where the backend link is down, the bank's IT delivers the backend's journal as a
file. Two kinds are accepted (docs/backend-api.md, "Settlement file"):

- a ``host-ledger/1`` JSON document, read with the same code as everywhere else;
- a CSV settlement file: a preamble of ``key,value`` rows (terminal, cycle, currency, loaded
  amount), one column-header row, one row per backend record, ``TOTAL`` rows carrying the
  backend's own totals, and an ``END,<record count>`` trailer that proves the file is whole.
  English or Chinese names (终端号, 流水号, 金额, 卡号, 状态 ...), UTF-8 (with or without BOM)
  or GB18030.

A file is imported whole or not at all: the first bad row raises ``SettlementError`` with its
line number and column. A full card number is refused and never echoed.
"""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import datetime

from custodian_app.backend.errors import SettlementError
from custodian_app.domain import fields, formats
from custodian_app.domain.formats import (
    FormatError,
    HostLedger,
    HostTransaction,
    Totals,
    TypeTotals,
)
from custodian_app.domain.reading import CARD_IN_TEXT

# Column and preamble names: the canonical English name first, then accepted aliases. Matched
# after stripping spaces and lower-casing, so "Host Ref", "host_ref" and "HOST_REF" all match.
COLUMNS: dict[str, tuple[str, ...]] = {
    "host_ref": (
        "host_ref",
        "hostref",
        "reference",
        "主机流水号",
        "后台流水号",
        "系统参考号",
        "参考号",
        "记账流水号",
    ),
    "tsn": ("tsn", "atm_tsn", "流水号", "终端流水号", "atm流水号", "交易流水号"),
    "time": ("time", "transaction_time", "交易时间", "时间", "记账时间"),
    "type": ("type", "transaction_type", "交易类型", "类型"),
    "card": ("card", "card_number", "pan", "卡号", "交易卡号"),
    "amount": ("amount", "交易金额", "金额"),
    "status": ("status", "记账状态", "状态", "交易状态"),
}
PREAMBLE: dict[str, tuple[str, ...]] = {
    "terminal_id": ("terminal_id", "terminal", "终端号", "终端编号", "设备号"),
    "cycle_id": ("cycle_id", "cycle", "清机周期", "周期号", "清机周期号", "加钞周期"),
    "currency": ("currency", "币种"),
    "loaded_amount": ("loaded_amount", "loading_amount", "加钞金额", "装钞金额"),
    "utc_offset": ("utc_offset", "时区"),
}
TOTAL_WORDS = ("total", "合计")
END_WORDS = ("end", "记录数", "文件尾")
TYPES = {
    "withdrawal": "withdrawal",
    "取款": "withdrawal",
    "取现": "withdrawal",
    "deposit": "deposit",
    "存款": "deposit",
}
STATUSES = {
    "booked": "booked",
    "成功": "booked",
    "已记账": "booked",
    "记账成功": "booked",
    "已入账": "booked",
    "reversed": "reversed",
    "冲正": "reversed",
    "已冲正": "reversed",
    "撤销": "reversed",
}
CURRENCIES = {"人民币": "CNY", "156": "CNY", "rmb": "CNY"}
DEFAULT_UTC_OFFSET = "+08:00"  # China Standard Time: what a Chinese bank's local times mean

_AMOUNT = re.compile(r"(?:0|[1-9][0-9]{0,14}|[1-9][0-9]{0,2}(?:,[0-9]{3}){1,4})\.[0-9]{2}\Z")
_COUNT = re.compile(r"[0-9]{1,9}\Z")
_OFFSET = re.compile(r"(?:[+-](?:0[0-9]|1[0-4]):[0-5][0-9]|Z)\Z")
_LOCAL_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d %H%M%S",
    "%Y-%m-%dT%H:%M:%S",
)
_RFC3339 = fields.TIME  # a time as host-ledger/1 writes it


def _norm(name: str) -> str:
    return "".join(name.split()).lower()


def _lookup(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_norm(alias): canonical for canonical, aliases in table.items() for alias in aliases}


_COLUMN_OF = _lookup(COLUMNS)
_PREAMBLE_OF = _lookup(PREAMBLE)


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 (BOM or not) tried strictly first, then GB18030; anything else is refused."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            line = data.count(b"\n", 0, utf8_error.start) + 1
            raise SettlementError(
                source,
                "the file is neither UTF-8 nor GB18030 text (first bad byte at offset "
                f"{utf8_error.start}); ask for the file again in one of those encodings",
                line,
            ) from None


def import_settlement(
    path: str | os.PathLike,
    *,
    terminal_id: str | None = None,
    cycle_id: str | None = None,
    currency: str | None = None,
) -> HostLedger:
    """Read a settlement file (host-ledger/1 JSON or settlement CSV) into a HostLedger.

    ``terminal_id``, ``cycle_id`` and ``currency`` supply what the file does not say, and are
    checked against what it does say (a file for another terminal, cycle or currency is
    refused). Raises SettlementError (with line and column for CSV); nothing is imported then.
    """
    from custodian_app.support.files import read_bytes

    source = str(path)
    try:
        data = read_bytes(path)  # a regular file, bounded, as every input document
    except FormatError as exc:
        raise SettlementError(source, exc.message) from exc
    text = decode_text(data, source)
    if text.lstrip().startswith("{"):
        # JSON is read as reconcile reads it (a BOM, say, gets the same verdict on both paths)
        ledger = _import_json(data, source)
    else:
        ledger = _CsvImport(text, source, terminal_id, cycle_id, currency).run()
    for key, want in (("terminal_id", terminal_id), ("cycle_id", cycle_id), ("currency", currency)):
        got = getattr(ledger, key)
        if want is not None and got != want:
            raise SettlementError(
                source,
                f"the file is for {key.replace('_id', '')} {got!r}, not {want!r} as asked; "
                "nothing was imported (is it the right file?)",
                None,
                key,
            )
    return ledger


def _import_json(data: bytes, source: str) -> HostLedger:
    try:
        return formats.parse_host_ledger(data, source)
    except FormatError as exc:
        raise SettlementError(
            source, f"{exc.path}: {exc.message}; nothing was imported", path=exc.path
        ) from exc


class _CsvImport:
    """One pass over the rows; the first fault stops everything."""

    def __init__(
        self, text: str, source: str, terminal_id: str | None, cycle_id: str | None, currency: str | None
    ) -> None:
        self.text = text
        self.source = source
        self.given = {"terminal_id": terminal_id, "cycle_id": cycle_id, "currency": currency}
        self.line = 0
        self.headers: list[str] = []  # the column names as written, for messages
        self.utc_offset = DEFAULT_UTC_OFFSET

    def fail(self, message: str, column: int | None = None, *, named: bool = True) -> SettlementError:
        """``column`` is 0-based; ``named``: the column is one of the header row's (detail rows)."""
        col = None
        if column is not None:
            written = self.headers[column] if named and column < len(self.headers) else ""
            col = f"{column + 1} ({written})" if written else str(column + 1)
        return SettlementError(self.source, message + "; nothing was imported", self.line, col)

    def rows(self):
        reader = csv.reader(io.StringIO(self.text, newline=""), strict=True)
        previous_end = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.line = previous_end + 1
                raise self.fail(f"not readable as CSV ({exc})") from None
            self.line = previous_end + 1  # where the record starts (a quoted field may span lines)
            previous_end = reader.line_num
            # ="000101" is how spreadsheet exports keep leading zeros: it means 000101
            cells = [
                c[2:-1].strip() if c[:2] == '="' and c[-1:] == '"' else c for c in (c.strip() for c in row)
            ]
            while cells and cells[-1] == "":
                cells.pop()
            if cells:
                yield cells

    def run(self) -> HostLedger:
        meta: dict[str, str] = {}
        meta_line: dict[str, int] = {}
        columns: dict[str, int] | None = None
        transactions: list[HostTransaction] = []
        lines: list[int] = []  # each record's line, for the checks of the whole ledger
        totals: dict[str, TypeTotals] = {}
        end_count: int | None = None
        booked = {"withdrawal": [0, 0], "deposit": [0, 0]}

        for cells in self.rows():
            first = cells[0] if cells[0].isdigit() else _norm(cells[0])  # record rows: fast path
            if end_count is not None:
                raise self.fail("there is a row after the END trailer; the file is damaged")
            if columns is None:
                if first in _COLUMN_OF and len(cells) > 2:
                    columns = self._header(cells)
                    if "utc_offset" in meta:  # local times in the file are at this offset
                        self.line = meta_line["utc_offset"]
                        if _OFFSET.match(meta["utc_offset"]) is None:
                            raise self.fail("utc_offset must look like +08:00", 1, named=False)
                        self.utc_offset = meta["utc_offset"]
                    continue
                if len(cells) != 2:
                    raise self.fail(
                        "expected a 'key,value' row (terminal_id, cycle_id, currency, loaded_amount) "
                        "or the column-header row (host_ref,tsn,time,type,card,amount,status)"
                    )
                key = _PREAMBLE_OF.get(first)
                if key is None:
                    continue  # other facts a bank adds (branch, file date ...) are not needed
                if key in meta:
                    raise self.fail(f"{cells[0]!r} is given twice (also on line {meta_line[key]})")
                meta[key], meta_line[key] = cells[1], self.line
                continue
            if first in TOTAL_WORDS:
                kind, tt = self._total(cells)
                if kind in totals:
                    raise self.fail(f"a second TOTAL row for {kind}s")
                totals[kind] = tt
                continue
            if first in END_WORDS:
                if len(cells) != 2 or _COUNT.match(cells[1]) is None:
                    raise self.fail("the END trailer must be 'END,<number of records>'", 1, named=False)
                end_count = int(cells[1])
                if end_count != len(transactions):
                    raise self.fail(
                        f"the END trailer says {end_count} records but the file has "
                        f"{len(transactions)}; the file is incomplete or damaged"
                    )
                continue
            if totals:
                raise self.fail("a record after the TOTAL rows; TOTAL and END come last")
            tx = self._record(cells, columns)
            lines.append(self.line)
            transactions.append(tx)
            if tx.status == "booked":
                booked[tx.type][0] += 1
                booked[tx.type][1] += tx.amount

        def twice(second: int, message: str) -> SettlementError:
            self.line = lines[second]
            return self.fail(message, columns["host_ref"])

        # the rule of every host-ledger reader, with lines for records
        formats.check_host_refs(transactions, twice, lambda first: f"on line {lines[first]}")
        self.line = None  # from here on, faults concern the whole file
        if columns is None:
            raise self.fail(
                "no column-header row (host_ref,tsn,time,type,card,amount,status) was "
                "found: is this a settlement file?"
            )
        if end_count is None:
            raise self.fail(
                "the file has no END trailer ('END,<number of records>' as the last row); "
                "it may have been cut short"
            )
        if len(totals) == 1:
            missing = ({"withdrawal", "deposit"} - set(totals)).pop()
            raise self.fail(
                f"there is a TOTAL row for {set(totals).pop()}s but none for {missing}s; give both or neither"
            )
        if not totals:  # no backend totals in the file: they are the sums of its booked records
            totals = {k: TypeTotals(*v) for k, v in booked.items()}
        header = {}
        for key in ("terminal_id", "cycle_id", "currency"):
            value = meta.get(key) or self.given[key]
            if not value:
                flag = {"terminal_id": "--terminal", "cycle_id": "--cycle", "currency": "--currency"}[key]
                raise self.fail(
                    f"the file does not say its {key}; add a '{key},...' row at the top or give it ({flag})"
                )
            header[key] = value
        header["currency"] = CURRENCIES.get(_norm(header["currency"]), header["currency"])
        if "loaded_amount" not in meta:
            raise self.fail(
                "the file does not give the loaded amount; add a 'loaded_amount,<amount>' "
                "row at the top (加钞金额)"
            )
        self.line = meta_line["loaded_amount"]
        loaded = self._amount(meta["loaded_amount"], 1, named=False)
        ledger = HostLedger(
            header["terminal_id"],
            header["cycle_id"],
            header["currency"],
            Totals(loaded, totals["withdrawal"], totals["deposit"]),
            transactions,
            self.source,
        )
        # The header and totals pass the same checks as a JSON file's (lengths, currency code):
        # one rule book. The records were checked row by row above, with the same patterns.
        try:
            formats.parse_host_ledger(
                formats.host_ledger_to_dict(
                    HostLedger(ledger.terminal_id, ledger.cycle_id, ledger.currency, ledger.totals, [])
                ),
                self.source,
            )
        except FormatError as exc:
            key = exc.path.removeprefix("$.")
            self.line = meta_line.get(key)
            raise self.fail(f"{key}: {exc.message}") from None
        return ledger

    def _header(self, cells: list[str]) -> dict[str, int]:
        self.headers = cells
        columns: dict[str, int] = {}
        for i, name in enumerate(cells):
            canonical = _COLUMN_OF.get(_norm(name))
            if canonical is None:
                continue  # extra columns (branch, channel ...) are ignored
            if canonical in columns:
                raise self.fail(
                    f"two columns mean {canonical} ({cells[columns[canonical]]!r} and {name!r})", i
                )
            columns[canonical] = i
        missing = [c for c in COLUMNS if c not in columns]
        if missing:
            raise self.fail(
                "the column-header row lacks "
                + ", ".join(missing)
                + " (accepted names are in docs/backend-api.md)"
            )
        return columns

    def _record(self, cells: list[str], columns: dict[str, int]) -> HostTransaction:
        if len(cells) > len(self.headers):
            raise self.fail(
                f"{len(cells)} cells but the header has {len(self.headers)} columns "
                "(an unquoted comma in a field?)",
                len(self.headers),
            )
        if len(cells) < len(self.headers):
            cells = cells + [""] * (len(self.headers) - len(cells))  # trailing empty cells were cut
        c = {name: cells[i] for name, i in columns.items()}
        host_ref = c["host_ref"]
        if not 1 <= len(host_ref) <= 32:
            raise self.fail("the backend reference must be 1 to 32 characters", columns["host_ref"])
        tsn = c["tsn"] or None
        if tsn is not None and fields.TSN.match(tsn) is None:
            raise self.fail(
                f"expected a TSN (1 to 20 of 0-9 A-Z a-z -) or nothing, found {fields.show(tsn)}",
                columns["tsn"],
            )
        for name, value in (("host_ref", host_ref), ("tsn", tsn)):
            if value is not None and fields.has_full_card(value):  # as the JSON reader's Reader.text
                raise self.fail(f"the {name} {CARD_IN_TEXT}", columns[name])
        kind = TYPES.get(c["type"]) or TYPES.get(_norm(c["type"]))
        if kind is None:
            raise self.fail(
                f"expected withdrawal/取款 or deposit/存款, found {fields.show(c['type'])}", columns["type"]
            )
        status = STATUSES.get(c["status"]) or STATUSES.get(_norm(c["status"]))
        if status is None:
            raise self.fail(
                f"expected booked/成功 or reversed/冲正, found {fields.show(c['status'])}", columns["status"]
            )
        card = c["card"]
        if not fields.is_masked_card(card):
            # never echo: it may be a full card number
            what = "a full card number" if fields.is_full_card(card) else "not a masked card number"
            raise self.fail(
                f"{what}; card numbers must be masked like 622202******1234 (the value "
                "is withheld; the file must not carry full card numbers)",
                columns["card"],
            )
        return HostTransaction(
            host_ref,
            tsn,
            self._time(c["time"], columns["time"]),
            kind,
            card,
            self._amount(c["amount"], columns["amount"]),
            status,
        )

    def _total(self, cells: list[str]) -> tuple[str, TypeTotals]:
        if len(cells) != 4:
            raise self.fail("a TOTAL row is 'TOTAL,<withdrawal|deposit>,<count>,<amount>'")
        kind = TYPES.get(_norm(cells[1]))
        if kind is None:
            raise self.fail(
                f"expected withdrawal/取款 or deposit/存款, found {fields.show(cells[1])}", 1, named=False
            )
        if _COUNT.match(cells[2]) is None:
            raise self.fail(f"expected a count, found {fields.show(cells[2])}", 2, named=False)
        return kind, TypeTotals(int(cells[2]), self._amount(cells[3], 3, named=False))

    def _amount(self, text: str, column: int, *, named: bool = True) -> int:
        if _AMOUNT.match(text) is None:
            raise self.fail(
                f"expected an amount with two decimals like 1000.00, found {fields.show(text)}",
                column,
                named=named,
            )
        return int(text.replace(",", "").replace(".", "", 1))

    def _time(self, text: str, column: int) -> str:
        if _RFC3339.match(text):
            try:
                datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise self.fail(f"not a real date and time: {fields.show(text)}", column) from None
            return text
        for fmt in _LOCAL_TIME_FORMATS:
            try:
                moment = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return moment.strftime("%Y-%m-%dT%H:%M:%S") + self.utc_offset
        raise self.fail(
            "expected a time like 2026-11-20 09:12:04 or 2026-11-20T09:12:04+08:00, "
            f"found {fields.show(text)}",
            column,
        )


def to_settlement_csv(ledger: HostLedger, *, chinese: bool = False) -> str:
    """A HostLedger as the settlement CSV this module reads (for demos, tests and the IT of a
    bank that wants a sample). ``chinese``: Chinese names and values, as a Chinese core system
    writes them. Encode the text as UTF-8 or GB18030."""
    from custodian_app.domain.money import format_amount

    names = ["终端号", "清机周期", "币种", "加钞金额"] if chinese else list(PREAMBLE)[:4]
    columns = (
        ["主机流水号", "流水号", "交易时间", "交易类型", "卡号", "金额", "状态"] if chinese else list(COLUMNS)
    )
    kinds = (
        {"withdrawal": "取款", "deposit": "存款"}
        if chinese
        else {"withdrawal": "withdrawal", "deposit": "deposit"}
    )
    statuses = (
        {"booked": "成功", "reversed": "冲正"} if chinese else {"booked": "booked", "reversed": "reversed"}
    )
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    t = ledger.totals
    for name, value in zip(
        names,
        (ledger.terminal_id, ledger.cycle_id, ledger.currency, format_amount(t.loaded_amount)),
        strict=False,
    ):
        w.writerow([name, value])
    w.writerow(columns)
    for x in ledger.transactions:
        w.writerow(
            [
                x.host_ref,
                x.tsn or "",
                x.time,
                kinds[x.type],
                x.card,
                format_amount(x.amount),
                statuses[x.status],
            ]
        )
    total = "合计" if chinese else "TOTAL"
    w.writerow([total, kinds["withdrawal"], t.withdrawals.count, format_amount(t.withdrawals.amount)])
    w.writerow([total, kinds["deposit"], t.deposits.count, format_amount(t.deposits.amount)])
    w.writerow(["记录数" if chinese else "END", len(ledger.transactions)])
    return out.getvalue()
