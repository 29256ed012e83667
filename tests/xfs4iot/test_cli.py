"""simulate-xfs4iot and xfs4iot-read as a user runs them: real processes, real exit statuses."""

from __future__ import annotations

import json
import selectors
import signal
import subprocess
import sys
import time

import pytest

from custodian_app.domain import generator
from tests.cli import ROOT, run_custodian_app


@pytest.fixture
def atm_file(tmp_path):
    docs = generator.build_documents(11, 40, "all")
    path = tmp_path / "atm.json"
    path.write_bytes(docs.atm)
    return path


def start_simulator(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian_app", "simulate-xfs4iot", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if sel.select(timeout=0.5):
                line = proc.stdout.readline().strip()
                if line:
                    return proc, line
                break
    proc.kill()
    _out, err = proc.communicate(timeout=30)
    pytest.fail(f"simulate-xfs4iot did not print its URL: {err}")


def stop(proc: subprocess.Popen, how=signal.SIGINT) -> str:
    proc.send_signal(how)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


@pytest.mark.parametrize("style", ["2021", "2023"])
def test_read_what_the_simulator_serves(atm_file, tmp_path, style):
    proc, url = start_simulator("--ledger", str(atm_file), "--port", "0", "--style", style)
    try:
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/xfs4iot/v1.0")
        out = tmp_path / "units.json"
        done = run_custodian_app("xfs4iot-read", "--url", url, "--out", str(out), "--style", style)
        assert done.returncode == 0, done.stderr
        assert "unit(s) read from" in done.stdout
        doc = json.loads(out.read_text())
        assert doc["units"] == json.loads(atm_file.read_text())["units"]
        assert all(u["countTrusted"] for u in doc["xfs4iot"]["units"].values())
    finally:
        err = stop(proc, signal.SIGTERM if style == "2021" else signal.SIGINT)
    assert "stopped after" in err


def test_a_fault_gives_exit_status_and_words(atm_file, tmp_path):
    proc, url = start_simulator("--ledger", str(atm_file), "--fault", "Storage.GetStorage=hardware-error")
    try:
        out = tmp_path / "units.json"
        done = run_custodian_app("xfs4iot-read", "--url", url, "--out", str(out))
        assert done.returncode == 2
        assert "hardware fault" in done.stderr and "硬件故障" in done.stderr
        assert not out.exists()
    finally:
        stop(proc)


def test_an_unreachable_service_is_exit_status_3(tmp_path):
    out = tmp_path / "units.json"
    done = run_custodian_app(
        "xfs4iot-read", "--url", "ws://127.0.0.1:1/xfs4iot/v1.0", "--out", str(out), "--timeout", "5"
    )
    assert done.returncode == 3 and "无法连接" in done.stderr and not out.exists()


def test_bad_arguments(atm_file, tmp_path):
    bad_fault = run_custodian_app("simulate-xfs4iot", "--ledger", str(atm_file), "--fault", "nonsense")
    assert bad_fault.returncode == 2 and "COMMAND=FAULT" in bad_fault.stderr
    unknown = run_custodian_app("simulate-xfs4iot", "--ledger", str(atm_file), "--fault", "*=explode")
    assert unknown.returncode == 2 and "no-answer" in unknown.stderr
    (tmp_path / "bad.json").write_text("{}")
    bad_ledger = run_custodian_app("simulate-xfs4iot", "--ledger", str(tmp_path / "bad.json"))
    assert bad_ledger.returncode == 2 and "bad.json" in bad_ledger.stderr
