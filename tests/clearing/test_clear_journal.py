"""``custodian-app clear --journal``: an ATM cleared from its journal and FSN files (a USB
stick) instead of the maintenance port, end to end for every shipped dialect: journals written
by ``custodian_app.journal.writer`` from a generated cycle, the backend simulator on loopback,
the real command in its own process, the result and the PDF read back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from custodian_app import clearing
from custodian_app.backend.simulator import BackendSimulator
from custodian_app.domain import formats
from custodian_app.domain.generator import build_documents
from custodian_app.domain.reconcile import reconcile
from custodian_app.journal import read_journals
from custodian_app.journal.writer import write_cycle

ROOT = Path(__file__).resolve().parents[2]
DIALECTS = ("ncr", "hyosung", "grg")
TOKEN = "TOKSECRET-clear-journal-4e1f"
# A journal has no stated totals (the reader sums the transactions): that fault cannot survive.
FAULTS = "all,TOTALS_INCONSISTENT=0"
STRAY = "PRINTER 2 PAPER LOW - REPLACE ROLL"  # a line no dialect describes: a gap
GAP_LINE = 3


@pytest.fixture(scope="module")
def cycle():
    docs = build_documents(5, 150, FAULTS)
    return json.loads(docs.atm), formats.parse_host_ledger(docs.host)


@pytest.fixture
def backend(cycle):
    sim = BackendSimulator([cycle[1]], token=TOKEN)
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def users():
    store = clearing.open_store()  # the local database of this test's own CUSTODIAN_HOME
    try:
        clearing.ensure_user(store, "alice", "alice-pw-1", "custodian")
        clearing.ensure_user(store, "bob", "bob-pw-123", "custodian")
    finally:
        store.close()


def usb_stick(cycle, dialect: str, folder: Path) -> tuple[str, str]:
    """The journal (with one stray line) and the FSN folder, as copied from the ATM."""
    jpath, fsn_dir = write_cycle(cycle[0], dialect, folder)
    lines = Path(jpath).read_text(encoding="utf-8").splitlines(keepends=True)
    lines.insert(GAP_LINE - 1, STRAY + "\n")
    Path(jpath).write_text("".join(lines), encoding="utf-8")
    return jpath, fsn_dir


def clear(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("CUSTODIAN_BACKEND_TOKEN", None)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "custodian_app",
            "clear",
            *args,
            "--custodians",
            "alice,bob",
            "--password-stdin",
        ],
        cwd=ROOT,
        env=env,
        input="alice-pw-1\nbob-pw-123\n",
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("dialect", DIALECTS)
def test_clear_from_journal_files_reconciles_and_lists_the_accepted_gaps(
    cycle, backend, users, dialect, tmp_path
):
    jpath, fsn_dir = usb_stick(cycle, dialect, tmp_path / "usb")
    read = read_journals([jpath], fsn_dir, dialect, accept_gaps=True)
    assert [(Path(g.file).name, g.line) for g in read.gaps] == [("journal.txt", GAP_LINE)]

    out, pdf = tmp_path / "result.json", tmp_path / "report.pdf"
    done = clear(
        "--journal",
        jpath,
        "--fsn",
        fsn_dir,
        "--dialect",
        dialect,
        "--accept-gaps",
        "--url",
        backend.base_url,
        "--token",
        TOKEN,
        "--out",
        str(out),
        "--pdf",
        str(pdf),
    )
    assert done.returncode == 1, done.stderr  # the generated faults: mismatches
    assert f"journal.txt:{GAP_LINE}" in done.stderr and TOKEN not in done.stderr + done.stdout

    result = formats.parse_result(out.read_bytes(), str(out))
    want = reconcile(formats.parse_atm_ledger(cycle[0]), cycle[1])
    # notes a journal cannot tie to a TSN may add NOTE_FLOW_MISMATCH; every other entry agrees
    key = lambda m: (m.category, m.tsn, m.cash_effect)  # noqa: E731
    assert sorted(key(m) for m in result.mismatches if m.category != "NOTE_FLOW_MISMATCH") == sorted(
        key(m) for m in want.mismatches if m.category != "NOTE_FLOW_MISMATCH"
    )
    assert result.cash_position.difference == want.cash_position.difference
    assert result.terminal_id == want.terminal_id and result.cycle_id == want.cycle_id

    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Journal lines not understood" in text and "电子日志中未能识别的行" in text
    section = text[text.index("Journal lines not understood") :]
    assert "journal.txt" in section and str(GAP_LINE) in section
    assert want.cycle_id in text

    store = clearing.open_store()
    try:
        (info,) = store.history()
        entries = {a.action: a for a in store.audit_entries(session_id=info.id)}
    finally:
        store.close()
    assert info.state == "reconciled" and "atm_journal_read" in entries
    detail = entries["atm_journal_read"].detail
    assert detail["dialect"] == dialect and detail["gap_lines"] == [f"journal.txt:{GAP_LINE}"]


def test_gaps_not_accepted_stop_the_clear_and_nothing_is_written(cycle, backend, users, tmp_path):
    jpath, fsn_dir = usb_stick(cycle, "ncr", tmp_path / "usb")
    out, pdf = tmp_path / "result.json", tmp_path / "report.pdf"
    done = clear(
        "--journal",
        jpath,
        "--fsn",
        fsn_dir,
        "--dialect",
        "ncr",
        "--url",
        backend.base_url,
        "--token",
        TOKEN,
        "--out",
        str(out),
        "--pdf",
        str(pdf),
    )
    assert done.returncode == 2, done.stderr
    assert f"journal.txt:{GAP_LINE}" in done.stderr and "--accept-gaps" in done.stderr
    assert not out.exists() and not pdf.exists()
    assert backend.requests == []  # refused before the backend was asked


def test_a_clean_journal_prints_no_gaps_section(cycle, backend, users, tmp_path):
    jpath, fsn_dir = write_cycle(cycle[0], "grg", tmp_path / "usb")
    out, pdf = tmp_path / "result.json", tmp_path / "report.pdf"
    done = clear(
        "--journal",
        jpath,
        "--fsn",
        fsn_dir,
        "--dialect",
        "grg",
        "--url",
        backend.base_url,
        "--token",
        TOKEN,
        "--out",
        str(out),
        "--pdf",
        str(pdf),
    )
    assert done.returncode == 1, done.stderr
    text = "".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "Journal lines not understood" not in text and cycle[0]["cycle_id"] in text
