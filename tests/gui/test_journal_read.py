"""The read page's second way in (issue 15): the ATM's journal files and FSN folder from a
USB stick, in every shipped dialect, through the wizard to the signed report, with the ledger
recorded in the store as a serial read records it (plus where it came from); lines no rule
describes are listed and must be accepted knowingly."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from types import SimpleNamespace

import orjson
import pytest
from pypdf import PdfReader

from custodian_app import clearing
from custodian_app.domain.flow import Step
from custodian_app.domain.generator import build_documents
from custodian_app.gui.qa.driver import WizardDriver
from custodian_app.journal.writer import write_cycle

DIALECTS = ("ncr", "hyosung", "grg")
# what the ATM's journal can show (a journal has no stated totals to bend)
FAULTS = "RETRACTED=1,DISPENSED_NOT_DEBITED=1,HOST_ONLY=1,RETAINED_CARD=1"


def usb_stick(tmp_path, dialect, seed=5, transactions=60):
    docs = build_documents(seed, transactions, FAULTS)
    stick = tmp_path / "usb"
    write_cycle(json.loads(docs.atm), dialect, stick)
    return SimpleNamespace(folder=stick, docs=docs, counts=json.loads(docs.counts)["units"])


def stored_ledger(session_id) -> dict:
    store = clearing.open_store()
    try:
        (doc,) = store.evidence(session_id, "atm-ledger")
        return orjson.loads(doc.content)
    finally:
        clearing.close_store(store)


def to_journal_read(d, stick) -> None:
    d.sign_in()
    d.next(Step.CONNECT)
    d.choose_journal_files()  # no cable: nothing to connect to
    assert d.session_id is None
    d.next(Step.READ_ATM)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_clear_from_the_journal_files(dialect, tmp_path, qtbot, backend_simulator, make_ctx):
    stick = usb_stick(tmp_path, dialect)
    backend = backend_simulator(stick.docs.host)
    ctx = make_ctx(SimpleNamespace(device="", url=backend.url))
    d = WizardDriver(qtbot, ctx)
    to_journal_read(d, stick)
    page = d.page(Step.READ_ATM)
    assert page.journal.isVisible() and not page.serial_box.isVisible()
    d.read_journal_files(stick.folder, dialect)
    box = page.journal
    assert [p.rsplit("/", 1)[-1] for p in box.journals()] == ["journal.txt"]
    assert box.fsn_dir() == str(stick.folder / "fsn")
    assert page.progress.value() == page.progress.maximum() > 0
    assert d.flow.atm.notes and d.session_id is not None
    d.next(Step.COUNT)
    d.count(stick.counts)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    found = Counter(c for c in d.mismatch_categories() if c != "NOTE_FLOW_MISMATCH")
    assert found == Counter({k: v for k, v in stick.docs.expected.items() if k != "NOTE_FLOW_MISMATCH"})
    d.next(Step.REPORT)
    d.wait_report()
    d.sign_off(wait_ok=True)
    d.wait_db()
    stored = stored_ledger(d.session_id)
    assert stored["source"]["kind"] == "atm-journal" and stored["source"]["dialect"] == dialect
    assert stored["source"]["gaps"] == []
    assert len(stored["transactions"]) == len(json.loads(stick.docs.atm)["transactions"])
    # no line to the ATM: the signed report ends the clearing (the cash is loaded at the ATM)
    assert d.finish() == "closed"
    store = clearing.open_store()
    try:
        assert store.get_session(d.session_id).state == "closed"
    finally:
        clearing.close_store(store)


def garble(stick) -> list[int]:
    """Lines no dialect describes, put into the journal: their line numbers."""
    path = stick.folder / "journal.txt"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    at = [len(lines) // 3, len(lines) // 2]
    for k in reversed(at):
        lines.insert(k, "@@ SERVICE ENGINEER NOTE 7731 @@\n")
    path.write_text("".join(lines), encoding="utf-8")
    return [k + 1 + i for i, k in enumerate(at)]


def test_gaps_are_listed_and_refused_until_accepted(tmp_path, qtbot, backend_simulator, make_ctx):
    stick = usb_stick(tmp_path, "ncr", transactions=30)
    where = garble(stick)
    backend = backend_simulator(stick.docs.host)
    d = WizardDriver(qtbot, make_ctx(SimpleNamespace(device="", url=backend.url)))
    to_journal_read(d, stick)
    page = d.page(Step.READ_ATM)
    d.read_journal_files(stick.folder, "ncr", wait_ok=False)
    box = page.journal
    assert box.gaps_box.isVisible()
    assert [box.gaps.item(i).text() for i in range(box.gaps.count())] == [f"journal.txt:{n}" for n in where]
    # refused: nothing is read, Next stays closed, reading again without the tick lists them again
    assert d.flow.atm is None and not d.next_enabled() and not box.accept_gaps.isChecked()
    d.click(box.read_button)
    d.wait_journal(wait_ok=False)
    assert d.flow.atm is None and box.gaps.count() == 2 and not d.next_enabled()
    # accepted knowingly: read, and the gaps stay with the ledger for the report
    d.accept_journal_gaps()
    assert d.flow.atm is not None and d.next_enabled()
    assert "2" in page.status.text()
    d.wait_db()
    store = clearing.open_store()
    try:
        (entry,) = [e for e in store.audit_entries(session_id=d.session_id) if e.action == "atm_journal_read"]
    finally:
        clearing.close_store(store)
    assert entry.detail["dialect"] == "ncr" and entry.detail["gaps_accepted"] == 2
    assert entry.detail["journals"] == ["journal.txt"] and entry.detail["fsn_files"] > 0
    gaps = stored_ledger(d.session_id)["source"]["gaps"]
    assert [(g["file"].rsplit("/", 1)[-1], g["line"]) for g in gaps] == [("journal.txt", n) for n in where]
    d.next(Step.COUNT)
    d.count(stick.counts)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    d.next(Step.REPORT)
    d.wait_report()
    # the report lists the lines that were not read, by file and line
    text = "".join(pg.extract_text() for pg in PdfReader(io.BytesIO(d.page(Step.REPORT).pdf_bytes)).pages)
    assert "Journal lines not understood" in text
    for n in where:
        assert re.search(rf"journal\.txt\s*{n}\b", text), n


def test_a_folder_without_journals_says_so(tmp_path, qtbot, make_ctx):
    empty = tmp_path / "stick"
    empty.mkdir()
    (empty / "photo.jpg").write_bytes(b"\xff\xd8")
    d = WizardDriver(qtbot, make_ctx())
    to_journal_read(d, None)
    page = d.page(Step.READ_ATM)
    from custodian_app.gui.wizard import journal_read

    real = journal_read.ask_folder
    journal_read.ask_folder = lambda _p, _t, callback: callback(str(empty))
    try:
        d.click(page.journal.folder_button)
    finally:
        journal_read.ask_folder = real
    qtbot.waitUntil(lambda: "No journal file" in page.status.text(), timeout=5000)
    assert not page.journal.read_button.isEnabled() and not d.next_enabled()


def alt_letters(wizard) -> list[str]:
    """The Alt+letters the current page answers to as shown: its visible buttons (the wizard's
    own included) and the labels with a buddy."""
    import re

    from PySide6.QtWidgets import QAbstractButton, QLabel

    texts = [w.text() for w in wizard.findChildren(QAbstractButton) if w.isVisible()]
    texts += [w.text() for w in wizard.findChildren(QLabel) if w.isVisible() and w.buddy() is not None]
    return [m.group(1).lower() for m in (re.search(r"&([^&])", t) for t in texts) if m]


def fully_shown(widget) -> bool:
    return widget.isVisible() and widget.visibleRegion().boundingRect().size() == widget.size()


@pytest.mark.custodian_language("zh_CN")
def test_the_journal_way_in_chinese_at_1366_by_768(tmp_path, qtbot, backend_simulator, make_ctx):
    from PySide6.QtWidgets import QLineEdit

    stick = usb_stick(tmp_path, "hyosung", transactions=30)
    garble(stick)
    backend = backend_simulator(stick.docs.host)
    d = WizardDriver(qtbot, make_ctx(SimpleNamespace(device="", url=backend.url), language="zh_CN"))
    d.wizard.resize(1366, 768)
    to_journal_read(d, stick)
    page = d.page(Step.READ_ATM)
    assert page.journal.read_button.text() == "读取电子日志(&R)"
    d.read_journal_files(stick.folder, "hyosung", wait_ok=False)
    assert "不匹配" in page.status.text()
    letters = alt_letters(d.wizard)
    assert len(letters) == len(set(letters)), letters
    for w in (
        page.journal.folder_button,
        page.journal.fsn_button,
        page.journal.dialect,
        page.journal.accept_gaps,
        page.journal.gaps,
    ):
        assert fully_shown(w), w.objectName()
    d.accept_journal_gaps()
    assert "已接受 2 行" in page.status.text()
    d.next(Step.COUNT)
    count = d.page(Step.COUNT)
    fields = [*count.edits.values(), *(e for f in count.note_edits.values() for _v, e in f)]
    qtbot.waitUntil(lambda: all(fully_shown(e) for e in fields), timeout=5000)
    assert all(isinstance(e, QLineEdit) and e.accessibleName() for e in fields)
    assert len({e.accessibleName() for e in fields}) == len(fields)
    letters = alt_letters(d.wizard)
    assert len(letters) == len(set(letters)), letters
    d.count_notes({u.id: u.count for u in d.flow.atm.units if u.value is not None})
    assert count.diff_labels["CST1"].text() == "相符"


def test_the_connect_pages_alt_letters_are_unique(qtbot, make_ctx):
    d = WizardDriver(qtbot, make_ctx())
    d.sign_in()
    d.next(Step.CONNECT)
    letters = alt_letters(d.wizard)
    assert len(letters) == len(set(letters)), letters


def test_cancel_stops_a_journal_read_and_the_window_stays_live(tmp_path, qtbot, make_ctx, monkeypatch):
    """The read runs on a worker: while it is held mid-way the window answers clicks, and
    Cancel ends it with nothing recorded."""
    import threading

    import custodian_app.journal as journal

    stick = usb_stick(tmp_path, "ncr", transactions=20)
    held, release = threading.Event(), threading.Event()

    def slow_read(paths, fsn_dir, dialect, *, progress, **kw):
        progress(1024, 4096)
        held.set()
        assert release.wait(30)  # the test lets it go on once Cancel was clicked
        progress(2048, 4096)  # the page's progress callback stops a cancelled read here
        raise AssertionError("a cancelled read went on")

    monkeypatch.setattr(journal, "read_journals", slow_read)
    d = WizardDriver(qtbot, make_ctx())
    to_journal_read(d, stick)
    page = d.page(Step.READ_ATM)
    box = page.journal
    from custodian_app.gui.wizard import journal_read

    monkeypatch.setattr(journal_read, "ask_folder", lambda _p, _t, callback: callback(str(stick.folder)))
    d.click(box.folder_button)
    qtbot.waitUntil(box.read_button.isEnabled, timeout=5000)
    d.click(box.read_button)
    qtbot.waitUntil(lambda: held.is_set() and page.figures.text() != "", timeout=5000)
    assert "1 of 4 KiB" in page.figures.text() and not box.read_button.isEnabled()
    d.click(box.cancel_button)
    release.set()
    qtbot.waitUntil(lambda: page._job is None, timeout=5000)
    assert "cancelled" in page.status.text()
    assert d.flow.atm is None and not d.next_enabled() and box.read_button.isEnabled()


def test_an_atm_already_being_cleared_is_refused_after_its_journal_is_read(tmp_path, qtbot, make_ctx):
    """The journal names the terminal only once read: the store's one-open-clearing rule
    refuses there, and Next stays closed."""
    stick = usb_stick(tmp_path, "grg", transactions=20)
    store = clearing.open_store()
    try:  # another PC holds an open clearing of the same ATM
        users = [
            clearing.authenticate(store, n, p, role="custodian")
            for n, p in (("alice", "alice123"), ("bob", "bob12345"))
        ]
        store.open_session(json.loads(stick.docs.atm)["terminal_id"], *users, host="PC-7")
    finally:
        store.close()
    d = WizardDriver(qtbot, make_ctx())
    to_journal_read(d, stick)
    page = d.page(Step.READ_ATM)
    d.read_journal_files(stick.folder, "grg", wait_ok=False)
    qtbot.waitUntil(lambda: "PC-7" in page.status.text(), timeout=10_000)
    assert "already being cleared" in page.status.text()
    assert not d.next_enabled() and d.wizard.session_id is None
