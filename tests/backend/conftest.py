"""Fixtures of the backend connector tests: ledgers, a running simulator, a test CA."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from custodian_app.backend.simulator import BackendSimulator, Faults
from custodian_app.domain.formats import HostLedger, HostTransaction, Totals, TypeTotals

TOKEN = "tok-Zq81-never-shown-7c4e"


def make_ledger(
    n: int = 12, terminal_id: str = "NJ-0001", cycle_id: str = "NJ-0001-20261120", currency: str = "CNY"
) -> HostLedger:
    """A backend ledger of ``n`` records with consistent totals: withdrawals and deposits,
    a reversal, a record without TSN, Chinese-bank-like references."""
    txs = []
    totals = {"withdrawal": [0, 0], "deposit": [0, 0]}
    for i in range(n):
        kind = "deposit" if i % 5 == 3 else "withdrawal"
        status = "reversed" if i % 11 == 7 else "booked"
        amount = (i % 20 + 1) * 10000
        txs.append(
            HostTransaction(
                host_ref=f"6324{i:08d}",
                tsn=None if i % 13 == 12 else f"{101 + i:06d}",
                time=f"2026-11-20T{9 + i % 12:02d}:{i % 60:02d}:04+08:00",
                type=kind,
                card=f"622202******{1000 + i % 9000:04d}",
                amount=amount,
                status=status,
            )
        )
        if status == "booked":
            totals[kind][0] += 1
            totals[kind][1] += amount
    return HostLedger(
        terminal_id,
        cycle_id,
        currency,
        Totals(20_000_000, TypeTotals(*totals["withdrawal"]), TypeTotals(*totals["deposit"])),
        txs,
    )


@pytest.fixture
def ledger() -> HostLedger:
    return make_ledger()


@pytest.fixture
def simulator(request):
    """A factory: ``simulator(ledgers, **options)`` starts one; all are stopped at the end."""
    started: list[BackendSimulator] = []

    def start(ledgers=None, **options) -> BackendSimulator:
        if ledgers is None:
            ledgers = [make_ledger()]
        options.setdefault("token", TOKEN)
        faults = options.pop("faults", None)
        sim = BackendSimulator(ledgers, faults=faults or Faults(), **options)
        sim.start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture(scope="session")
def test_ca(tmp_path_factory):
    """A self-signed CA and a server certificate for 127.0.0.1 / localhost, made here with the
    openssl command line (the ``cryptography`` package is not a dependency of the project)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip(
            "neither the cryptography package nor the openssl command is available to make a test certificate"
        )
    d = tmp_path_factory.mktemp("tls")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True, timeout=60)

    run(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=custodian-app test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    run("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    )
    # a client certificate for mutual TLS (the branch PC), and one from a CA nobody trusts
    run("req", *ec, "-keyout", "client.key", "-out", "client.csr", "-subj", "/CN=branch-pc-0001")
    (d / "client.ext").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=clientAuth\n"
    )
    run(
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "client.pem",
        "-days",
        "2",
        "-extfile",
        "client.ext",
    )
    run("req", "-x509", *ec, "-keyout", "rogue.key", "-out", "rogue.pem", "-days", "2", "-subj", "/CN=rogue")
    return {
        "ca": d / "ca.pem",
        "cert": d / "server.pem",
        "key": d / "server.key",
        "client_cert": d / "client.pem",
        "client_key": d / "client.key",
        "rogue_cert": d / "rogue.pem",
        "rogue_key": d / "rogue.key",
    }
