"""Settlement file import: host-ledger/1 JSON and the settlement CSV, UTF-8 and GB18030."""

from __future__ import annotations

import pytest

from custodian_app.backend.errors import BackendError, SettlementError
from custodian_app.backend.settlement import import_settlement
from custodian_app.domain import formats

from .conftest import make_ledger

ENGLISH = """\
terminal_id,NJ-0001
cycle_id,NJ-0001-20261120
currency,CNY
loaded_amount,"200,000.00"
branch,Nanjing Xinjiekou
host_ref,tsn,time,type,card,amount,status,channel
632409000117,000101,2026-11-20 09:12:04,withdrawal,622202******1234,1000.00,booked,ATM
632409000118,000102,2026-11-20T09:20:11+08:00,withdrawal,622202******5678,500.00,booked,ATM
632409000119,000103,20261120093000,deposit,622848*****0001,"3,000.00",booked,ATM
632409000120,000104,2026-11-20 10:01:00,withdrawal,622202******1234,200.00,reversed,ATM
632409000121,,2026-11-20 11:00:00,withdrawal,622202******9999,100.00,booked,ATM
TOTAL,withdrawal,3,1600.00
TOTAL,deposit,1,3000.00
END,5
"""

CHINESE = """\
终端号,NJ-0001
清机周期,NJ-0001-20261120
币种,人民币
加钞金额,200000.00
主机流水号,流水号,交易时间,交易类型,卡号,金额,状态
632409000117,000101,2026-11-20 09:12:04,取款,622202******1234,1000.00,成功
632409000118,000102,2026-11-20 09:20:11,取款,622202******5678,500.00,成功
632409000119,000103,2026-11-20 09:30:00,存款,622848*****0001,3000.00,成功
632409000120,000104,2026-11-20 10:01:00,取款,622202******1234,200.00,冲正
632409000121,,2026-11-20 11:00:00,取款,622202******9999,100.00,成功
合计,取款,3,1600.00
合计,存款,1,3000.00
记录数,5
"""


def write(tmp_path, text: str, encoding: str = "utf-8", name: str = "settle.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def expected_ledger():
    return formats.parse_host_ledger(
        formats.dumps(
            {
                "format": "host-ledger/1",
                "terminal_id": "NJ-0001",
                "cycle_id": "NJ-0001-20261120",
                "currency": "CNY",
                "totals": {
                    "loaded_amount": "200000.00",
                    "withdrawals": {"count": 3, "amount": "1600.00"},
                    "deposits": {"count": 1, "amount": "3000.00"},
                },
                "transactions": [
                    {
                        "host_ref": "632409000117",
                        "tsn": "000101",
                        "time": "2026-11-20T09:12:04+08:00",
                        "type": "withdrawal",
                        "card": "622202******1234",
                        "amount": "1000.00",
                        "status": "booked",
                    },
                    {
                        "host_ref": "632409000118",
                        "tsn": "000102",
                        "time": "2026-11-20T09:20:11+08:00",
                        "type": "withdrawal",
                        "card": "622202******5678",
                        "amount": "500.00",
                        "status": "booked",
                    },
                    {
                        "host_ref": "632409000119",
                        "tsn": "000103",
                        "time": "2026-11-20T09:30:00+08:00",
                        "type": "deposit",
                        "card": "622848*****0001",
                        "amount": "3000.00",
                        "status": "booked",
                    },
                    {
                        "host_ref": "632409000120",
                        "tsn": "000104",
                        "time": "2026-11-20T10:01:00+08:00",
                        "type": "withdrawal",
                        "card": "622202******1234",
                        "amount": "200.00",
                        "status": "reversed",
                    },
                    {
                        "host_ref": "632409000121",
                        "tsn": None,
                        "time": "2026-11-20T11:00:00+08:00",
                        "type": "withdrawal",
                        "card": "622202******9999",
                        "amount": "100.00",
                        "status": "booked",
                    },
                ],
            }
        )
    )


@pytest.mark.parametrize("text", [ENGLISH, CHINESE], ids=["english", "chinese"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_settlement_csv_is_imported_in_every_encoding(tmp_path, text, encoding):
    if encoding == "gb18030" and text is CHINESE:  # really not UTF-8, or the test proves nothing
        with pytest.raises(UnicodeDecodeError):
            text.encode("gb18030").decode("utf-8")
    ledger = import_settlement(write(tmp_path, text, encoding))
    assert ledger == expected_ledger()
    assert ledger.source.endswith("settle.csv")


def test_crlf_line_ends_as_from_a_spreadsheet(tmp_path):
    path = write(tmp_path, ENGLISH.replace("\n", "\r\n"))
    assert import_settlement(path) == expected_ledger()


def test_a_row_without_its_tsn_keeps_its_reference_and_the_engine_ties_it_by_that(tmp_path):
    """Rules revision 2: a settlement row whose TSN was lost keeps host_ref, which ties it."""
    from custodian_app.domain.documents import AtmLedger, AtmTransaction, Totals, TypeTotals
    from custodian_app.domain.reconcile import reconcile

    host = import_settlement(write(tmp_path, ENGLISH))
    lost = [r for r in host.transactions if r.tsn is None]
    assert [r.host_ref for r in lost] == ["632409000121"]
    t = "2026-11-20T{}+08:00"
    atm_txs = [
        AtmTransaction(
            "000101",
            t.format("09:12:03"),
            "withdrawal",
            "622202******1234",
            100000,
            "00",
            "632409000117",
            False,
            taken=100000,
        ),
        AtmTransaction(
            "000102",
            t.format("09:20:10"),
            "withdrawal",
            "622202******5678",
            50000,
            "00",
            "632409000118",
            False,
            taken=50000,
        ),
        AtmTransaction(
            "000103",
            t.format("09:30:00"),
            "deposit",
            "622848*****0001",
            300000,
            "00",
            "632409000119",
            False,
            deposited=300000,
        ),
        AtmTransaction(
            "000105",
            t.format("11:00:00"),
            "withdrawal",
            "622202******9999",
            10000,
            "00",
            "632409000121",
            False,
            taken=10000,
        ),
    ]
    atm = AtmLedger(
        "NJ-0001",
        "NJ-0001-20261120",
        "CNY",
        t.format("08:00:00"),
        None,
        Totals(20000000, TypeTotals(3, 160000), TypeTotals(1, 300000)),
        [],
        atm_txs,
    )
    result = reconcile(atm, host)
    assert result.mismatches == [] and result.balanced


def test_a_host_ledger_json_is_imported(tmp_path):
    ledger = make_ledger(20)
    path = tmp_path / "host.json"
    path.write_bytes(formats.dumps(formats.host_ledger_to_dict(ledger)))
    assert import_settlement(path) == ledger
    # read as reconcile reads it: a byte order mark (which JSON must not carry) is refused
    # by both, not taken by one and refused by the other (issue 18)
    path.write_bytes(b"\xef\xbb\xbf" + formats.dumps(formats.host_ledger_to_dict(ledger)))
    with pytest.raises(SettlementError, match="byte order mark"):
        import_settlement(path)


def test_a_bad_json_file_names_the_path(tmp_path):
    doc = formats.host_ledger_to_dict(make_ledger(5))
    doc["transactions"][2]["amount"] = "12.5"
    path = tmp_path / "host.json"
    path.write_bytes(formats.dumps(doc))
    with pytest.raises(SettlementError, match=r"\$\.transactions\[2\]\.amount") as info:
        import_settlement(path)
    assert info.value.path == "$.transactions[2].amount"


def test_without_totals_rows_the_totals_are_the_booked_sums(tmp_path):
    text = ENGLISH.replace("TOTAL,withdrawal,3,1600.00\nTOTAL,deposit,1,3000.00\n", "")
    assert import_settlement(write(tmp_path, text)) == expected_ledger()


def test_the_backend_totals_are_kept_as_the_file_says(tmp_path):
    # the file's own totals disagree with its records: that is the reconciliation's business
    text = ENGLISH.replace("TOTAL,withdrawal,3,1600.00", "TOTAL,withdrawal,4,1700.00")
    ledger = import_settlement(write(tmp_path, text))
    assert (ledger.totals.withdrawals.count, ledger.totals.withdrawals.amount) == (4, 170000)


def test_terminal_cycle_currency_may_come_from_the_options(tmp_path):
    text = "\n".join(ENGLISH.splitlines()[3:]) + "\n"  # loaded_amount onwards
    path = write(tmp_path, text)
    with pytest.raises(SettlementError, match="does not say its terminal_id.*--terminal"):
        import_settlement(path)
    ledger = import_settlement(path, terminal_id="NJ-0001", cycle_id="NJ-0001-20261120", currency="CNY")
    assert ledger == expected_ledger()


def test_a_file_for_another_terminal_is_refused(tmp_path):
    with pytest.raises(SettlementError, match="for terminal 'NJ-0001', not 'NJ-0002'"):
        import_settlement(write(tmp_path, ENGLISH), terminal_id="NJ-0002")
    with pytest.raises(SettlementError, match="for currency 'CNY', not 'USD'"):
        import_settlement(write(tmp_path, CHINESE), currency="USD")


@pytest.mark.parametrize(
    "old, new, line, column, words",
    [
        ("1000.00,booked", "1000.5,booked", 7, "6 (amount)", "two decimals"),
        ("500.00,booked", "500,booked", 8, "6 (amount)", "two decimals"),
        ("20261120093000,deposit", "20261120093000,refund", 9, "4 (type)", "withdrawal/取款"),
        ("200.00,reversed", "200.00,pending", 10, "7 (status)", "booked/成功"),
        ("2026-11-20 11:00:00", "2026-11-31 11:00:00", 11, "3 (time)", "expected a time"),
        ("000102,", "0001 02,", 8, "2 (tsn)", "expected a TSN"),
        ("END,5", "END,6", 14, None, "says 6 records but the file has 5"),
        ("END,5\n", "", None, None, "no END trailer"),
        ("TOTAL,deposit,1,3000.00\n", "", None, None, "none for deposits"),
        ("632409000118,000102", "632409000117,000102", 8, "1 (host_ref)", "booked twice .also on line 7"),
        ('loaded_amount,"200,000.00"', "loaded_amount,200000", 4, "2", "two decimals"),
        (
            "host_ref,tsn,time,type,card,amount,status",
            "host_ref,tsn,time,type,card,status",
            6,
            None,
            "lacks amount",
        ),
        ("currency,CNY", "currency,yuan", 3, None, "currency"),
        ("632409000121,,", "632409000121,,,", 11, "9", "9 cells but the header has 8"),
    ],
)
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(tmp_path, old, new, line, column, words):
    assert old in ENGLISH
    path = write(tmp_path, ENGLISH.replace(old, new, 1))
    with pytest.raises(SettlementError, match=words) as info:
        import_settlement(path)
    err = info.value
    assert (err.line, err.column) == (line, column)
    assert "nothing was imported" in str(err)
    if line is not None:
        assert f"line {line}" in str(err)
    assert isinstance(err, BackendError)


def test_line_numbers_count_physical_lines_with_quoted_line_breaks(tmp_path):
    text = ENGLISH.replace("Nanjing Xinjiekou", '"Nanjing\nXinjiekou"').replace(
        "1000.00,booked", "1000,booked"
    )
    with pytest.raises(SettlementError) as info:
        import_settlement(write(tmp_path, text))
    assert info.value.line == 8


def test_a_bad_row_in_gb18030_is_found_by_line_and_named_in_chinese(tmp_path):
    text = CHINESE.replace("500.00,成功", "五百,成功")
    with pytest.raises(SettlementError, match="五百") as info:
        import_settlement(write(tmp_path, text, "gb18030"))
    assert (info.value.line, info.value.column) == (7, "6 (金额)")


@pytest.mark.parametrize("card", ["6222020123451234", "622202012345123456", "6222-0201-2345-1234"])
def test_a_full_card_number_is_refused_without_echoing_it(tmp_path, card):
    text = ENGLISH.replace("622202******5678", card)
    with pytest.raises(SettlementError, match="withheld") as info:
        import_settlement(write(tmp_path, text))
    assert (info.value.line, info.value.column) == (8, "5 (card)")
    digits = card.replace("-", "")
    assert digits not in str(info.value) and card not in str(info.value)
    assert card not in repr(info.value.args)


def test_a_file_in_neither_encoding_is_refused(tmp_path):
    path = tmp_path / "settle.csv"
    path.write_bytes(ENGLISH.encode() + b"\x80\x80\xff\xff\n")
    with pytest.raises(SettlementError, match="neither UTF-8 nor GB18030"):
        import_settlement(path)


def test_a_file_that_is_not_a_settlement_file(tmp_path):
    with pytest.raises(SettlementError, match="expected a 'key,value' row"):
        import_settlement(write(tmp_path, "a,b,c\n1,2,3\n"))
    with pytest.raises(SettlementError, match="no column-header row"):
        import_settlement(write(tmp_path, "terminal_id,NJ-0001\n"))
    with pytest.raises(SettlementError, match="cannot read the file"):
        import_settlement(tmp_path / "missing.csv")


def test_rows_after_the_trailer_are_refused(tmp_path):
    with pytest.raises(SettlementError, match="after the END trailer") as info:
        import_settlement(
            write(
                tmp_path,
                ENGLISH + "632409000199,000199,2026-11-20 12:00:00,withdrawal,622202******1234,1.00,booked\n",
            )
        )
    assert info.value.line == 15


def test_local_times_take_the_files_utc_offset(tmp_path):
    text = ENGLISH.replace("currency,CNY", "currency,CNY\nutc_offset,+09:00")
    ledger = import_settlement(write(tmp_path, text))
    assert ledger.transactions[0].time == "2026-11-20T09:12:04+09:00"
    assert ledger.transactions[1].time == "2026-11-20T09:20:11+08:00"  # had its own offset


def test_spreadsheet_style_cells_keep_their_leading_zeros(tmp_path):
    text = ENGLISH.replace("632409000117,000101,", '="632409000117",="000101", ').replace(
        "622202******5678,500.00", " 622202******5678 , 500.00 "
    )
    assert import_settlement(write(tmp_path, text)) == expected_ledger()
