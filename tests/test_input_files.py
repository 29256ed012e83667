"""What is not a regular file is refused at once on every path that reads an input document,
and a byte order mark gets the same verdict from reconcile and import-host (issue 18: a FIFO
hung both commands; --atm /dev/zero ran to 23 GB; a BOM was refused by one, taken by the other)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cli import run_custodian_app

pytestmark = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero are POSIX")


def run(*args: str) -> subprocess.CompletedProcess:
    # a hang (the bug) ends in TimeoutExpired, which fails the test
    return run_custodian_app(*args, timeout=60)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    out = tmp_path_factory.mktemp("cycle")
    p = run("generate", "--seed", "4", "--transactions", "30", "--out", str(out))
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "ledger.json"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_by_reconcile_for_either_ledger(cycle, fifo, tmp_path):
    out = tmp_path / "result.json"
    for atm, host in ((fifo, cycle / "host.json"), (cycle / "atm.json", fifo)):
        for extra in ((), ("--pdf", str(tmp_path / "r.pdf"), "--custodians", "a,b")):
            p = run("reconcile", "--atm", str(atm), "--host", str(host), "--out", str(out), *extra)
            assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr
    p = run(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(cycle / "host.json"),
        "--counts",
        str(fifo),
        "--out",
        str(out),
    )
    assert p.returncode == 2 and "not a regular file" in p.stderr
    assert not out.exists()


def test_a_fifo_is_refused_by_import_host(fifo, tmp_path):
    p = run("import-host", str(fifo), "--out", str(tmp_path / "host.json"))
    assert p.returncode == 2 and "not a regular file" in p.stderr
    assert not (tmp_path / "host.json").exists()


def test_a_device_and_a_folder_are_refused_before_a_byte_is_read(cycle, tmp_path):
    for bad in ("/dev/zero", str(tmp_path)):
        p = run(
            "reconcile",
            "--atm",
            bad,
            "--host",
            str(cycle / "host.json"),
            "--out",
            str(tmp_path / "result.json"),
        )
        assert p.returncode == 2 and "not a regular file" in p.stderr, p.stderr
        q = run("import-host", bad, "--out", str(tmp_path / "host.json"))
        assert q.returncode == 2 and "not a regular file" in q.stderr, q.stderr


def test_a_byte_order_mark_gets_the_same_verdict_on_both_paths(cycle, tmp_path):
    bom = tmp_path / "host.json"
    bom.write_bytes(b"\xef\xbb\xbf" + (cycle / "host.json").read_bytes())
    rec = run(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(bom),
        "--out",
        str(tmp_path / "result.json"),
    )
    imp = run("import-host", str(bom), "--out", str(tmp_path / "imported.json"))
    assert (rec.returncode, imp.returncode) == (2, 2), (rec.stderr, imp.stderr)
    assert "byte order mark" in rec.stderr and "byte order mark" in imp.stderr
