"""The replenishment exchange against ``custodian-app simulate-atm`` running as a process of its
own (as in the field and in benchmarks/bench_gui.py), with the calls the wizard's new-cycle page
makes (``AppContext.op_exchange``: StartExchange, then EndExchange with every unit)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from custodian_app.domain.formats import atm_ledger_to_dict, dumps
from custodian_app.link.client import AtmClient
from custodian_app.link.errors import AtmRefused
from custodian_app.support.files import read_atm_ledger
from tests.cli import ROOT, run_custodian_app

from .conftest import FAST, make_ledger, wait_for

OPTIONS = {"connect_timeout": 3.0, "response_timeout": 2.0, "reconnect_timeout": 5.0, "command_timeout": 15.0}


@pytest.fixture
def atm_process(tmp_path):
    """``simulate-atm`` on a pty it makes, serving a small cycle; (link path, ledger)."""
    ledger = make_ledger(transactions=30)
    served = tmp_path / "served.json"
    served.write_bytes(dumps(atm_ledger_to_dict(ledger)))
    link = tmp_path / "atm-port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodian_app",
            "simulate-atm",
            "--ledger",
            str(served),
            "--link",
            str(link),
            "--baud",
            str(FAST),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: link.is_symlink() or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        yield str(link), ledger
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err


def exchange(link: str, loaded: dict[str, int]) -> str:
    """What the new-cycle page runs on the serial thread, on a link of its own."""
    with AtmClient(link, baud=FAST, **OPTIONS) as atm:
        atm.connect()
        atm.start_exchange()
        return atm.end_exchange(loaded)


def test_read_then_exchange_opens_the_next_cycle(atm_process, tmp_path):
    link, ledger = atm_process
    out = tmp_path / "read.json"
    r = run_custodian_app("read-atm", "--port", link, "--baud", str(FAST), "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert read_atm_ledger(out) == ledger

    new_cycle = exchange(link, {u.id: 500 for u in ledger.units})
    assert new_cycle != ledger.cycle_id

    with AtmClient(link, baud=FAST, **OPTIONS) as atm:
        status = atm.connect()
        assert (status.cycle_id, status.cycle_state, status.transaction_count) == (new_cycle, "open", 0)
        assert {u.id: u.initial for u in atm.read_units()} == {u.id: 500 for u in ledger.units}


def test_an_exchange_left_open_by_a_refused_attempt_is_finished_by_the_next(atm_process):
    link, ledger = atm_process
    with pytest.raises(AtmRefused, match="invalidData"):  # a unit left out: nothing changes
        exchange(link, {ledger.units[0].id: 500})
    # The ATM is still in the exchange the first attempt started; pressing the button again
    # used to be refused with sequenceError for good.
    new_cycle = exchange(link, {u.id: 500 for u in ledger.units})
    with AtmClient(link, baud=FAST, **OPTIONS) as atm:
        status = atm.connect()
        assert (status.cycle_id, status.cycle_state) == (new_cycle, "open") and new_cycle != ledger.cycle_id
