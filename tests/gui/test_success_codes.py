"""One set of success codes everywhere (issue 14): a bank whose switch answers an approval with
``10`` as well as ``00`` configures ``reconciliation.success_codes = ["00", "10"]``, and the wizard,
``custodian-app clear`` and ``custodian-app reconcile`` then give the same answer for a cycle
whose approvals are coded ``10``. Before, the wizard reconciled with ``00`` only."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from custodian_app.domain import formats
from custodian_app.domain.flow import Step
from custodian_app.domain.generator import Scenario, build_documents
from custodian_app.domain.reconcile import reconcile
from custodian_app.gui.qa.driver import SLOW, WizardDriver
from custodian_app.gui.qa.users import demo_users, seed
from custodian_app.settings.config import load_settings, save_settings
from custodian_app.support.catalogue import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
CODES = ("00", "10")
FAULTS = "RETRACTED=1,DISPENSED_NOT_DEBITED=1,HOST_ONLY=1,PARTIAL_DISPENSE=1"


def coded_10_cycle() -> Scenario:
    """A generated cycle whose approved transactions the ATM recorded with code 10."""
    docs = build_documents(23, 40, FAULTS)
    atm = orjson.loads(docs.atm)
    recoded = 0
    for tx in atm["transactions"]:
        if tx["host_code"] == "00":
            tx["host_code"] = "10"
            recoded += 1
    assert recoded > 30
    atm_bytes = formats.dumps(atm)
    docs = dataclasses.replace(docs, atm=atm_bytes)
    return Scenario(
        formats.parse_atm_ledger(atm_bytes, "atm.json"),
        formats.parse_host_ledger(docs.host, "host.json"),
        formats.parse_counts(docs.counts, "counts.json"),
        docs.expected,
        docs,
    )


def outcome(result: formats.ClearingResult):
    """What must be the same whoever reconciled: the verdict, the totals, every entry's
    category and cash effect."""
    return (
        result.balanced,
        [(t.item, t.atm, t.host) for t in result.totals],
        result.cash_position.difference,
        result.cash_position.counted,
        sorted(
            (m.category, m.tsn or "", m.type or "", m.cash_effect, m.reject_code or "")
            for m in result.mismatches
        ),
    )


def run(*args, stdin=""):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run(
        [sys.executable, "-m", "custodian_app", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )


def click_next(d: WizardDriver, expect: Step) -> None:
    button = d.wizard.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), f"Next is disabled on {d.current().name}"
    d.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    d.qtbot.waitUntil(lambda: d.current() is expect, timeout=5000)


@pytest.fixture
def bank_with_code_10():
    save_settings(
        dataclasses.replace(
            load_settings(), bank_name="演示银行", branch_name="南京分行", success_codes=CODES
        )
    )


def test_the_wizard_clear_and_reconcile_agree_on_a_non_00_success_code(
    qtbot, world_factory, make_ctx, bank_with_code_10, tmp_path
):
    scenario = coded_10_cycle()
    world = world_factory(scenario=scenario)
    counts = tmp_path / "counts.json"
    counts.write_bytes(scenario.documents.counts)

    # reconcile: the files, with the configured set
    (tmp_path / "atm.json").write_bytes(scenario.documents.atm)
    (tmp_path / "host.json").write_bytes(scenario.documents.host)
    done = run(
        "reconcile",
        "--atm",
        str(tmp_path / "atm.json"),
        "--host",
        str(tmp_path / "host.json"),
        "--counts",
        str(counts),
        "--out",
        str(tmp_path / "reconciled.json"),
        "--quiet",
    )
    assert done.returncode in (0, 1), done.stderr
    by_files = formats.parse_result((tmp_path / "reconciled.json").read_bytes())

    # clear: the ATM simulator on a pty, the backend simulator on loopback; its own database,
    # since the session it leaves open would (rightly) keep the wizard from clearing the ATM
    db = f"sqlite:///{tmp_path / 'clear.db'}"
    seed(demo_users(), db)
    done = run(
        "clear",
        "--port",
        world.device,
        "--url",
        world.url,
        "--counts",
        str(counts),
        "--out",
        str(tmp_path / "cleared.json"),
        "--pdf",
        str(tmp_path / "cleared.pdf"),
        "--custodians",
        "alice,bob",
        "--password-stdin",
        "--db",
        db,
        stdin="alice123\nbob12345\n",
    )
    assert done.returncode in (0, 1), done.stderr
    by_clear = formats.parse_result((tmp_path / "cleared.json").read_bytes())

    # the wizard, its buttons clicked, with the same settings
    ctx = make_ctx(world, success_codes=CODES)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    click_next(d, Step.CONNECT)
    d.connect(world.device)
    click_next(d, Step.READ_ATM)
    d.wait_read()
    click_next(d, Step.COUNT)
    d.count(scenario.counts.units)
    click_next(d, Step.BACKEND)
    d.wait_backend()
    click_next(d, Step.RECONCILE)
    d.wait_result()
    by_wizard = d.flow.result
    qtbot.waitUntil(
        lambda: d.page(Step.RECONCILE).model.rowCount() == len(by_wizard.mismatches), timeout=SLOW
    )

    assert outcome(by_wizard) == outcome(by_clear) == outcome(by_files)
    # ... and that answer is the one the faults make: the same cycle coded 00, reconciled with
    # the default set, reads exactly so
    assert sorted(m.category for m in by_files.mismatches) == sorted(scenario.expected.elements())
    plain = build_documents(23, 40, FAULTS)
    assert outcome(
        reconcile(
            formats.parse_atm_ledger(plain.atm),
            formats.parse_host_ledger(plain.host),
            formats.parse_counts(plain.counts),
            catalogue=load_catalogue(),
        )
    ) == outcome(by_files)

    # with 00 alone the same cycle reads differently: the comparison above can fail
    done = run(
        "reconcile",
        "--atm",
        str(tmp_path / "atm.json"),
        "--host",
        str(tmp_path / "host.json"),
        "--counts",
        str(counts),
        "--out",
        str(tmp_path / "only00.json"),
        "--quiet",
        "--success-codes",
        "00",
    )
    assert done.returncode == 1, done.stderr
    only00 = json.loads((tmp_path / "only00.json").read_text(encoding="utf-8"))
    assert any(m["category"] == "CODE_DISAGREES" for m in only00["mismatches"])
    assert outcome(formats.parse_result((tmp_path / "only00.json").read_bytes())) != outcome(by_files)
