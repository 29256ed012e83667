"""wss:// with a CA bundle: the certificate checked, and a failure worded for the custodian."""

from __future__ import annotations

import json
import ssl

import pytest

from custodian_app.xfs4iot.errors import XfsTLSError, XfsUnreachable

from .conftest import UNITS

trustme = pytest.importorskip("trustme", reason="trustme (a test dependency) makes the test CA")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("xfs-tls")
    ca, rogue = trustme.CA(), trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    rogue.cert_pem.write_to_path(str(d / "rogue.pem"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.configure_cert(ctx)
    return {"ca": str(d / "ca.pem"), "rogue": str(d / "rogue.pem"), "server": ctx, "ca_obj": ca}


def test_reads_over_wss_with_the_ca_bundle(simulator, client, pki):
    sim = simulator(ssl_context=pki["server"])
    assert sim.publisher_url.startswith("wss://127.0.0.1:")
    xfs = client(sim.publisher_url, ca_bundle=pki["ca"])
    assert xfs.read_units() == UNITS
    assert xfs.service_url.startswith("wss://")


@pytest.mark.parametrize("bundle", ["rogue", None], ids=["another-ca", "system-cas"])
def test_a_certificate_from_an_untrusted_ca_is_refused(simulator, client, pki, bundle):
    sim = simulator(ssl_context=pki["server"])
    xfs = client(sim.publisher_url, ca_bundle=pki[bundle] if bundle else None)
    with pytest.raises(XfsTLSError) as err:
        xfs.read_units()
    assert "cannot be trusted" in err.value.english and "CA bundle" in err.value.english
    assert "证书校验失败" in err.value.chinese
    assert sim.simulator.received == []  # nothing was sent to a service not trusted


def test_a_certificate_for_another_name_is_refused(simulator, client, pki):
    other = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    pki["ca_obj"].issue_cert("atm-nj-0002.bank.example").configure_cert(other)
    sim = simulator(ssl_context=other)
    with pytest.raises(XfsTLSError) as err:
        client(sim.publisher_url, ca_bundle=pki["ca"]).read_units()
    assert "127.0.0.1" in err.value.english


def test_a_missing_ca_bundle_is_named(client, tmp_path):
    with pytest.raises(XfsUnreachable) as err:
        client("wss://127.0.0.1:1/xfs4iot/v1.0", ca_bundle=str(tmp_path / "none.pem"))
    assert "none.pem" in err.value.english and "CA 证书文件" in err.value.chinese


def test_the_commands_over_wss(tmp_path, pki):
    from tests.cli import run_custodian_app

    from .test_cli import start_simulator, stop

    pem = tmp_path / "server.pem"
    pki["ca_obj"].issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(pem))
    atm = tmp_path / "atm.json"
    atm.write_text(
        json.dumps(
            {
                "format": "atm-ledger/1",
                "terminal_id": "NJ-0001",
                "cycle_id": "NJ-0001-20261120",
                "currency": "CNY",
                "opened_at": "2026-11-20T08:00:00+08:00",
                "closed_at": None,
                "totals": {
                    "loaded_amount": "270000.00",
                    "withdrawals": {"count": 0, "amount": "0.00"},
                    "deposits": {"count": 0, "amount": "0.00"},
                },
                "units": UNITS,
                "transactions": [],
            }
        )
    )
    proc, url = start_simulator("--ledger", str(atm), "--tls-cert", str(pem), "--tls-key", str(pem))
    try:
        assert url.startswith("wss://")
        out = tmp_path / "units.json"
        trusted = run_custodian_app("xfs4iot-read", "--url", url, "--out", str(out), "--ca-bundle", pki["ca"])
        assert trusted.returncode == 0, trusted.stderr
        assert json.loads(out.read_text())["units"] == UNITS
        out.unlink()
        rogue = run_custodian_app(
            "xfs4iot-read", "--url", url, "--out", str(out), "--ca-bundle", pki["rogue"]
        )
        assert rogue.returncode == 3 and "证书校验失败" in rogue.stderr and not out.exists()
    finally:
        stop(proc)
