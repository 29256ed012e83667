"""The command line: read-atm (exit codes, nothing written on failure), ports, simulate-atm
as a real subprocess with --link, and a socat-made pty pair when socat is installed."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from custodian_app.domain.formats import atm_ledger_to_dict, dumps
from custodian_app.link.simulator import Faults
from custodian_app.support.files import read_atm_ledger
from tests.cli import ROOT, run_custodian_app

from .conftest import FAST, make_ledger, wait_for


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return run_custodian_app(*args, timeout=timeout)


def test_read_atm_writes_the_ledger(tmp_path, simulators) -> None:
    ledger = make_ledger(transactions=30)
    sim = simulators(ledger, faults=Faults(corrupt=0.0005, seed=1))
    out = tmp_path / "atm.json"
    r = run_cli(
        "read-atm",
        "--port",
        sim.start_on_pty(),
        "--baud",
        str(FAST),
        "--out",
        str(out),
        "--max-frame",
        "1024",
    )
    assert r.returncode == 0, r.stderr
    assert read_atm_ledger(out) == ledger
    assert "records" in r.stderr and "wrote" in r.stderr  # progress on standard error
    assert r.stdout == ""


def test_read_atm_link_failure_exits_3_and_writes_nothing(tmp_path, simulators) -> None:
    out = tmp_path / "atm.json"
    r = run_cli("read-atm", "--port", str(tmp_path / "no-such-port"), "--out", str(out), "--timeout", "1")
    assert r.returncode == 3
    assert "does not exist" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_read_atm_cable_never_back_exits_3_and_writes_nothing(tmp_path, simulators) -> None:
    ledger = make_ledger(transactions=80, notes_per=8)
    sim = simulators(ledger, faults=Faults(disconnect_after=4000, down_seconds=120), page_size=40)
    link = tmp_path / "atm"
    sim.start_on_pty(link=str(link))
    out = tmp_path / "out" / "atm.json"
    out.parent.mkdir()
    r = run_cli("read-atm", "--port", str(link), "--baud", str(FAST), "--out", str(out), "--timeout", "1")
    assert r.returncode == 3, r.stderr
    assert "reading the ATM failed" in r.stderr
    assert list(out.parent.iterdir()) == []


def test_read_atm_usage_errors_exit_2(tmp_path) -> None:
    assert run_cli("read-atm", "--out", str(tmp_path / "x.json")).returncode == 2  # no --port
    assert run_cli("read-atm", "--port", "/dev/null", "--baud", "fast", "--out", "x").returncode == 2
    assert run_cli("read-atm", "--port", "/dev/null", "--max-frame", "64", "--out", "x").returncode == 2
    r = run_cli("read-atm", "--port", "/dev/null", "--out", str(tmp_path / "missing" / "x.json"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_ports_lists_devices() -> None:
    r = run_cli("ports")
    assert r.returncode == 0
    for line in r.stdout.splitlines():
        device, description = line.split("\t")
        assert device.startswith("/dev/") and description


def test_simulate_atm_subprocess_with_link(tmp_path) -> None:
    ledger = make_ledger(transactions=50)
    src = tmp_path / "served.json"
    src.write_bytes(dumps(atm_ledger_to_dict(ledger)))
    link = tmp_path / "atm-port"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "custodian_app",
            "simulate-atm",
            "--ledger",
            str(src),
            "--link",
            str(link),
            "--baud",
            "115200",
            "--no-pace",
            "--drop",
            "0.0005",
            "--seed",
            "9",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: link.is_symlink() or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        out = tmp_path / "read.json"
        r = run_cli("read-atm", "--port", str(link), "--out", str(out))  # 115200: the settings' default
        assert r.returncode == 0, r.stderr
        assert read_atm_ledger(out) == ledger
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    assert proc.returncode == 0, err
    assert not link.exists()  # the simulator cleans up its symlink


def test_simulate_atm_refuses_a_bad_ledger(tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "atm-ledger/9"}')
    r = run_cli("simulate-atm", "--ledger", str(bad), "--link", str(tmp_path / "p"))
    assert r.returncode == 2 and "atm-ledger" in r.stderr


def test_over_a_socat_pty_pair(tmp_path, simulators) -> None:
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed; the linked-pty test needs it (apt-get install socat)")
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    proc = subprocess.Popen(
        [socat, "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: a.exists() and b.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        ledger = make_ledger(transactions=40)
        sim = simulators(ledger)
        sim.serve_device(str(a))
        from custodian_app.link.client import AtmClient

        with AtmClient(str(b), baud=FAST, response_timeout=2) as atm:
            assert atm.read_ledger() == ledger
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
