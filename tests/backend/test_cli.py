"""The backend commands as a user runs them: real processes, real exit statuses."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time

import pytest

from custodian_app.backend.client import BackendClient
from custodian_app.backend.simulator import Faults
from custodian_app.domain import formats
from tests.cli import ROOT, run_custodian_app

from .conftest import TOKEN, make_ledger
from .test_settlement import CHINESE, expected_ledger

T, C = "NJ-0001", "NJ-0001-20261120"


def run(*args: str, env_extra: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("CUSTODIAN_BACKEND_TOKEN", None)  # only what the test gives
    env.update(env_extra or {})
    return run_custodian_app(*args, env=env, timeout=timeout)


def test_fetch_host_writes_the_ledger(simulator, tmp_path):
    ledger = make_ledger(40)
    sim = simulator([ledger], page_size=15)
    out = tmp_path / "host.json"
    done = run(
        "fetch-host",
        "--url",
        sim.base_url,
        "--terminal",
        T,
        "--cycle",
        C,
        "--out",
        str(out),
        env_extra={"CUSTODIAN_BACKEND_TOKEN": TOKEN},
    )
    assert done.returncode == 0, done.stderr
    assert "40 backend record(s)" in done.stdout
    assert formats.parse_host_ledger(out.read_bytes()) == ledger
    assert TOKEN not in done.stdout + done.stderr


def test_fetch_host_exit_statuses(simulator, tmp_path):
    sim = simulator()
    out = tmp_path / "host.json"
    base = [
        "fetch-host",
        "--url",
        sim.base_url,
        "--terminal",
        T,
        "--cycle",
        C,
        "--out",
        str(out),
        "--retries",
        "0",
    ]
    refused = run(*base, "--token", "wrong-token")
    assert refused.returncode == 2 and "check the backend token in the settings" in refused.stderr
    assert "wrong-token" not in refused.stderr
    missing = run(*base[:4], "NJ-0404", *base[5:], "--token", TOKEN)
    assert missing.returncode == 2 and "no terminal 'NJ-0404'" in missing.stderr
    sim.serve_raw(T, C, b"not json")
    hostile = run(*base, "--token", TOKEN)
    assert hostile.returncode == 2 and "refused as a whole" in hostile.stderr
    usage = run("fetch-host", "--url", sim.base_url, "--out", str(out))
    assert usage.returncode == 2
    assert not out.exists()  # nothing written on any failure


def test_fetch_host_cannot_reach_the_backend(simulator, tmp_path):
    failing = simulator(faults=Faults(fail_first=100))
    out = tmp_path / "host.json"
    done = run(
        "fetch-host",
        "--url",
        failing.base_url,
        "--terminal",
        T,
        "--cycle",
        C,
        "--token",
        TOKEN,
        "--retries",
        "1",
        "--out",
        str(out),
    )
    assert done.returncode == 3 and "server error" in done.stderr
    failing.stop()  # now nothing listens there
    done = run(
        "fetch-host",
        "--url",
        failing.base_url,
        "--terminal",
        T,
        "--cycle",
        C,
        "--retries",
        "0",
        "--out",
        str(out),
    )
    assert done.returncode == 3 and "cannot reach the backend" in done.stderr
    assert not out.exists()


def test_fetch_host_over_tls_needs_the_ca_bundle(simulator, test_ca, tmp_path):
    from custodian_app.backend.simulator import tls_context

    sim = simulator([make_ledger(5)], ssl_context=tls_context(test_ca["cert"], test_ca["key"]))
    out = tmp_path / "host.json"
    base = [
        "fetch-host",
        "--url",
        sim.base_url,
        "--terminal",
        T,
        "--cycle",
        C,
        "--token",
        TOKEN,
        "--out",
        str(out),
    ]
    done = run(*base)
    assert done.returncode == 3 and "certificate could not be verified" in done.stderr
    done = run(*base, "--ca-bundle", str(test_ca["ca"]))
    assert done.returncode == 0, done.stderr
    assert formats.parse_host_ledger(out.read_bytes()) == make_ledger(5)


def _start_simulate_host(*args: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian_app", "simulate-host", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if sel.select(timeout=0.5):
                line = proc.stdout.readline().strip()
                if line:
                    return proc, line
                break  # stdout closed: the process ended
            if proc.poll() is not None:
                break
    proc.kill()
    _, err = proc.communicate(timeout=30)
    pytest.fail(f"simulate-host did not print its URL: {err}")


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_simulate_host_serves_until_stopped(tmp_path, stop_signal):
    ledger = make_ledger(30)
    path = tmp_path / "host.json"
    path.write_bytes(formats.dumps(formats.host_ledger_to_dict(ledger)))
    proc, url = _start_simulate_host(
        "--ledger",
        str(path),
        "--port",
        "0",
        "--token",
        TOKEN,
        "--page-size",
        "8",
        "--fail-first",
        "1",
        "--cut-first",
        "1",
    )
    try:
        assert url.startswith("http://127.0.0.1:")
        client = BackendClient(url, token=TOKEN, backoff=0.01)
        assert client.fetch_ledger(T, C) == ledger  # through one 500 and one lost connection, then four pages
    finally:
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped after 6 request(s)" in err


def test_simulate_host_refuses_a_bad_ledger_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "host-ledger/1"}')
    done = run("simulate-host", "--ledger", str(bad))
    assert done.returncode == 2 and "terminal_id" in done.stderr


def test_import_host_writes_the_ledger_or_nothing(tmp_path):
    src = tmp_path / "settle.csv"
    src.write_bytes(CHINESE.encode("gb18030"))
    out = tmp_path / "host.json"
    done = run("import-host", str(src), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert formats.parse_host_ledger(out.read_bytes()) == expected_ledger()
    out.unlink()
    src.write_bytes(CHINESE.replace("500.00,成功", "500,成功").encode("gb18030"))
    done = run("import-host", str(src), "--out", str(out))
    assert done.returncode == 2 and "line 7, column 6 (金额)" in done.stderr
    assert not out.exists()
    done = run("import-host", str(src.with_name("settle.csv").with_suffix(".txt")), "--out", str(out))
    assert done.returncode == 2 and "cannot read the file" in done.stderr


def test_fetch_host_takes_url_and_token_from_the_settings(simulator, tmp_path):
    from custodian_app.settings.config import Settings, save_settings

    ledger = make_ledger(7)
    sim = simulator([ledger])
    save_settings(Settings(backend_url=sim.base_url, backend_token=TOKEN))
    out = tmp_path / "host.json"
    done = run("fetch-host", "--terminal", T, "--cycle", C, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert formats.parse_host_ledger(out.read_bytes()) == ledger
    # the configured token goes only to the configured backend, never to another --url
    other = simulator([ledger])
    done = run("fetch-host", "--url", other.base_url, "--terminal", T, "--cycle", C, "--out", str(out))
    assert done.returncode == 2 and "refused the token" in done.stderr
    assert other.requests[0].authorized is False


def test_simulate_host_over_mutual_tls_and_fetch_host_with_a_client_certificate(test_ca, tmp_path):
    ledger = make_ledger(9)
    path = tmp_path / "host.json"
    path.write_bytes(formats.dumps(formats.host_ledger_to_dict(ledger)))
    proc, url = _start_simulate_host(
        "--ledger",
        str(path),
        "--token",
        TOKEN,
        "--tls-cert",
        str(test_ca["cert"]),
        "--tls-key",
        str(test_ca["key"]),
        "--tls-client-ca",
        str(test_ca["ca"]),
    )
    out = tmp_path / "fetched.json"
    try:
        assert url.startswith("https://127.0.0.1:")
        base = [
            "fetch-host",
            "--url",
            url,
            "--terminal",
            T,
            "--cycle",
            C,
            "--token",
            TOKEN,
            "--ca-bundle",
            str(test_ca["ca"]),
            "--retries",
            "0",
            "--out",
            str(out),
        ]
        without = run(*base)
        assert without.returncode == 3 and not out.exists()
        done = run(
            *base, "--client-cert", str(test_ca["client_cert"]), "--client-key", str(test_ca["client_key"])
        )
        assert done.returncode == 0, done.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert formats.parse_host_ledger(out.read_bytes()) == ledger


def test_simulate_host_serves_a_settlement_csv(tmp_path):
    src = tmp_path / "settle.csv"
    src.write_bytes(CHINESE.encode("gb18030"))
    proc, url = _start_simulate_host("--ledger", str(src))
    try:
        assert BackendClient(url).fetch_ledger(T, C) == expected_ledger()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err


def test_host_health_checks_url_and_token(simulator):
    sim = simulator()
    done = run("host-health", "--url", sim.base_url, "--token", TOKEN)
    assert done.returncode == 0, done.stderr
    assert "ok, interface v1, token accepted" in done.stdout
    refused = run("host-health", "--url", sim.base_url, "--token", "wrong-token")
    assert refused.returncode == 2 and "check the backend token" in refused.stderr
    sim.stop()
    gone = run("host-health", "--url", sim.base_url)
    assert gone.returncode == 3 and "cannot reach the backend" in gone.stderr
