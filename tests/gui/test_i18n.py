"""Chinese (Simplified) and English: the catalogue is complete and current, Qt's own dialogs
are translated too, and the wizard can be driven in Chinese."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QWizard

from custodian_app.domain.flow import Step
from custodian_app.gui import i18n
from custodian_app.gui.qa.driver import WizardDriver

ROOT = Path(__file__).resolve().parents[2]
TS = ROOT / "resources" / "translations" / "custodian_zh_CN.ts"


@pytest.fixture
def chinese(qapp):
    assert i18n.install("zh_CN")
    yield
    i18n.install("en")


def messages():
    return list(ET.parse(TS).getroot().iter("message"))


def test_every_message_is_translated_with_its_placeholders():
    msgs = messages()
    assert len(msgs) > 200
    for m in msgs:
        src, dst = m.find("source").text, m.find("translation")
        assert dst.get("type") is None and dst.text, f"untranslated: {src!r}"
        assert sorted(re.findall(r"%\d", src)) == sorted(re.findall(r"%\d", dst.text)), src
        assert ("&" in src.replace("&&", "")) == ("&" in dst.text.replace("&&", "")), f"accelerator: {src!r}"


def test_the_catalogue_holds_every_string_of_the_source(tmp_path):
    """pyside6-lupdate over the GUI package finds nothing the .ts lacks."""
    fresh = tmp_path / "fresh.ts"
    files = sorted(str(p) for p in (ROOT / "custodian_app" / "gui").rglob("*.py"))
    lupdate = Path(__import__("sys").executable).with_name("pyside6-lupdate")
    subprocess.run(
        [str(lupdate), *files, "-ts", str(fresh), "-no-obsolete", "-locations", "none"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    current = {m.find("source").text for m in messages()}
    found = {m.find("source").text for m in ET.parse(fresh).getroot().iter("message")}
    assert found - current == set(), "run pyside6-lupdate and translate the new strings"


def test_chinese_is_installed_for_ours_and_for_qt(chinese):
    assert QCoreApplication.translate("", "Reconcile") == "对账"
    # Qt's own strings come from qtbase_zh_CN.qm
    assert QCoreApplication.translate("QWizard", "&Next >") != "&Next >"


def test_the_wizard_in_chinese(qtbot, chinese, world_factory, make_ctx):
    world = world_factory(faults="realistic")
    ctx = make_ctx(world, language="zh_CN")
    d = WizardDriver(qtbot, ctx)
    assert d.wizard.button(QWizard.WizardButton.CancelButton).text() != "Cancel"
    d.sign_in()
    assert "已登录" in d.page(Step.SIGN_IN).status.text()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    rec = d.page(Step.RECONCILE)
    assert "笔不符" in rec.status.text()
    assert rec.model.headerData(0, __import__("PySide6.QtCore").QtCore.Qt.Orientation.Horizontal) == "类别"
    rec.table.selectRow(0)
    d.next(Step.REPORT)
    d.wait_report()
    d.wait_pdf_painted()
