"""The FSN layout: both headers, records with and without the serial image, and bad files
refused with the byte offset of what is wrong; tying notes by time window and direction."""

from __future__ import annotations

import struct
from datetime import datetime

import pytest

from custodian_app.journal import JournalError, fsn, read_journals
from custodian_app.journal.writer import write_cycle
from tests.journal.helpers import rev2_cycle

T0 = int((datetime(2026, 11, 20, 9, 0, 0) - datetime(1970, 1, 1)).total_seconds())


def _notes(k=3):
    return [fsn.FsnNote(T0 + 3 * i, fsn.GENUINE, 10000, f"AB{i:08d}", "CNY", 2015) for i in range(k)]


@pytest.mark.parametrize("variant,size", [("classic", 100), ("2018", 88)])
@pytest.mark.parametrize("images", [False, True])
def test_written_files_read_back(variant, size, images):
    head = fsn.FsnHeader(
        variant,
        images,
        0,
        data_type=1,
        institution="ICBC",
        machine_sno="ATM-0001-SN",
        machine_type="ATM",
        machine_model="H68N",
        bank="工商银行南京分行",
        outlet="鼓楼支行",
        operator="A01",
    )
    data = fsn.write_fsn(_notes(), variant=variant, with_image=images, header=head)
    header_size = fsn.CLASSIC_HEADER if variant == "classic" else fsn.HEADER_2018
    assert len(data) == header_size + 3 * (size + (fsn.IMAGE_SIZE if images else 0))
    f = fsn.read_fsn(data, "a.fsn")
    assert (f.header.variant, f.header.with_image, f.header.count) == (variant, images, 3)
    if variant == "2018":
        assert (f.header.machine_sno, f.header.bank, f.header.outlet, f.header.operator) == (
            "ATM-0001-SN",
            "工商银行南京分行",
            "鼓楼支行",
            "A01",
        )
    # two-second steps: 09:00:03 is kept as 09:00:02
    assert [(n.time - T0, n.serial, n.value, n.currency, n.version) for n in f.notes] == [
        (0, "AB00000000", 10000, "CNY", 2015),
        (2, "AB00000001", 10000, "CNY", 2015),
        (6, "AB00000002", 10000, "CNY", 2015),
    ]
    assert not hasattr(f.notes[0], "image")


def test_header_values_follow_the_layout():
    data = fsn.write_fsn(_notes(1))
    assert struct.unpack_from("<4H6HI4H", data) == (
        20,
        10,
        7,
        26,
        0,
        1,
        0x2D,
        ord("S"),
        ord("N"),
        ord("o"),
        1,
        0,
        1,
        2,
        3,
    )
    d, t = struct.unpack_from("<HH", data, 32)
    assert (d >> 9, (d >> 5) & 15, d & 31) == (2026 - 1980, 11, 20) and (t >> 11, (t >> 5) & 63) == (9, 0)
    # the serial is UTF-16LE code units
    assert data[32 + 26 : 32 + 26 + 20].decode("utf-16-le") == "AB00000000"


def _bad(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value) :]


@pytest.mark.parametrize(
    "mutate,where,words",
    [
        (lambda b: b[:20], "@0", "too short"),
        (lambda b: _bad(b, 0, b"\x15\x00"), "@0", "HeadStart"),
        (lambda b: _bad(b, 18, b"x\x00"), "@8", "HeadString"),
        (lambda b: _bad(b, 12, b"\x2f\x00"), "@12", "0x2E"),
        (lambda b: _bad(b, 24, b"\x09\x00"), "@24", "HeadEnd"),
        (lambda b: b[:-1], "@32", "the header says 3 records"),
        (lambda b: _bad(b, 32 + 100 + 4, b"\x07\x00"), "@136", "tfFlag is 7"),
        (lambda b: _bad(b, 32 + 200 + 24, b"\x0d\x00"), "@256", "CharNUM is 13"),
        (lambda b: _bad(b, 32 + 26, "ab".encode("utf-16-le")), "@58", "is not 6 to 12"),
        (lambda b: _bad(b, 32, struct.pack("<H", (46 << 9) | (13 << 5) | 1)), "@32", "no calendar date"),
        (lambda b: _bad(b, 34, struct.pack("<H", 25 << 11)), "@32", "no time of day"),
    ],
)
def test_bad_files_name_the_offset(mutate, where, words):
    data = mutate(fsn.write_fsn(_notes()))
    with pytest.raises(JournalError) as err:
        fsn.read_fsn(data, "bad.fsn")
    assert f"bad.fsn{where}:" in str(err.value) and words in str(err.value)


def test_fsn_folder_faults(tmp_path):
    jpath, fsn_dir = write_cycle(rev2_cycle(), "ncr", tmp_path)
    (tmp_path / "fsn" / "NOTES.FSN").write_bytes(fsn.write_fsn(_notes()))
    with pytest.raises(JournalError, match="cannot tell which way"):
        read_journals([jpath], fsn_dir, "ncr")
    with pytest.raises(JournalError, match="cannot list the FSN folder"):
        read_journals([jpath], tmp_path / "nowhere", "ncr")


def test_notes_of_a_dispense_whose_fate_is_unknown_are_not_placed(tmp_path):
    led = rev2_cycle()
    jpath, fsn_dir = write_cycle(led, "hyosung", tmp_path)
    # the dispenser read three notes at 09:10 before the power went: TSN 000103
    at = T0 + 600
    extra = [fsn.FsnNote(at, fsn.GENUINE, 10000, f"PW{i:08d}") for i in range(3)]
    (tmp_path / "fsn" / "SH-0042_20261120_OUT_2.FSN").write_bytes(fsn.write_fsn(extra))
    read = read_journals([jpath], fsn_dir, "hyosung")
    assert read.unknown_fate_notes == 3
    assert not any(n["serial"].startswith("PW") for n in read.ledger["notes"])


def test_notes_in_no_window_or_several_keep_no_tsn(tmp_path):
    led = rev2_cycle()
    jpath, fsn_dir = write_cycle(led, "grg", tmp_path)
    lone = [fsn.FsnNote(T0 + 3 * 3600, fsn.GENUINE, 10000, "ZZ00000001")]  # 12:00, no withdrawal then
    (tmp_path / "fsn" / "X_DISP.FSN").write_bytes(fsn.write_fsn(lone))
    read = read_journals([jpath], fsn_dir, "grg")
    note = next(n for n in read.ledger["notes"] if n["serial"] == "ZZ00000001")
    assert note["tsn"] is None and read.untied_notes == 2 and read.ambiguous_notes == 0
