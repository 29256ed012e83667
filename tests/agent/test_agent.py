"""The ATM-side agent over a real pseudo-terminal, with its counters from the XFS4IoT simulator
on loopback and its ledger from a journal and FSN files: what the branch PC reads, the
exchange reaching XFS4IoT, and each source lost or failing."""

from __future__ import annotations

import shutil

from custodian_app.link.errors import AtmRefused, AtmSourceLost
from custodian_app.xfs4iot.client import XfsStorageClient
from tests.link.conftest import wait_for

from .conftest import xfs_units


def _units_from_xfs(url: str) -> list[dict]:
    with XfsStorageClient(url, timeout=5.0) as xfs:
        return xfs.read_units()


def _doc_units(units) -> list[dict]:
    from custodian_app.domain.formats import atm_ledger_to_dict

    return [
        {k: u[k] for k in ("id", "initial", "out", "in")}
        for u in atm_ledger_to_dict(_header_only(units))["units"]
    ]


def _header_only(units):
    from custodian_app.domain.formats import AtmLedger, Totals, TypeTotals

    return AtmLedger(
        "T",
        "C",
        "CNY",
        "2026-11-20T08:00:00+08:00",
        None,
        Totals(0, TypeTotals(0, 0), TypeTotals(0, 0)),
        list(units),
        [],
    )


def test_branch_pc_reads_the_journal_ledger_with_the_xfs4iot_units_then_exchanges(world):
    xfs = world.start_xfs()
    _, source, device = world.agent()
    want = world.expected()
    atm = world.client(device)
    status = atm.connect()
    assert (status.terminal_id, status.cycle_id) == (want.terminal_id, want.cycle_id)
    assert status.transaction_count == len(want.transactions)
    assert {n: s.state for n, s in status.sources.items()} == {"xfs4iot": "ok", "journal": "ok", "fsn": "ok"}
    assert status.troubled_sources == []
    got = atm.read_ledger()
    # the ledger the journal describes ...
    assert (got.cycle_id, got.opened_at, got.closed_at, got.totals) == (
        want.cycle_id,
        want.opened_at,
        want.closed_at,
        want.totals,
    )
    assert got.transactions == want.transactions
    assert got.notes == want.notes and len(got.notes) > 100
    assert got.retained_cards == want.retained_cards and got.retained_cards  # rules revision 2
    # ... with the units XFS4IoT reports, not the journal's last counter print
    reported = xfs_units(world.doc)
    assert _doc_units(got.units) == [{k: u[k] for k in ("id", "initial", "out", "in")} for u in reported]
    assert got.units != want.units

    # the replenishment exchange reaches the XFS4IoT service
    new = {u.id: (2500 if u.type in ("cashOut", "recycling") else 0) for u in got.units}
    atm.start_exchange()
    new_cycle = atm.end_exchange(new)
    assert new_cycle != want.cycle_id
    after = _units_from_xfs(xfs.publisher_url)
    assert {u["id"]: u["initial"] for u in after} == new
    assert all(not any(u["out"].values()) and not any(u["in"].values()) for u in after)
    # the agent now serves the new cycle: empty, its units the loaded ones
    assert atm.status.cycle_id == new_cycle and atm.status.cycle_state == "open"
    fresh = atm.read_ledger()
    assert fresh.transactions == [] and {u.id: u.initial for u in fresh.units} == new
    assert fresh.totals.loaded_amount == sum(
        n * u.value for u in fresh.units if (n := new[u.id]) and u.value is not None
    )


def test_read_atm_command_against_the_atm_agent_command(world, tmp_path):
    import subprocess
    import sys

    from custodian_app.support.files import read_atm_ledger
    from tests.cli import ROOT, run_custodian_app

    xfs = world.start_xfs()
    link = str(tmp_path / "atm-port")
    agent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodian_app",
            "atm-agent",
            "--link",
            link,
            "--baud",
            "4000000",
            "--xfs4iot",
            xfs.publisher_url,
            "--journal",
            str(world.journal_dir),
            "--dialect",
            "ncr",
            "--fsn",
            str(world.fsn_dir),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        import os

        assert wait_for(lambda: os.path.islink(link), 30), "the agent made no port"
        out = tmp_path / "atm.json"
        r = run_custodian_app("read-atm", "--port", link, "--baud", "4000000", "--out", str(out), timeout=60)
        assert r.returncode == 0, r.stderr
        got = read_atm_ledger(out)
        want = world.expected()
        assert got.transactions == want.transactions and got.notes == want.notes
        assert [u.initial for u in got.units] == [u["initial"] for u in xfs_units(world.doc)]
    finally:
        agent.terminate()
        _, err = agent.communicate(timeout=20)
    assert agent.returncode == 0, err
    assert "sources: xfs4iot ok, journal ok, fsn ok" in err


def _states(atm) -> dict:
    return {n: s.state for n, s in atm.read_status().sources.items()}


def test_journal_lost_is_named_and_the_units_are_still_served(world, tmp_path):
    world.start_xfs()
    _, _, device = world.agent()
    atm = world.client(device)
    atm.connect()
    moved = tmp_path / "ej-away"
    world.journal_dir.rename(moved)
    assert wait_for(lambda: _states(atm)["journal"] == "lost")
    health = atm.status.sources["journal"]
    assert str(world.journal_dir) in health.english and "电子日志" in health.chinese
    assert [s.name for s in atm.status.troubled_sources] == ["journal"]
    # Storage.GetStorage is still answered (the client's read_units also wants the totals)
    storage = atm._call("Storage.GetStorage")["storage"]
    assert [u["status"]["initial"] for u in storage] == [u["initial"] for u in xfs_units(world.doc)]
    try:
        atm.read_ledger()
    except AtmSourceLost as exc:
        assert exc.source == "journal" and exc.state == "lost"
        assert "journal" in str(exc)
    else:
        raise AssertionError("the ledger was served without its journal")
    moved.rename(world.journal_dir)
    assert wait_for(lambda: _states(atm)["journal"] == "ok")
    assert len(atm.read_ledger().transactions) == len(world.expected().transactions)


def test_fsn_lost_serves_the_ledger_without_banknotes_and_says_so(world):
    world.start_xfs()
    _, _, device = world.agent()
    atm = world.client(device)
    atm.connect()
    shutil.rmtree(world.fsn_dir)
    assert wait_for(lambda: _states(atm)["fsn"] == "lost")
    assert _states(atm)["journal"] == "ok"
    got = atm.read_ledger()
    assert got.notes is None
    assert got.transactions == world.expected(fsn=False).transactions


def test_xfs4iot_dropped_socket_is_named_and_the_ledger_read_says_why(world):
    xfs = world.start_xfs()
    _, _, device = world.agent()
    atm = world.client(device)
    atm.connect()
    xfs.simulator.set_fault("Storage.GetStorage", "drop")
    assert wait_for(lambda: _states(atm)["xfs4iot"] == "lost")
    assert _states(atm)["journal"] == "ok"
    try:
        atm.read_ledger()
    except AtmSourceLost as exc:
        assert exc.command == "Storage.GetStorage" and exc.source == "xfs4iot" and exc.state == "lost"
        assert "XFS4IoT" in exc.english and "XFS4IoT" in exc.chinese
    else:
        raise AssertionError("a ledger was read without the units")
    xfs.simulator.set_fault("Storage.GetStorage", None)
    assert wait_for(lambda: _states(atm)["xfs4iot"] == "ok")  # reconnected on its own
    assert len(atm.read_ledger().units) == len(world.doc["units"])


def test_xfs4iot_hardware_error_and_no_answer(world):
    xfs = world.start_xfs()
    _, _, device = world.agent(xfs_timeout=0.5)
    atm = world.client(device)
    atm.connect()
    xfs.simulator.set_fault("Storage.GetStorage", "hardware-error")
    assert wait_for(lambda: _states(atm)["xfs4iot"] == "error")
    health = atm.status.sources["xfs4iot"]
    assert health.english.startswith("XFS4IoT: ") and health.chinese.startswith("XFS4IoT：")
    assert len(health.english) > 40 and len(health.chinese) > 15  # words, not a bare code
    try:
        atm.read_units()
    except AtmSourceLost as exc:
        assert (exc.source, exc.state) == ("xfs4iot", "error")
    else:
        raise AssertionError("units served despite the hardware error")
    xfs.simulator.set_fault("Storage.GetStorage", "no-answer")
    assert wait_for(lambda: _states(atm)["xfs4iot"] == "lost")
    try:
        atm.read_units()
    except AtmSourceLost as exc:
        assert (exc.source, exc.state) == ("xfs4iot", "lost") and "XFS4IoT" in str(exc)
    else:
        raise AssertionError("units served although XFS4IoT does not answer")
    # the line stayed up while XFS4IoT kept the agent waiting: the journal is still served
    assert atm.read_status().transaction_count == len(world.expected().transactions)


def test_the_status_change_reaches_the_branch_pc_as_an_event(world, tmp_path):
    world.start_xfs()
    _, _, device = world.agent()
    atm = world.client(device)
    atm.connect()
    world.journal_dir.rename(tmp_path / "gone")
    seen = []
    assert wait_for(
        lambda: (
            seen.extend(atm.poll_events(0.1))
            or any(
                "sources" in e.payload and e.payload["sources"]["journal"]["state"] == "lost" for e in seen
            )
        )
    )
    assert atm.status.sources["journal"].state == "lost"  # the client kept its status current


def test_exchange_fails_at_xfs4iot_and_the_cycle_stays(world):
    xfs = world.start_xfs()
    _, _, device = world.agent()
    atm = world.client(device)
    status = atm.connect()
    units = atm.read_units()
    xfs.simulator.set_fault("Storage.SetStorage", "hardware-error")
    atm.start_exchange()
    try:
        atm.end_exchange({u.id: (100 if u.value else 0) for u in units})
    except AtmSourceLost as exc:
        assert (exc.command, exc.source, exc.state) == ("Storage.EndExchange", "xfs4iot", "error")
    else:
        raise AssertionError("the exchange was reported done")
    assert atm.read_status().cycle_id == status.cycle_id
    assert atm.status.cycle_state == "exchange"
    # nothing was loaded: the service's counts are the old ones
    assert [u["initial"] for u in _units_from_xfs(xfs.publisher_url)] == [
        u["initial"] for u in xfs_units(world.doc)
    ]
    xfs.simulator.set_fault("Storage.SetStorage", None)
    new = atm.end_exchange({u.id: (100 if u.value else 0) for u in units})
    assert new != status.cycle_id


def test_exchange_with_a_unit_missing_is_refused_before_xfs4iot(world):
    xfs = world.start_xfs()
    _, _, device = world.agent()
    atm = world.client(device)
    atm.connect()
    units = atm.read_units()
    atm.start_exchange()
    try:
        atm.end_exchange({u.id: 100 for u in units[1:]})
    except AtmRefused as exc:
        assert exc.completion_code == "invalidData" and units[0].id in exc.description
    else:
        raise AssertionError("an exchange without every unit was accepted")
    assert not any(m.name == "Storage.StartExchange" for m in xfs.simulator.received)


def test_agent_without_xfs4iot_serves_the_journal_counters_and_refuses_the_exchange(world):
    _, _, device = world.agent(xfs4iot_url=None)
    atm = world.client(device)
    status = atm.connect()
    assert status.sources["xfs4iot"].state == "off" and status.troubled_sources == []
    assert atm.read_ledger().units == world.expected().units
    atm.start_exchange()
    try:
        atm.end_exchange({u.id: 1 for u in world.expected().units})
    except AtmSourceLost as exc:
        assert (exc.source, exc.state) == ("xfs4iot", "off") and "--xfs4iot" in exc.english
    else:
        raise AssertionError("an exchange without XFS4IoT was reported done")


def test_polled_port_as_on_windows_over_a_socat_pair(world, tmp_path):
    """A Windows COM port cannot be select()ed: the agent then polls its pyserial port. The
    same code on a socat pty pair here."""
    import subprocess

    import pytest

    from custodian_app.agent.real import AtmPcSource
    from custodian_app.link.simulator import AtmSimulator

    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed; the polled-port test needs it (apt-get install socat)")
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    proc = subprocess.Popen(
        [socat, "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: a.exists() and b.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        world.start_xfs()
        source = AtmPcSource(
            xfs4iot_url=world.xfs.publisher_url,
            journal_dir=str(world.journal_dir),
            dialect="ncr",
            fsn_dir=str(world.fsn_dir),
            check_interval=0.2,
        )
        agent = AtmSimulator(source, baud=115200 * 8, polled=True)
        world.agents.append(agent)
        agent.serve_device(str(a))
        atm = world.client(str(b), baud=115200 * 8)
        got = atm.read_ledger()
        want = world.expected()
        assert got.transactions == want.transactions and got.notes == want.notes
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_read_atm_says_which_source_the_agent_lost(world, tmp_path):
    from custodian_app.support.files import read_atm_ledger
    from tests.cli import run_custodian_app

    world.start_xfs()
    _, _, device = world.agent()
    shutil.rmtree(world.fsn_dir)
    out = tmp_path / "atm.json"
    r = run_custodian_app("read-atm", "--port", device, "--baud", "4000000", "--out", str(out), timeout=60)
    assert r.returncode == 0, r.stderr
    assert f"the ATM agent reports: The FSN folder {world.fsn_dir} cannot be read" in r.stderr
    assert read_atm_ledger(out).notes is None  # the ledger, without the banknote serials
