"""Reading hand-written journals: fields, events, midnight, other transaction kinds, gaps,
card numbers, and faults named by file and line."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from custodian_app.journal import JournalError, JournalGapsError, read_journals
from tests.journal.helpers import check_ledger

DATA = Path(__file__).parent / "data"
FULL_PANS = ("6222021234561004", "6217001234567890", "6228480012345678901")


def _copy(tmp_path, name, text=None, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes((text if text is not None else (DATA / name).read_text(encoding="utf-8")).encode(encoding))
    return p


def test_ncr_sample(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    read = read_journals([_copy(tmp_path, "ncr_sample.txt")], None, "ncr")
    led = read.ledger
    check_ledger(led)
    assert led["terminal_id"] == "BJ-0007" and led["cycle_id"] == "BJ-0007-20261120"
    assert (led["opened_at"], led["closed_at"]) == ("2026-11-20T08:00:00+08:00", "2026-11-21T07:30:00+08:00")
    t1, t3 = led["transactions"]
    assert t1 == {
        "tsn": "004711",
        "time": "2026-11-20T23:59:50+08:00",
        "type": "withdrawal",
        "card": "622202******1004",
        "amount": "1250.00",
        "host_code": "00",
        "host_ref": "632409004711",
        "reversed": False,
        "cash": {"taken": "1250.00", "retracted": "0.00", "deposited": "0.00", "returned": "0.00"},
    }
    assert t3["cash"]["retracted"] == "300.00" and t3["cash"]["taken"] == "0.00"
    assert read.skipped_transactions == 1  # the balance inquiry
    assert led["retained_cards"] == [
        {
            "time": "2026-11-21T00:10:41+08:00",
            "card": "621226******5678",
            "tsn": "004713",
            "reason": "timeout",
        },
        {"time": "2026-11-21T00:20:00+08:00", "card": "621700******7890", "tsn": None, "reason": "fault"},
    ]
    units = {u["id"]: u for u in led["units"]}
    assert units["CST1"]["out"]["presented"] == 15 and units["RTR1"]["in"]["retracted"] == 3
    assert led["totals"] == {
        "loaded_amount": "120000.00",
        "withdrawals": {"count": 2, "amount": "1550.00"},
        "deposits": {"count": 0, "amount": "0.00"},
    }
    # Full card numbers are masked as read: nowhere in the ledger, nowhere in the log.
    text = json.dumps(led) + caplog.text
    assert not any(pan in text for pan in FULL_PANS)


def test_grg_sample_in_gb18030(tmp_path):
    path = _copy(tmp_path, "grg_sample.txt", encoding="gb18030")
    led = read_journals([path], None, "grg").ledger
    check_ledger(led)
    dep, wd = led["transactions"]
    assert dep["card"] == "622848*********8901" and dep["host_code"] == "96" and dep["host_ref"] is None
    assert dep["cash"]["deposited"] == "2000.00"
    # power lost mid-dispense, no end line: the notes' fate is unknown
    assert wd["cash"] == {
        "taken": "0.00",
        "retracted": "0.00",
        "deposited": "0.00",
        "returned": "0.00",
        "unknown": "500.00",
    }
    assert led["units"][0]["out"]["unknown"] == 5 and led["units"][0]["value"] == "100.00"
    assert "6228480012345678901" not in json.dumps(led)


def test_gap_fails_the_read_naming_file_and_line(tmp_path):
    text = (
        (DATA / "ncr_sample.txt")
        .read_text(encoding="utf-8")
        .replace("PIN ENTERED\nTSN 004711", "PIN ENTERED\nSHUTTER JAMMED 6222021234561004\nTSN 004711")
    )
    path = _copy(tmp_path, "ej.txt", text)
    with pytest.raises(JournalGapsError) as err:
        read_journals([path], None, "ncr")
    assert f"{path}:11" in str(err.value) and "--accept-gaps" in str(err.value)
    assert [(g.line, g.reason) for g in err.value.gaps] == [(11, "matches no rule of the dialect")]
    assert "6222021234561004" not in str(err.value) + err.value.gaps[0].text


def test_gaps_accepted_knowingly_are_listed(tmp_path):
    text = (DATA / "ncr_sample.txt").read_text(encoding="utf-8") + "SOMETHING ELSE\n09:00:00 NOTES TAKEN\n"
    path = _copy(tmp_path, "ej.txt", text)
    read = read_journals([path], None, "ncr", accept_gaps=True)
    assert [(g.line, g.reason) for g in read.gaps] == [
        (40, "matches no rule of the dialect"),
        (41, "a notes_taken line outside a transaction"),
    ]
    assert read.ledger["source"]["gaps"][0] == {
        "file": str(path),
        "line": 40,
        "reason": "matches no rule of the dialect",
    }
    check_ledger(read.ledger)


@pytest.mark.parametrize(
    "change,where,words",
    [
        (
            ("*TRANSACTION START* 21/11/26 00:10:00", "*TRANSACTION START* 32/11/26 00:10:00"),
            24,
            "does not follow",
        ),
        (
            ("TSN 004713 CARD 621226******5678", "TSN 004711 CARD 621226******5678"),
            24,
            "TSN 004711 was used already",
        ),
        (("CASH WITHDRAWAL CNY 300.00", "CASH WITHDRAWAL"), 24, "has no amount"),
        (("REMAINING 985", "REMAINING 986"), 35, "986 remain"),
        (
            ("TSN 004711 CARD 6222021234561004", "TSN 004711 CARD 62220212*45678901"),
            11,
            "neither a masked nor",
        ),
    ],
)
def test_faults_name_file_and_line(tmp_path, change, where, words):
    text = (DATA / "ncr_sample.txt").read_text(encoding="utf-8")
    assert change[0] in text
    path = _copy(tmp_path, "ej.txt", text.replace(change[0], change[1]))
    with pytest.raises(JournalError) as err:
        read_journals([path], None, "ncr")
    assert f"{path}:{where}" in str(err.value) and words in str(err.value)


def test_a_cycle_over_several_files(tmp_path):
    lines = (DATA / "ncr_sample.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    a, b = _copy(tmp_path, "a.txt", "".join(lines[:15])), _copy(tmp_path, "b.txt", "".join(lines[15:]))
    whole = read_journals([_copy(tmp_path, "ncr_sample.txt")], None, "ncr").ledger
    split = read_journals([a, b], None, "ncr").ledger
    assert split["transactions"] == whole["transactions"]


def test_no_counter_print_is_refused(tmp_path):
    path = _copy(tmp_path, "ej.txt", "*TRANSACTION START* 20/11/26 09:00:00\n")
    with pytest.raises(JournalError, match="counter print"):
        read_journals([path], None, "ncr", accept_gaps=True)


def test_unreadable_journal_says_so(tmp_path):
    with pytest.raises(JournalError, match="cannot read the file"):
        read_journals([tmp_path / "missing.txt"], None, "ncr")
    bad = tmp_path / "bin.txt"
    bad.write_bytes(b"\xff\xfe\x00\x81\x30\xff")
    with pytest.raises(JournalError, match="neither UTF-8 nor GB18030"):
        read_journals([bad], None, "ncr")


def test_progress_reports_bytes(tmp_path):
    seen = []
    read_journals([_copy(tmp_path, "ncr_sample.txt")], None, "ncr", progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == seen[-1][1] > 0


def test_card_retained_during_an_inquiry_names_no_transaction(tmp_path):
    text = (
        (DATA / "ncr_sample.txt")
        .read_text(encoding="utf-8")
        .replace(
            "RESP CODE 00\n*TRANSACTION END* 00:03:20",
            "RESP CODE 00\n00:03:10 CARD RETAINED BY HOST\n*TRANSACTION END* 00:03:20",
        )
    )
    led = read_journals([_copy(tmp_path, "ej.txt", text)], None, "ncr").ledger
    assert led["retained_cards"][0] == {
        "time": "2026-11-21T00:03:10+08:00",
        "card": "621226******5678",
        "tsn": None,
        "reason": "host",
    }
    check_ledger(led)


def test_hyosung_sample_with_a_gap_accepted(tmp_path):
    # line 11 prints the card number in groups, as some receipts do: no rule, a gap, and its
    # digits are withheld from what is shown
    path = _copy(tmp_path, "hyosung_sample.txt")
    with pytest.raises(JournalGapsError):
        read_journals([path], None, "hyosung")
    read = read_journals([path], None, "hyosung", accept_gaps=True)
    assert [g.line for g in read.gaps] == [11]
    led = read.ledger
    check_ledger(led)
    (t,) = led["transactions"]
    assert (t["tsn"], t["card"], t["amount"], t["reversed"], t["reversed_amount"]) == (
        "2201",
        "621700******7890",
        "2000.00",
        False,
        "500.00",
    )
    assert t["cash"]["taken"] == "1500.00"
    assert led["totals"]["withdrawals"] == {"count": 1, "amount": "1500.00"}
    assert led["retained_cards"] == [
        {"time": "2026-11-20T14:02:11+08:00", "card": "622202******0099", "tsn": None, "reason": "host"}
    ]
    assert "6217001234567890" not in json.dumps(led)


def test_a_grouped_card_number_in_a_gap_is_withheld(tmp_path):
    read = read_journals([_copy(tmp_path, "hyosung_sample.txt")], None, "hyosung", accept_gaps=True)
    (gap,) = read.gaps
    assert "0012" not in str(gap) and "digits withheld" in gap.text
