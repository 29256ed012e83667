"""The settings dialog, switching the language, keyboard use, printing and saving a report."""

from __future__ import annotations

from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import QApplication

from custodian_app.domain.flow import Step
from custodian_app.gui import dialogs, i18n, printing
from custodian_app.gui.main_window import MainWindow
from custodian_app.gui.qa.driver import SLOW, WizardDriver
from custodian_app.gui.settings_dialog import SettingsDialog
from custodian_app.settings.config import load_settings


def test_settings_are_saved_to_the_file_and_used_at_once(qtbot, make_ctx):
    ctx = make_ctx()
    ctx._save = True
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    dlg = SettingsDialog(ctx, window)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.edits["bank_name"].setText("中国演示银行")
    dlg.edits["backend_url"].setText("https://backend.example:8443")
    dlg.edits["backend_token"].setText("s3cret-token")
    assert dlg.edits["backend_token"].echoMode() == dlg.edits["backend_token"].EchoMode.Password
    with qtbot.waitSignal(dlg.accepted, timeout=SLOW):
        dlg.save()
    assert ctx.settings.bank_name == "中国演示银行"
    stored = load_settings()
    assert stored.bank_name == "中国演示银行" and stored.backend_url == "https://backend.example:8443"
    assert stored.backend_token == "s3cret-token"


def test_switching_the_language_rebuilds_the_window(qtbot, make_ctx):
    ctx = make_ctx()
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    assert window.new_button.text() == "&New clearing"
    try:
        window.set_language("zh_CN")
        assert window.new_button.text() == "新建清机(&N)" and ctx.settings.language == "zh_CN"
        assert window.tabs.tabText(2) == "冠字号查询(&B)"
        qtbot.waitUntil(window.tabs.isVisible, timeout=5000)  # the new widgets show queued
    finally:
        i18n.install("en")
        window.set_language("en")
    assert window.new_button.text() == "&New clearing"


def test_the_sign_in_page_works_from_the_keyboard(qtbot, make_ctx):
    d = WizardDriver(qtbot, make_ctx())
    page = d.page(Step.SIGN_IN)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.user[0], timeout=5000)
    order = [page.user[0]]
    for _ in range(4):
        order.append(order[-1].nextInFocusChain())
        while not order[-1].isVisible() or not order[-1].focusPolicy() & Qt.FocusPolicy.TabFocus:
            order[-1] = order[-1].nextInFocusChain()
    assert order == [page.user[0], page.password[0], page.user[1], page.password[1], page.sign_in_button]
    qtbot.keyClicks(page.user[0], "alice")
    qtbot.keyClicks(page.password[0], "alice123")
    qtbot.keyClicks(page.user[1], "bob")
    qtbot.keyClicks(page.password[1], "bob12345")
    qtbot.keyClick(page.password[1], Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: d.flow.authenticated, timeout=SLOW)
    assert d.next_enabled()


def test_a_report_prints_every_page_and_saves(qtbot, world_factory, make_ctx, monkeypatch, tmp_path):
    world = world_factory(faults="realistic")
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.page(Step.COUNT).skip.setChecked(True)
    d.page(Step.COUNT).reason.setText("test: no count")
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    d.next(Step.REPORT)
    d.wait_report()
    page = d.page(Step.REPORT)

    # the print dialog is the system's; here a printer that writes a PDF stands behind it
    out = tmp_path / "printed.pdf"

    def fake_ask_print(parent, document: QPdfDocument, callback):
        printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(out))
        callback(printing.print_pdf(document, printer))

    monkeypatch.setattr(printing, "ask_print", fake_ask_print)
    qtbot.mouseClick(page.print_button, Qt.MouseButton.LeftButton)
    pages = page.document.pageCount()
    assert f"Sent {pages} pages" in page.status.text()
    assert len(PdfReader(out).pages) == pages

    saved = tmp_path / "saved.pdf"
    monkeypatch.setattr(dialogs, "choose_save_file", lambda parent, t, f, s, cb: cb(str(saved)))
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Saved to" in page.status.text(), timeout=SLOW)
    assert saved.read_bytes() == page.pdf_bytes


def test_counted_cash_is_read_as_decimal_yuan():
    from custodian_app.gui.wizard.count_page import parse_user_amount

    assert parse_user_amount("1,500.5") == 150050
    assert parse_user_amount(" ¥200 ") == 20000
    assert parse_user_amount("0") == 0
    for bad in ("", "1e3", "-5", "1.234", "abc", "NaN", "1.5.0"):
        assert parse_user_amount(bad) is None, bad


def test_the_demo_banner_names_the_demo_users(qtbot, make_ctx):
    from custodian_app.demo import DEMO_USERS, demo_banner

    ctx = make_ctx()
    ctx.banner = demo_banner()
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    banner = window.findChild(type(window.history_status), "demoBanner")
    for user, password, _role in DEMO_USERS:
        assert f"{user} / {password}" in banner.text() and user in window.windowTitle()


def test_counting_works_from_the_keyboard(qtbot, world_factory, make_ctx):
    world = world_factory(faults="none")
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    page = d.page(Step.COUNT)
    focus = QApplication.focusWidget
    first = next(iter(page.note_edits.values()))[0][1]
    qtbot.waitUntil(lambda: focus() is first, timeout=5000)  # a cassette's notes, then its amount
    for uid, amount in world.scenario.counts.units.items():
        for _ in range(7):  # Tab passes a cassette's notes field, the bin before's denominations
            if focus() is page.edits[uid]:
                break
            assert focus().objectName().startswith("notes_"), focus().objectName()
            qtbot.keyClick(focus(), Qt.Key.Key_Tab)
        assert page.edits[uid].hasFocus(), f"focus is not on {uid}"
        qtbot.keyClicks(page.edits[uid], f"{amount // 100}.{amount % 100:02d}")
        qtbot.keyClick(page.edits[uid], Qt.Key.Key_Tab)
    while focus().objectName().startswith("notes_"):  # the last bin's denominations
        qtbot.keyClick(focus(), Qt.Key.Key_Tab)
    assert page.skip.hasFocus()  # after the last unit: the skip box, then its reason
    assert d.flow.counts == dict(world.scenario.counts.units) and d.next_enabled()


def test_the_terminal_table_columns_fit_their_contents_and_the_last_stretches(qtbot, make_ctx):
    from PySide6.QtWidgets import QHeaderView

    window = MainWindow(make_ctx())
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.terminals_model.set_rows(
        [
            {
                "terminal_id": "NJ-0001",
                "cycle_id": "NJ-0001-20261120-0001",
                "state": "new_cycle_started",
                "updated_at": "2026-11-20 18:42",
                "custodians": "alice & bob",
                "balanced": "✔",
            }
        ]
    )
    view = window.terminals
    header = view.horizontalHeader()
    metrics = header.fontMetrics()
    for col in range(header.count() - 1):
        title = window.terminals_model.headerData(col, Qt.Orientation.Horizontal)
        width = header.sectionSize(col)
        assert width >= view.sizeHintForColumn(col) and width > metrics.horizontalAdvance(title), title
        assert header.sectionResizeMode(col) is QHeaderView.ResizeMode.Interactive
    assert header.stretchLastSection()
    last = header.count() - 1
    assert header.sectionPosition(last) + header.sectionSize(last) >= view.viewport().width() - 1
