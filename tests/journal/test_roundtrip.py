"""A cycle written as journal + FSN files and read back gives the cycle again, in every
shipped dialect: generated cycles (every fault the ATM side can show) and the revision-2
cases built by hand."""

from __future__ import annotations

import json

import pytest

from custodian_app.domain import formats
from custodian_app.domain.generator import build_documents
from custodian_app.domain.reconcile import reconcile
from custodian_app.journal import read_journals
from custodian_app.journal.writer import write_cycle
from tests.journal.helpers import DIALECTS, check_ledger, compare_notes, rev2_cycle, without_source

# TOTALS_INCONSISTENT bends the ATM's stated totals away from its own details: a journal has
# no stated totals (the reader sums the transactions), so that fault cannot survive a journal.
FAULTS = "all,TOTALS_INCONSISTENT=0"


@pytest.fixture(scope="module")
def generated():
    docs = build_documents(11, 800, FAULTS)
    return json.loads(docs.atm), docs.host


def _round_trip(ledger, dialect, tmp_path, **kw):
    jpath, fsn_dir = write_cycle(ledger, dialect, tmp_path, **kw)
    return read_journals([jpath], fsn_dir, dialect)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_generated_cycle_comes_back(generated, dialect, tmp_path):
    ledger, _ = generated
    read = _round_trip(ledger, dialect, tmp_path)
    got = read.ledger
    check_ledger(got)
    assert read.gaps == []
    for key in (
        "terminal_id",
        "cycle_id",
        "currency",
        "opened_at",
        "closed_at",
        "totals",
        "units",
        "transactions",
    ):
        assert got[key] == ledger[key], key
    nulls = compare_notes(got["notes"], ledger["notes"])
    # The dispenser's self-test notes belong to no transaction; the rest are tied unless two
    # transactions of the same direction ran within two seconds of each other.
    assert nulls == read.notes_without_tsn >= 2
    assert nulls < len(ledger["notes"]) // 50
    assert got["source"]["notes_without_tsn"] == nulls


@pytest.mark.parametrize("dialect", DIALECTS)
def test_reconciling_the_journal_gives_the_same_mismatches(generated, dialect, tmp_path):
    ledger, host = generated
    got = _round_trip(ledger, dialect, tmp_path).ledger
    want = reconcile(formats.parse_atm_ledger(ledger), formats.parse_host_ledger(host))
    have = reconcile(formats.parse_atm_ledger(got), formats.parse_host_ledger(host))
    # Notes without a TSN may add NOTE_FLOW_MISMATCH entries; every other entry is the same.
    key = lambda m: (m.category, m.tsn, m.cash_effect)  # noqa: E731
    assert sorted(map(key, (m for m in have.mismatches if m.category != "NOTE_FLOW_MISMATCH"))) == sorted(
        map(key, (m for m in want.mismatches if m.category != "NOTE_FLOW_MISMATCH"))
    )
    assert have.cash_position == want.cash_position


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("variant,images", [("classic", False), ("2018", True)])
def test_revision_2_cases_come_back_exactly(dialect, variant, images, tmp_path):
    ledger = rev2_cycle()
    check_ledger(ledger)
    read = _round_trip(ledger, dialect, tmp_path, variant=variant, with_image=images)
    got = without_source(read.ledger)
    check_ledger(got)
    key = lambda n: n["serial"]  # noqa: E731
    assert sorted(got.pop("notes"), key=key) == sorted(ledger.pop("notes"), key=key)
    assert got == ledger
    by_tsn = {t["tsn"]: t for t in got["transactions"]}
    assert by_tsn["000102"]["reversed_amount"] == "400.00" and by_tsn["000102"]["reversed"] is False
    assert by_tsn["000103"]["cash"]["unknown"] == "300.00"
    assert by_tsn["000104"]["cash"]["retracted"] == "200.00"
    assert [c["tsn"] for c in got["retained_cards"]] == ["000104", None]
    assert read.notes_without_tsn == 1  # the self-test reject


def test_no_notes_cycle_has_no_notes(tmp_path):
    ledger = json.loads(build_documents(3, 60, "none", notes=False).atm)
    read = _round_trip(ledger, "ncr", tmp_path)
    assert "notes" not in read.ledger and read.fsn_files == 0
    assert read.ledger["transactions"] == ledger["transactions"]


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("dialect", DIALECTS)
def test_other_seeds_and_fault_mixes(seed, dialect, tmp_path):
    ledger = json.loads(build_documents(seed, 120, ("realistic", "none", FAULTS)[seed - 1]).atm)
    got = _round_trip(ledger, dialect, tmp_path, variant=("classic", "2018")[seed % 2]).ledger
    check_ledger(got)
    assert got["transactions"] == ledger["transactions"] and got["units"] == ledger["units"]
    assert got["totals"] == ledger["totals"]
    compare_notes(got["notes"], ledger["notes"])


def test_progress_rises_to_the_total(tmp_path):
    ledger = json.loads(build_documents(9, 2200, "none").atm)
    jpath, fsn_dir = write_cycle(ledger, "ncr", tmp_path)
    seen = []
    read_journals([jpath], fsn_dir, "ncr", progress=lambda done, total: seen.append((done, total)))
    done = [d for d, _ in seen]
    assert len(seen) >= 3 and done == sorted(done)  # inside the journal, then per FSN file
    assert done[-1] == seen[-1][1] == sum(f.stat().st_size for f in tmp_path.rglob("*") if f.is_file())
