"""Clear a given cycle through the wizard and check what it found (docs/qa.md)."""

import json
from collections import Counter
from types import SimpleNamespace

import pytest

from custodian_app import clearing
from custodian_app.domain.flow import Step
from custodian_app.domain.generator import build_documents


@pytest.fixture
def given_cycle(tmp_path):
    """The cycle under test as files. QA: point these at your own atm.json, host.json and
    counts.json, and write down the mismatches you expect."""
    docs = build_documents(20261205, 300, "realistic")
    for name, data in (("atm.json", docs.atm), ("host.json", docs.host), ("counts.json", docs.counts)):
        (tmp_path / name).write_bytes(data)
    return SimpleNamespace(
        atm=tmp_path / "atm.json",
        host=tmp_path / "host.json",
        counts=json.loads(docs.counts)["units"],
        expected=Counter(docs.expected),
    )


def test_clear_the_given_cycle(given_cycle, atm_simulator, backend_simulator, make_ctx, wizard_driver):
    atm = atm_simulator(given_cycle.atm)  # ready when it returns: atm.device is its port
    backend = backend_simulator(given_cycle.host)  # listening at backend.url
    ctx = make_ctx(SimpleNamespace(device=atm.device, url=backend.url))
    d = wizard_driver(ctx)

    d.sign_in()  # the two custodians type their names and passwords, click Sign in
    d.next(Step.CONNECT)
    d.connect(atm.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(given_cycle.counts)
    d.next(Step.BACKEND)
    d.wait_backend()  # fetched from the settings' backend URL
    d.next(Step.RECONCILE)
    d.wait_result()
    assert Counter(d.mismatch_categories()) == given_cycle.expected
    d.next(Step.REPORT)
    d.wait_report()
    assert d.sign_off_enabled()  # once the draft is shown
    d.sign_off(wait_ok=True)  # the supervisor signs; the signed report is shown
    d.next(Step.NEW_CYCLE)
    new_cycle = d.exchange()
    assert d.finish() == "closed"

    store = clearing.open_store()
    try:
        session = store.get_session(d.session_id)
    finally:
        clearing.close_store(store)
    assert session.state == "closed" and session.supervisor == "carol"
    assert new_cycle != session.cycle_id
